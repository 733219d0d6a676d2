// The drill-down: a click on a number lists the records behind it, through the KPI's own
// records(first:, after:) connection with exactly the arguments that produced the number.

import { downloadCsv, tableRows } from "./csv.js";
import { formatCell, formatValue, humanize } from "./format.js";
import { errorsFor, metricsQuery } from "./queries.js";

const PAGE_SIZE = 25;
const $ = (id) => document.getElementById(id);

export class DrillDown {
  constructor() {
    this.dialog = $("drill");
    $("drill-close").addEventListener("click", () => this.dialog.close());
    $("drill-more").addEventListener("click", () => this.load());
    $("drill-csv").addEventListener("click", () => {
      const name = ($("drill-title").textContent || "records").replace(/[^\w.-]+/g, "-").toLowerCase();
      downloadCsv(`${name}.csv`, tableRows($("drill-table")));
    });
    this.dialog.addEventListener("click", (e) => {
      if (e.target === this.dialog) this.dialog.close(); // a click on the backdrop
    });
  }

  /** ``what``: {kpi, args, scope, title}; ``ctx``: {client, metrics}. */
  async open(ctx, what) {
    this.opened = (this.opened ?? 0) + 1;
    this.ctx = ctx;
    this.what = what;
    this.after = null;
    this.rows = [];
    $("drill-title").textContent = what.title ?? humanize(what.kpi);
    $("drill-summary").textContent = "Loading…";
    $("drill-table").replaceChildren();
    $("drill-more").hidden = true;
    if (!this.dialog.open) this.dialog.showModal();
    this.records = ctx.metrics.recordsSelection(what.kpi);
    if (!this.records) {
      $("drill-summary").textContent =
        "This server does not list the records behind this KPI yet (no records field).";
      return;
    }
    await this.load();
  }

  async load() {
    const { client, metrics } = this.ctx;
    const { kpi, args, scope } = this.what;
    const records = this.records;
    const select = (vars) =>
      `value unit currency records${vars.args(records.field, { first: PAGE_SIZE, after: this.after })} { ${records.inner} }`;
    const q = metricsQuery(metrics, "DrillDown", scope, [{ alias: "kpi", kpi, args, select }]);
    const opened = this.opened;
    let data;
    let errors;
    try {
      ({ data, errors } = await client.requestPartial(q.query, q.variables));
    } catch (err) {
      if (opened === this.opened) $("drill-summary").textContent = err.message;
      return;
    }
    if (opened !== this.opened) return; // another number was clicked meanwhile
    const result = data?.metrics?.kpi;
    if (!result?.records) {
      $("drill-summary").textContent = errorsFor(errors, "kpi") ?? "No records returned.";
      return;
    }
    const conn = result.records;
    const edges = conn.edges ?? [];
    this.rows.push(...edges.map((e) => e.node));
    const last = edges.at(-1);
    this.after = conn.pageInfo?.endCursor ?? last?.cursor ?? null;
    const more = conn.pageInfo ? conn.pageInfo.hasNextPage : edges.length === PAGE_SIZE;
    $("drill-more").hidden = !(more && this.after);
    const total = conn.totalCount ?? this.rows.length;
    $("drill-summary").textContent =
      `${formatValue(result.value, result.unit, result.currency)} · ${total} record${total === 1 ? "" : "s"}` +
      (total > this.rows.length ? ` (showing ${this.rows.length})` : "");
    this.render();
  }

  render() {
    const columns = [];
    for (const row of this.rows) {
      for (const c of this.records.columns.get(row.__typename) ?? []) {
        if (!columns.includes(c)) columns.push(c);
      }
    }
    const table = $("drill-table");
    const head = document.createElement("tr");
    for (const c of ["type", "id", ...columns]) {
      const th = document.createElement("th");
      th.textContent = humanize(c);
      head.appendChild(th);
    }
    const rows = this.rows.map((node) => {
      const tr = document.createElement("tr");
      tr.dataset.testid = "drill-row";
      const cells = columns.map((c) => this.records.value(node, c));
      for (const value of [node.__typename, node.id, ...cells]) {
        const td = document.createElement("td");
        td.textContent = formatCell(value);
        tr.appendChild(td);
      }
      return tr;
    });
    const thead = document.createElement("thead");
    thead.appendChild(head);
    const tbody = document.createElement("tbody");
    tbody.replaceChildren(...rows);
    table.replaceChildren(thead, tbody);
  }
}
