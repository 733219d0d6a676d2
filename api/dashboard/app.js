// The dashboard page: the controls (workspace, period, comparison, segment filters, KPI
// choice) and the order in which widgets refresh. Widgets are in widgets.js, funnel.js and
// clients.js, queries in queries.js, the HTTP client in graphql.js, the key in key.js, the
// bookmarkable view in view.js.

import { DEFAULT_CLIENT_KPIS, renderClients, storeClientKpis, storedClientKpis } from "./clients.js";
import { DrillDown } from "./drill.js";
import { SyncEvents } from "./events.js";
import { humanize, nextDay, presetLabel } from "./format.js";
import { renderFunnel } from "./funnel.js";
import { Client, Schema } from "./graphql.js";
import { forgetKey, rememberKey, takeKey } from "./key.js";
import { kpiChecklist } from "./menus.js";
import { MetricsSchema, SEGMENT_DIMENSIONS, metricsQuery, selection } from "./queries.js";
import { ALL, readView, writeView } from "./view.js";
import { DEFAULT_TILES, renderBreakdown, renderTiles, renderTrends, trendPeriod } from "./widgets.js";

const TILES_STORAGE = "crmkpi.dashboardTiles";
/** KPIS.md presets, used when the server does not say which it has. */
const PRESETS = ["TODAY", "THIS_WEEK", "LAST_WEEK", "THIS_MONTH", "LAST_MONTH", "THIS_QUARTER",
  "LAST_QUARTER", "THIS_YEAR", "LAST_YEAR", "LAST_7_DAYS", "LAST_30_DAYS", "LAST_90_DAYS",
  "LAST_365_DAYS"];
const DEFAULT_PRESET = "THIS_QUARTER";
/** KPIs whose owner/pipeline/source/country breakdown fills the filter menus. */
const OPTION_KPIS = ["opportunitiesCreated", "dealsWon", "salesRevenue", "openDeals"];
const $ = (id) => document.getElementById(id);

/** The tiles chosen in this browser, or null (never trust what storage holds). */
function storedTiles() {
  try {
    const tiles = JSON.parse(localStorage.getItem(TILES_STORAGE) ?? "null");
    return Array.isArray(tiles) && tiles.every((t) => typeof t === "string") ? tiles : null;
  } catch {
    return null;
  }
}

class Page {
  constructor() {
    this.state = {
      workspace: "", currency: "", period: { preset: DEFAULT_PRESET }, compare: "",
      filters: Object.fromEntries(SEGMENT_DIMENSIONS.map((d) => [d.dim, new Set()])),
      tiles: storedTiles() ?? DEFAULT_TILES,
      breakdownKpi: "", breakdownBy: "",
      funnel: "", clientKpis: storedClientKpis() ?? DEFAULT_CLIENT_KPIS,
      clientSort: { column: "client", descending: false },
    };
    this.definitions = new Map();
    this.generation = 0;
    this.optionsGeneration = 0;
    this.drillDown = new DrillDown();
  }

  status(text, isError = false) {
    $("status").textContent = text;
    $("status").classList.toggle("error", isError);
  }

  async connect(key) {
    this.status("Connecting…");
    this.client = new Client(new URL("../graphql", window.location.href).href, key);
    try {
      this.schema = await Schema.load(this.client);
      this.metrics = new MetricsSchema(this.schema);
      const wsType = this.schema.fieldType(this.schema.field(this.schema.query, "workspaces"));
      const fields = selection(this.schema, wsType, ["id", "name", "timezone", "currency"]);
      const data = await this.client.request(`query DashboardWorkspaces { workspaces { ${fields} } }`);
      this.workspaces = data.workspaces;
    } catch (err) {
      this.status(`Not connected: ${err.message}`, true);
      return false;
    }
    rememberKey(key);
    if (!this.workspaces.length) {
      this.status("Connected, but this API key can read no workspace.", true);
      return false;
    }
    await this.loadDefinitions();
    this.status(`Connected · ${this.workspaces.length} workspace${this.workspaces.length === 1 ? "" : "s"}`);
    this.setUpControls();
    $("controls").hidden = false;
    $("main").hidden = false;
    await this.refresh({ options: true });
    this.events = new SyncEvents(new URL("../events/sync-finished", window.location.href).href, key, (event) => this.onSyncFinished(event));
    this.events.watch(this.workspaces.map((w) => w.id));
    return true;
  }

  /** New data landed: refresh what shows it (a sync of a workspace the view reads). */
  onSyncFinished(event) {
    // The clients table shows every workspace; otherwise only the shown ones matter.
    const shown = this.state.workspace === ALL ? this.workspaces.map((w) => w.id) : [this.state.workspace];
    if (!shown.includes(event.workspaceId) && this.workspaces.length < 2) return;
    this.pipelineCache = null; // stages may have changed
    document.body.dataset.syncs = String(Number(document.body.dataset.syncs ?? 0) + 1);
    this.status(`Connected · ${this.workspaces.length} workspace${this.workspaces.length === 1 ? "" : "s"} · new data synced ${new Date(event.finishedAt ?? Date.now()).toLocaleTimeString()}`);
    // Several connections often finish together: one refresh for the lot.
    clearTimeout(this.syncRefresh);
    const count = document.body.dataset.syncs;
    this.syncRefresh = setTimeout(() => this.refresh().then(() => {
      document.body.dataset.syncRefreshed = count; // for tests and monitoring
    }), 500);
  }

  async loadDefinitions() {
    if (!this.schema.field(this.schema.query, "kpiDefinitions")) {
      for (const f of this.metrics.kpis) this.definitions.set(f.name, { description: f.description });
      return;
    }
    const data = await this.client.request("query DashboardKpis { kpiDefinitions { name kind unit description } }").catch(() => null);
    for (const d of data?.kpiDefinitions ?? []) this.definitions.set(d.name, d);
  }

  // ---- arguments every widget shares ----

  scope() {
    if (this.state.workspace !== ALL) return { workspaceId: this.state.workspace };
    return { workspaceIds: this.workspaces.map((w) => w.id), currency: this.state.currency || undefined };
  }

  segment(filters = this.state.filters) {
    const out = {};
    for (const [dim, values] of Object.entries(filters)) {
      const field = this.metrics.segmentField(dim);
      if (field && values.size) out[field] = [...values];
    }
    return Object.keys(out).length ? out : undefined;
  }

  /** The current segment narrowed to one more value (a clicked bar or stage). */
  segmentWith(dim, key) {
    // DEAL_TYPE -> dealTypes, INDUSTRY -> industries: the SegmentInput field of a dimension.
    const camel = dim.toLowerCase().replace(/_(\w)/g, (_, c) => c.toUpperCase());
    const plural = camel.endsWith("y") ? `${camel.slice(0, -1)}ies` : `${camel}s`;
    const input = this.metrics.argInputType("segment");
    const field = this.metrics.segmentField(dim) ??
      input?.inputFields?.find((f) => f.name === plural)?.name;
    const base = this.segment() ?? {};
    if (!field || key === null || key === undefined) return Object.keys(base).length ? base : undefined;
    return { ...base, [field]: [key] };
  }

  kpiArgs(overrides = {}) {
    return { period: this.state.period, segment: this.segment(), ...overrides };
  }

  drill(what) {
    return this.drillDown.open({ client: this.client, metrics: this.metrics }, { scope: this.scope(), ...what });
  }

  // ---- controls ----

  setUpControls() {
    const ws = $("workspace");
    const options = this.workspaces.map((w) => new Option(`${w.name}${w.currency ? ` (${w.currency})` : ""}`, w.id));
    if (this.workspaces.length > 1) options.unshift(new Option("All workspaces", ALL));
    ws.replaceChildren(...options);
    this.state.workspace = ws.value;
    const currencies = [...new Set(this.workspaces.map((w) => w.currency).filter(Boolean))];
    $("currency").replaceChildren(...currencies.map((c) => new Option(c, c)));
    this.state.currency = currencies[0] ?? "";

    const presets = this.metrics.periodPresets();
    const period = $("period");
    period.replaceChildren(...(presets.length ? presets : PRESETS).map((p) => new Option(presetLabel(p), p)),
      new Option("Custom range…", "CUSTOM"));
    period.value = DEFAULT_PRESET;
    if (!period.value) period.selectedIndex = 0;
    this.state.period = { preset: period.value };

    this.setUpFilters();
    this.setUpTilePicker();
    this.setUpBreakdown();
    this.setUpClientPicker();
    $("clients-panel").hidden = this.workspaces.length < 2 || !this.metrics.available;
    this.readView();
    this.syncVisibility();
  }

  writeView() {
    writeView(this.state);
  }

  readView() {
    readView(this.state);
  }

  syncVisibility() {
    $("currency-label").hidden = this.state.workspace !== ALL;
    $("custom-range").hidden = $("period").value !== "CUSTOM";
  }

  setUpFilters() {
    const menus = SEGMENT_DIMENSIONS.filter((d) => this.metrics.segmentField(d.dim)).map((d) => {
      const menu = document.createElement("details");
      menu.className = "menu";
      menu.dataset.testid = `filter-${d.dim}`;
      menu.dataset.dim = d.dim;
      const summary = document.createElement("summary");
      summary.textContent = d.label;
      const body = document.createElement("div");
      body.className = "menu-body";
      body.textContent = "…";
      menu.append(summary, body);
      return menu;
    });
    if (!menus.length) {
      $("filters").textContent = this.metrics.available ? "(no segment filters on this server)" : "";
      return;
    }
    $("filters").replaceChildren(...menus);
  }

  /** Filter values from breakdowns of one deal KPI over the last year, per dimension. */
  async loadFilterOptions() {
    const generation = ++this.optionsGeneration;
    const kpi = OPTION_KPIS.find((n) => this.metrics.supports(n, "breakdown", "breakdown"));
    const menus = [...$("filters").querySelectorAll("details[data-dim]")];
    if (!kpi || !menus.length) {
      for (const m of menus) m.querySelector(".menu-body").textContent = "no values on this server";
      return;
    }
    const dims = new Set(this.metrics.breakdownDimensions());
    const presets = this.metrics.periodPresets();
    const period = presets.includes("LAST_365_DAYS") ? { preset: "LAST_365_DAYS" } : this.state.period;
    const select = this.metrics.resultSelection(["breakdown"]);
    const items = menus.filter((m) => dims.has(m.dataset.dim)).map((m) => ({
      alias: `by${m.dataset.dim}`, kpi, args: { period, breakdown: { by: m.dataset.dim, top: 50 } }, select,
    }));
    const q = metricsQuery(this.metrics, "DashboardFilterValues", this.scope(), items);
    const { data } = await this.client.requestPartial(q.query, q.variables).catch(() => ({ data: null }));
    if (generation !== this.optionsGeneration) return; // the workspace changed meanwhile
    for (const menu of menus) {
      const dim = menu.dataset.dim;
      const rows = (data?.metrics?.[`by${dim}`]?.breakdown ?? []).filter((r) => r.key !== null && r.key !== undefined);
      const body = menu.querySelector(".menu-body");
      if (!rows.length) {
        body.textContent = "no values";
        continue;
      }
      body.replaceChildren(...rows.map((r) => {
        const label = document.createElement("label");
        const box = document.createElement("input");
        box.type = "checkbox";
        box.value = r.key;
        box.checked = this.state.filters[dim].has(r.key);
        box.addEventListener("change", () => {
          if (box.checked) this.state.filters[dim].add(r.key);
          else this.state.filters[dim].delete(r.key);
          this.updateFilterSummary(menu);
          this.refresh();
        });
        label.append(box, ` ${r.label || r.key || "(none)"}`);
        return label;
      }));
      this.updateFilterSummary(menu);
    }
  }

  updateFilterSummary(menu) {
    const spec = SEGMENT_DIMENSIONS.find((d) => d.dim === menu.dataset.dim);
    const n = this.state.filters[spec.dim].size;
    menu.querySelector("summary").textContent = n ? `${spec.label} (${n})` : spec.label;
  }

  setUpTilePicker() {
    kpiChecklist($("tile-options"), this.metrics.kpis, this.state.tiles, humanize, (names) => {
      this.state.tiles = names;
      localStorage.setItem(TILES_STORAGE, JSON.stringify(names));
      this.refresh();
    });
    $("tile-picker").hidden = !this.metrics.available;
  }

  setUpClientPicker() {
    kpiChecklist($("client-kpi-options"), this.metrics.kpis, this.state.clientKpis, humanize, (names) => {
      this.state.clientKpis = names;
      storeClientKpis(names);
      this.guard(renderClients(this, $("clients")), $("clients"));
    });
  }

  setUpBreakdown() {
    const kpis = this.metrics.kpis.filter((f) => this.metrics.supports(f.name, "breakdown", "breakdown"));
    const dims = this.metrics.breakdownDimensions();
    $("breakdown-kpi").replaceChildren(...kpis.map((f) => new Option(humanize(f.name), f.name)));
    $("breakdown-by").replaceChildren(...dims.map((d) => new Option(humanize(d.toLowerCase()), d)));
    if (kpis.some((f) => f.name === "salesRevenue")) $("breakdown-kpi").value = "salesRevenue";
    if (dims.includes("OWNER")) $("breakdown-by").value = "OWNER";
    $("breakdown-kpi").hidden = !kpis.length;
    $("breakdown-by").hidden = !dims.length;
    this.state.breakdownKpi = kpis.length ? $("breakdown-kpi").value : "";
    this.state.breakdownBy = dims.length ? $("breakdown-by").value : "";
  }

  bindControls() {
    $("workspace").addEventListener("change", (e) => {
      this.state.workspace = e.target.value;
      for (const values of Object.values(this.state.filters)) values.clear();
      this.syncVisibility();
      this.refresh({ options: true });
    });
    $("currency").addEventListener("change", (e) => {
      this.state.currency = e.target.value;
      this.refresh();
    });
    $("period").addEventListener("change", (e) => {
      this.syncVisibility();
      if (e.target.value === "CUSTOM") return; // applied with the range's button
      this.state.period = { preset: e.target.value };
      this.refresh();
    });
    $("range-apply").addEventListener("click", () => {
      const start = $("range-start").value;
      const through = $("range-end").value;
      if (!start || !through || through < start) {
        this.status("Choose a start date and an end date on or after it.", true);
        return;
      }
      this.state.period = { start, end: nextDay(through) }; // the API's end is exclusive
      this.refresh();
    });
    $("compare").addEventListener("change", (e) => {
      this.state.compare = e.target.value;
      this.refresh({ tilesOnly: true });
    });
    $("breakdown-kpi").addEventListener("change", (e) => {
      this.state.breakdownKpi = e.target.value;
      this.guard(renderBreakdown(this, $("breakdown")), $("breakdown"));
    });
    $("funnel-pipeline").addEventListener("change", (e) => {
      this.state.funnel = e.target.value;
      this.writeView();
      this.guard(renderFunnel(this, $("funnel")), $("funnel"));
    });
    $("breakdown-by").addEventListener("change", (e) => {
      this.state.breakdownBy = e.target.value;
      this.guard(renderBreakdown(this, $("breakdown")), $("breakdown"));
    });
  }

  /** A widget's failure shows in the widget, never as a broken page. */
  async guard(promise, container) {
    try {
      return await promise;
    } catch (err) {
      container.textContent = `Could not load: ${err.message}`;
      return null;
    }
  }

  /** Refresh every widget; answers to an older refresh are dropped. */
  async refresh({ options = false, tilesOnly = false } = {}) {
    const generation = ++this.generation;
    this.writeView();
    document.body.dataset.loading = "true";
    if (options) this.guard(this.loadFilterOptions(), $("filters"));
    const period = await this.guard(renderTiles(this, $("tiles")), $("tiles"));
    if (generation !== this.generation) return;
    if (tilesOnly && !$("clients-panel").hidden) await this.guard(renderClients(this, $("clients")), $("clients"));
    if (!tilesOnly) {
      const trend = trendPeriod(period);
      $("trend-range").textContent = `${trend.start} – ${trend.end} (end exclusive)`;
      await Promise.all([
        this.guard(renderTrends(this, $("trends"), trend), $("trends")),
        this.guard(renderBreakdown(this, $("breakdown")), $("breakdown")),
        this.guard(renderFunnel(this, $("funnel")), $("funnel")),
        $("clients-panel").hidden ? null : this.guard(renderClients(this, $("clients")), $("clients")),
      ]);
    }
    if (generation === this.generation) document.body.dataset.loading = "false";
  }
}

async function main() {
  const page = new Page();
  page.bindControls();
  const { key, refusedQuery } = takeKey();
  $("key-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const value = $("api-key").value.trim();
    $("api-key").value = "";
    if (value) await page.connect(value);
  });
  $("forget-key").addEventListener("click", () => {
    forgetKey();
    window.location.reload();
  });
  // A link with #key= opened in this tab while the page is up changes only the fragment.
  window.addEventListener("hashchange", () => {
    if (!new URLSearchParams(window.location.hash.slice(1)).has("key")) return;
    const again = takeKey().key;
    if (again) page.connect(again);
  });
  if (key) await page.connect(key);
  else if (refusedQuery) page.status("A key in the page's address is not used (it reaches server logs): enter it here.", true);
}

main();
