// The clients table: every workspace (client) × a chosen set of KPIs, each with its change
// against the comparison period, sortable by any column, each cell opening its records.
//
// One GraphQL request: one aliased `metrics(workspaceId:, currency:)` per workspace, each
// with the chosen KPI fields. (The API also breaks KPIs down by WORKSPACE, but a breakdown
// group has no comparison; per-workspace aliases give each client its own timezone,
// comparison aligned to the elapsed part of a period in progress, and drill-down.) Money is
// converted to one currency so that a column sorts across clients.

import { csvButton } from "./csv.js";
import { formatChange, formatValue, humanize } from "./format.js";
import { Variables } from "./queries.js";

export const DEFAULT_CLIENT_KPIS = ["salesRevenue", "dealsWon", "winRate", "pipelineValue", "newLeads"];
const STORAGE = "crmkpi.clientKpis";
const CELL = ["value", "unit", "currency", "nullReason", "missingFxCount", ["comparison", ["value", "change", "changeRatio"]]];

function node(tag, attrs = {}, text = null) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "testid") n.dataset.testid = v;
    else n.setAttribute(k, v);
  }
  if (text !== null) n.textContent = text;
  return n;
}

/** The KPIs chosen in this browser (never trust what storage holds). */
export function storedClientKpis() {
  try {
    const kpis = JSON.parse(localStorage.getItem(STORAGE) ?? "null");
    return Array.isArray(kpis) && kpis.every((k) => typeof k === "string") ? kpis : null;
  } catch {
    return null;
  }
}

export function storeClientKpis(kpis) {
  localStorage.setItem(STORAGE, JSON.stringify(kpis));
}

/** The document and variables of the clients table's one request. */
export function clientsQuery(page, kpis) {
  const { metrics, schema } = page;
  const vars = new Variables();
  const cellSelection = (type) => selectionOf(schema, type, CELL);
  const resultType = metrics.resultType;
  const compareTo = page.state.compare || "PREVIOUS_PERIOD";
  const args = page.kpiArgs({ compareTo });
  const blocks = page.workspaces.map((w, i) => {
    const rootArgs = vars.args(metrics.root, { workspaceId: w.id, currency: page.state.currency || undefined });
    const fields = kpis.map((kpi) => `${kpi}${vars.args(metrics.kpi(kpi), args)} { ...ClientCell }`);
    return `w${i}: metrics${rootArgs} { ${fields.join(" ")} }`;
  });
  const declarations = vars.declarations.length ? `(${vars.declarations.join(", ")})` : "";
  return {
    query: `query DashboardClients${declarations} { ${blocks.join(" ")} } fragment ClientCell on ${resultType.name} { ${cellSelection(resultType)} }`,
    variables: vars.values,
    args,
    compareTo,
  };
}

function selectionOf(schema, type, spec) {
  const out = [];
  for (const item of spec) {
    const [name, sub] = Array.isArray(item) ? item : [item, null];
    const f = schema.field(type, name);
    if (!f) continue;
    out.push(sub ? `${name} { ${selectionOf(schema, schema.fieldType(f), sub)} }` : name);
  }
  return out.join(" ");
}

/** Fetch and draw the table; the answer is kept on the page so sorting needs no request. */
export async function renderClients(page, container) {
  const { metrics } = page;
  const kpis = page.state.clientKpis.filter((k) => metrics.has(k));
  if (!kpis.length) {
    container.replaceChildren(node("p", { class: "widget-message" }, "Choose KPIs for the table in its KPIs menu."));
    return;
  }
  const q = clientsQuery(page, kpis);
  const { data, errors } = await page.client.requestPartial(q.query, q.variables);
  if (!data) throw new Error(errors.map((e) => e.message).join("; ") || "no answer");
  const rows = page.workspaces.map((w, i) => ({
    workspace: w,
    cells: Object.fromEntries(kpis.map((k) => [k, data[`w${i}`]?.[k] ?? null])),
  }));
  page.clients = { rows, kpis, args: q.args, compareTo: q.compareTo, errors };
  drawClients(page, container);
}

function sortValue(row, column) {
  if (column === "client") return row.workspace.name.toLowerCase();
  return row.cells[column]?.value ?? null;
}

/** Rows sorted by the chosen column (no value always last, whatever the direction). */
function sorted(rows, { column, descending }) {
  return [...rows].sort((a, b) => {
    const x = sortValue(a, column);
    const y = sortValue(b, column);
    if (x === null || y === null) return (x === null) - (y === null);
    const order = x < y ? -1 : x > y ? 1 : 0;
    return descending ? -order : order;
  });
}

export function drawClients(page, container) {
  const { rows, kpis, args, compareTo } = page.clients;
  const sort = page.state.clientSort;
  const table = node("table", { class: "clients", testid: "clients-table" });
  const head = node("tr");
  for (const column of ["client", ...kpis]) {
    const label = column === "client" ? "Client" : humanize(column);
    const active = sort.column === column;
    const th = node("th", { scope: "col", "data-column": column, "aria-sort": active ? (sort.descending ? "descending" : "ascending") : "none" });
    const button = node("button", { type: "button", class: "sort", testid: `sort-${column}` }, `${label}${active ? (sort.descending ? " ▼" : " ▲") : ""}`);
    th.dataset.csv = label;
    button.addEventListener("click", () => {
      page.state.clientSort = { column, descending: active ? !sort.descending : column !== "client" };
      drawClients(page, container);
    });
    th.appendChild(button);
    head.appendChild(th);
  }
  const body = sorted(rows, sort).map((row) => {
    const tr = node("tr", { testid: "client-row", "data-workspace": row.workspace.id });
    tr.appendChild(node("th", { scope: "row" }, row.workspace.name));
    for (const kpi of kpis) tr.appendChild(clientCell(page, row, kpi, args));
    return tr;
  });
  const thead = node("thead");
  thead.appendChild(head);
  const tbody = node("tbody");
  tbody.replaceChildren(...body);
  table.replaceChildren(thead, tbody);
  const label = compareTo === "SAME_PERIOD_LAST_YEAR" ? "same period last year" : "previous period";
  const note = node("p", { class: "widget-note" }, `Change vs the ${label}; money in ${page.state.currency || "each client's currency"}. Click a number for its records.`);
  const csvRows = () => [
    ["Client", ...kpis.flatMap((k) => [humanize(k), `${humanize(k)} (comparison)`])],
    ...sorted(rows, page.state.clientSort).map((r) => [r.workspace.name,
      ...kpis.flatMap((k) => [r.cells[k]?.value ?? "", r.cells[k]?.comparison?.value ?? ""])]),
  ];
  container.replaceChildren(note, table, csvButton("clients.csv", csvRows, "clients-csv"));
}

function clientCell(page, row, kpi, args) {
  const result = row.cells[kpi];
  const td = node("td", { "data-kpi": kpi, testid: "client-cell" });
  if (!result) {
    td.textContent = "—";
    td.title = "no answer";
    return td;
  }
  const value = node("button", { type: "button", class: "cell-value", title: result.nullReason ?? "Show the records behind this number" },
    formatValue(result.value, result.unit, result.currency));
  value.addEventListener("click", () => page.drill({
    kpi, args, scope: { workspaceId: row.workspace.id, currency: page.state.currency || undefined },
    title: `${humanize(kpi)} · ${row.workspace.name}`,
  }));
  td.dataset.csv = result.value ?? "";
  td.appendChild(value);
  if (result.comparison) {
    const change = formatChange(kpi, result.unit, result.comparison);
    td.appendChild(node("span", { class: `change ${change.tone}`, testid: "client-change" }, change.text));
  }
  if (result.missingFxCount) td.appendChild(node("span", { class: "warn" }, `${result.missingFxCount} without FX rate`));
  return td;
}
