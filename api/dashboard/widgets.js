// The dashboard's widgets: KPI tiles, monthly trend lines and a breakdown bar chart (the
// funnel is in funnel.js, the clients table in clients.js). Each runs its own query and
// renders its own failure, so one missing field or failing KPI never blanks the page.

import { barChart, lineChart } from "./charts.js";
import { formatChange, formatValue, humanize, monthStart, previousDay } from "./format.js";
import { errorsFor, metricsQuery } from "./queries.js";

/** The default tiles, in order; the KPI menu changes them (kept in localStorage). */
export const DEFAULT_TILES = [
  "salesRevenue", "dealsWon", "winRate", "averageDealSize", "pipelineValue", "openDeals",
  "opportunitiesCreated", "newLeads", "leadConversionRate", "averageSalesCycleDays",
  "newCustomers", "activities",
];
const TREND_KPIS = ["salesRevenue", "dealsWon", "winRate", "newLeads"];
const BREAKDOWN_DEFAULT = "salesRevenue";

function node(tag, attrs = {}, text = null) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "testid") n.dataset.testid = v;
    else n.setAttribute(k, v);
  }
  if (text !== null) n.textContent = text;
  return n;
}

function message(container, text) {
  container.replaceChildren(node("p", { class: "widget-message", testid: "widget-message" }, text));
}

/**
 * Tiles: value, change against the comparison period, target attainment; a click on a
 * value lists its records. Returns the period the server used (for the trend range).
 */
export async function renderTiles(page, container) {
  const { metrics, state } = page;
  if (!metrics.available) {
    message(container, "This server has no metrics yet (the GraphQL schema has no metrics field).");
    return null;
  }
  const names = state.tiles.filter((n) => metrics.has(n));
  if (!names.length) {
    message(container, "Choose KPIs in the KPIs menu.");
    return null;
  }
  const parts = ["base", "target", "freshness", ...(state.compare ? ["comparison"] : [])];
  const args = page.kpiArgs({ compareTo: state.compare || undefined });
  const items = names.map((kpi) => ({ alias: kpi, kpi, args, select: metrics.resultSelection(parts) }));
  const q = metricsQuery(metrics, "DashboardTiles", page.scope(), items);
  const { data, errors } = await page.client.requestPartial(q.query, q.variables);
  container.replaceChildren(...names.map((kpi) => tile(page, kpi, data?.metrics?.[kpi], errorsFor(errors, kpi), args)));
  const results = names.map((n) => data?.metrics?.[n]).filter(Boolean);
  showFreshness(results);
  return results.find((r) => r.period)?.period ?? null;
}

/** How current the numbers are: the oldest sync behind any tile, and stale connections. */
function showFreshness(results) {
  const notice = document.getElementById("notice");
  const known = results.filter((r) => r.freshness);
  if (!known.length) {
    notice.hidden = true;
    return;
  }
  const never = known.some((r) => !r.freshness.syncedAt);
  const synced = known.map((r) => r.freshness.syncedAt).filter(Boolean).sort()[0];
  const stale = new Set(known.flatMap((r) => r.freshness.staleConnections ?? []));
  // A never-synced connection is also a stale one: say it once.
  notice.textContent = never
    ? "Some connections have never synced"
    : `Data as of ${new Date(synced).toLocaleString()}` +
      (stale.size ? ` · ${stale.size} connection${stale.size === 1 ? "" : "s"} not synced for a day or more` : "");
  notice.classList.toggle("stale", never || stale.size > 0);
  notice.hidden = false;
}

function tile(page, kpi, result, error, args) {
  const card = node("article", { class: "tile", testid: "tile", "data-kpi": kpi });
  const definition = page.definitions.get(kpi);
  card.appendChild(node("h3", { title: definition?.description ?? "" }, humanize(kpi)));
  if (!result) {
    card.appendChild(node("p", { class: "tile-error" }, error ?? "no answer"));
    return card;
  }
  const value = node("button", { class: "tile-value", type: "button", testid: "tile-value",
    title: result.nullReason ?? "Show the records behind this number" },
  formatValue(result.value, result.unit, result.currency));
  value.addEventListener("click", () => page.drill({ kpi, args, title: humanize(kpi) }));
  card.appendChild(value);
  const details = node("p", { class: "tile-details" });
  if (result.value === null && result.nullReason) details.appendChild(node("span", {}, result.nullReason));
  if (result.unit === "RATIO" && result.denominator !== null && result.denominator !== undefined) {
    details.appendChild(node("span", { testid: "tile-fraction" }, `${formatValue(result.numerator, "COUNT")} of ${formatValue(result.denominator, "COUNT")}`));
  }
  if (page.state.compare && "comparison" in result) {
    const change = formatChange(kpi, result.unit, result.comparison);
    const before = result.comparison?.value;
    const text = before === null || before === undefined
      ? "no value in the comparison period"
      : `${change.text} vs ${formatValue(before, result.unit, result.currency)}`;
    details.appendChild(node("span", { class: `change ${change.tone}`, testid: "tile-change" }, text));
  }
  if (result.target) {
    const pct = result.target.attainment === null || result.target.attainment === undefined
      ? "—" : formatValue(result.target.attainment, "RATIO");
    details.appendChild(node("span", { class: "target", testid: "tile-target" },
      `${pct} of target ${formatValue(result.target.value, result.unit, result.currency)}`));
  }
  if (result.missingFxCount) {
    details.appendChild(node("span", { class: "warn" }, `${result.missingFxCount} without FX rate`));
  }
  card.appendChild(details);
  return card;
}

/** The trend window: the 12 months up to the period's last month (longer periods: all). */
export function trendPeriod(period) {
  const end = period?.end ?? new Date().toISOString().slice(0, 10);
  const lastDay = period ? previousDay(end) : end;
  const twelve = monthStart(lastDay, -11);
  const start = period && period.start < twelve ? monthStart(period.start) : twelve;
  return { start, end: monthStart(lastDay, 1) };
}

export async function renderTrends(page, container, period) {
  const { metrics } = page;
  const names = TREND_KPIS.filter((n) => metrics.supports(n, "granularity", "series"));
  if (!names.length) {
    message(container, metrics.available ? "This server gives no monthly series yet." : "No metrics on this server yet.");
    return;
  }
  const args = page.kpiArgs({ period, granularity: "MONTH" });
  const select = metrics.resultSelection(["name", "unit", "currency", "series"]);
  const q = metricsQuery(metrics, "DashboardTrends", page.scope(), names.map((kpi) => ({ alias: kpi, kpi, args, select })));
  const { data, errors } = await page.client.requestPartial(q.query, q.variables);
  container.replaceChildren(...names.map((kpi) => {
    const card = node("figure", { class: "trend", testid: "trend", "data-kpi": kpi });
    card.appendChild(node("figcaption", {}, humanize(kpi)));
    const result = data?.metrics?.[kpi];
    if (!result?.series) {
      card.appendChild(node("p", { class: "tile-error" }, errorsFor(errors, kpi) ?? "no series"));
      return card;
    }
    const format = (v, compact) => formatValue(v, result.unit, result.currency, { compact });
    const onSelect = (p) => page.drill({ kpi, args: page.kpiArgs({ period: { start: p.start, end: p.end } }), title: `${humanize(kpi)} · ${p.label}` });
    card.appendChild(lineChart(result.series, { title: humanize(kpi), format, onSelect: result.series[0]?.start ? onSelect : null }));
    return card;
  }));
}

export async function renderBreakdown(page, container) {
  const { metrics, state } = page;
  if (!state.breakdownKpi || !state.breakdownBy) {
    message(container, metrics.available ? "This server gives no breakdowns yet." : "No metrics on this server yet.");
    return;
  }
  const kpi = state.breakdownKpi;
  const by = state.breakdownBy;
  const args = page.kpiArgs({ breakdown: { by, top: 10 } });
  const select = metrics.resultSelection(["name", "unit", "currency", "breakdown"]);
  const q = metricsQuery(metrics, "DashboardBreakdown", page.scope(), [{ alias: kpi, kpi, args, select }]);
  const { data, errors } = await page.client.requestPartial(q.query, q.variables);
  const result = data?.metrics?.[kpi];
  if (!result?.breakdown) {
    message(container, errorsFor(errors, kpi) ?? "no breakdown");
    return;
  }
  if (!result.breakdown.length) {
    message(container, "No data in this period.");
    return;
  }
  const format = (v) => formatValue(v, result.unit, result.currency, { compact: true });
  const onSelect = (item) => {
    const narrowed = page.segmentWith(by, item.key);
    page.drill({ kpi, args: page.kpiArgs({ segment: narrowed }), title: `${humanize(kpi)} · ${item.label ?? item.key}` });
  };
  container.replaceChildren(barChart(result.breakdown, { title: `${humanize(kpi)} by ${by.toLowerCase()}`, format, onSelect }));
}
