// Stage conversion as a funnel: one pipeline at a time, its stages in the CRM's order, or
// every pipeline together on the common stage scale (stage kinds). Stages of several
// pipelines are never listed side by side: "Appointment scheduled" of one pipeline and of
// another are different stages, and their counts do not add up to a funnel.
//
// stageConversion broken down by STAGE gives, per stage id, the deals created in the period
// that reached the stage (denominator) and the share that went on (value); the `pipelines`
// field gives each pipeline's stages in display order and their kinds.

import { funnel } from "./charts.js";
import { formatValue } from "./format.js";
import { errorsFor, metricsQuery, selection } from "./queries.js";

/** The common stage scale, in order (LOST stages are not part of a funnel). */
export const STAGE_KINDS = ["LEAD_IN", "QUALIFIED", "PROPOSAL", "NEGOTIATION", "WON"];
const KIND_LABELS = { LEAD_IN: "Lead in", QUALIFIED: "Qualified", PROPOSAL: "Proposal",
  NEGOTIATION: "Negotiation", WON: "Won" };
/** The choice of the pipeline menu that means "all pipelines, by stage kind". */
export const BY_KIND = "kinds";
const MAX_TOP = 200; // the API's largest breakdown
const $ = (id) => document.getElementById(id);

function message(container, text) {
  const p = document.createElement("p");
  p.className = "widget-message";
  p.dataset.testid = "widget-message";
  p.textContent = text;
  container.replaceChildren(p);
}

/** Pipelines of the page's workspaces, read once per scope; null when the server has none. */
async function loadPipelines(page) {
  const { schema } = page;
  const field = schema.field(schema.query, "pipelines");
  if (!field) return null;
  const ids = page.state.workspace === "*" ? page.workspaces.map((w) => w.id) : [page.state.workspace];
  const key = ids.join(",");
  if (page.pipelineCache?.key === key) return page.pipelineCache.pipelines;
  const data = await page.client.request(
    "query DashboardPipelines($ids: [ID!]) { pipelines(workspaceIds: $ids) { id workspaceId name stages { id name displayOrder kind probability } } }",
    { ids });
  // The workspaces' order on the page (by name), then the pipelines' names.
  const rank = new Map(page.workspaces.map((w, i) => [w.id, i]));
  const pipelines = [...data.pipelines].sort((a, b) =>
    (rank.get(a.workspaceId) ?? 0) - (rank.get(b.workspaceId) ?? 0) || (a.name ?? "").localeCompare(b.name ?? ""));
  page.pipelineCache = { key, pipelines };
  return pipelines;
}

/** Fill the pipeline menu: one entry per pipeline, then the stage-kind view; keep a valid choice. */
function fillMenu(page, pipelines) {
  const menu = $("funnel-pipeline");
  const several = new Set(pipelines.map((p) => p.workspaceId)).size > 1;
  const workspaceName = (id) => page.workspaces.find((w) => w.id === id)?.name ?? id;
  const options = pipelines.map((p) => new Option(
    several ? `${p.name ?? p.id} · ${workspaceName(p.workspaceId)}` : p.name ?? p.id, p.id));
  if (pipelines.length > 1) options.push(new Option("All pipelines, by stage kind", BY_KIND));
  menu.replaceChildren(...options);
  const wanted = page.state.funnel;
  if (wanted && [...menu.options].some((o) => o.value === wanted)) menu.value = wanted;
  page.state.funnel = menu.value;
  menu.hidden = !pipelines.length;
}

async function stageRows(page, segment) {
  const { metrics, schema } = page;
  const type = schema.fieldType(metrics.kpi("stageConversion"));
  const args = page.kpiArgs({ segment, breakdown: { by: "STAGE", top: MAX_TOP } });
  const select = selection(schema, type, [["breakdown", ["key", "label", "value", "numerator", "denominator"]]]);
  const q = metricsQuery(metrics, "DashboardFunnel", page.scope(), [{ alias: "stageConversion", kpi: "stageConversion", args, select }]);
  const { data, errors } = await page.client.requestPartial(q.query, q.variables);
  const rows = data?.metrics?.stageConversion?.breakdown;
  if (!Array.isArray(rows)) throw new Error(errorsFor(errors, "stageConversion") ?? "no stages");
  return new Map(rows.filter((r) => r.key).map((r) => [r.key, r]));
}

/** One pipeline: its non-LOST stages in display order, each with reached and went-on. */
function pipelineStages(pipeline, rows) {
  return pipeline.stages.filter((s) => s.kind !== "LOST").map((s) => {
    const row = rows.get(s.id);
    return { key: s.id, label: s.name ?? s.id, count: row?.denominator ?? 0, rate: row?.value ?? null, kind: s.kind };
  });
}

/**
 * Every pipeline on the stage-kind scale. A deal has reached a kind when it reached a stage
 * of that kind or of a later one (reaching is cumulative along a pipeline, so the first
 * such stage of its pipeline counts them all; a pipeline without, say, a QUALIFIED stage
 * counts its deals past that point at its next stage). Summed over pipelines, the counts
 * shrink along the scale like a funnel; a kind's rate is the share that reached the next
 * kind shown. Only kinds some pipeline has are shown.
 */
export function kindStages(pipelines, rows) {
  const rank = new Map(STAGE_KINDS.map((k, i) => [k, i]));
  const reached = new Map(STAGE_KINDS.map((k) => [k, 0]));
  const present = new Set();
  let unmapped = 0;
  for (const p of pipelines) {
    for (const [i, kind] of STAGE_KINDS.entries()) {
      const counts = p.stages.filter((s) => rank.get(s.kind) >= i).map((s) => rows.get(s.id)?.denominator ?? 0);
      if (counts.length) reached.set(kind, reached.get(kind) + Math.max(...counts));
    }
    for (const s of p.stages) if (rank.has(s.kind)) present.add(s.kind);
    unmapped += p.stages.filter((s) => !s.kind).length;
  }
  const shown = STAGE_KINDS.filter((k) => present.has(k));
  const stages = shown.map((kind, i) => {
    const count = reached.get(kind);
    const next = shown[i + 1];
    return { key: kind, kind, label: KIND_LABELS[kind], count, rate: next && count ? reached.get(next) / count : null };
  }).filter((s) => s.count > 0);
  return { stages, unmapped };
}

export async function renderFunnel(page, container) {
  const { metrics } = page;
  if (!metrics.kpi("stageConversion")) {
    message(container, metrics.available ? "This server has no stageConversion KPI yet." : "No metrics on this server yet.");
    return;
  }
  const pipelines = await loadPipelines(page);
  if (pipelines === null) {
    $("funnel-pipeline").hidden = true;
    return renderUnordered(page, container);
  }
  fillMenu(page, pipelines);
  if (!pipelines.length) {
    message(container, "No pipelines synced yet.");
    return;
  }
  const choice = page.state.funnel;
  const formatCount = (v) => formatValue(v, "COUNT");
  const formatRate = (v) => formatValue(v, "RATIO");
  let stages;
  let note = "";
  let onSelect = null;
  if (choice === BY_KIND) {
    const rows = await stageRows(page, page.segment());
    const scale = kindStages(pipelines, rows);
    stages = scale.stages;
    const { unmapped } = scale;
    note = `All ${pipelines.length} pipelines on the common stage scale (each stage's kind)` +
      (unmapped ? `; ${unmapped} stage${unmapped === 1 ? "" : "s"} without a kind left out` : "");
  } else {
    const pipeline = pipelines.find((p) => p.id === choice);
    const rows = await stageRows(page, page.segmentWith("PIPELINE", pipeline.id));
    stages = pipelineStages(pipeline, rows);
    note = `${pipeline.name ?? pipeline.id}: stages in pipeline order`;
    onSelect = (s) => page.drill({ kpi: "stageConversion", args: page.kpiArgs({ segment: page.segmentWith("STAGE", s.key) }), title: `Stage ${s.label}` });
  }
  if (!stages.some((s) => s.count > 0)) {
    message(container, "No deals created in this period reached a stage of this pipeline.");
    return;
  }
  stages.at(-1).rate = null; // the last stage has no next one
  const caption = document.createElement("p");
  caption.className = "funnel-note";
  caption.dataset.testid = "funnel-note";
  caption.textContent = note;
  container.replaceChildren(caption, funnel(stages, { title: "Stage conversion", formatCount, formatRate, onSelect }));
}

/**
 * A server without `pipelines`: one funnel from the breakdown by stage, ordered by reach
 * (reaching shrinks along a pipeline). Only right for one pipeline, which the note says.
 */
async function renderUnordered(page, container) {
  const rows = [...(await stageRows(page, page.segment())).values()];
  const stages = rows.map((r) => ({ key: r.key, label: r.label || r.key, count: r.denominator ?? 0, rate: r.value }))
    .filter((s) => s.count > 0)
    .sort((a, b) => b.count - a.count);
  if (!stages.length) {
    message(container, "No deals created in this period.");
    return;
  }
  stages.at(-1).rate = null;
  const onSelect = (s) => page.drill({ kpi: "stageConversion", args: page.kpiArgs({ segment: page.segmentWith("STAGE", s.key) }), title: `Stage ${s.label}` });
  container.replaceChildren(funnel(stages, { title: "Stage conversion", formatCount: (v) => formatValue(v, "COUNT"), formatRate: (v) => formatValue(v, "RATIO"), onSelect }));
}
