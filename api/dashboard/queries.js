// The dashboard's GraphQL queries, built against the schema the server actually has.
//
// The contract (DESIGN.md, "GraphQL contract"): metrics(workspaceId|workspaceIds, currency)
// has one field per KPI, each taking period, segment, compareTo, granularity and breakdown
// and returning a KpiResult. A field or argument the server lacks is left out of the query
// and the widget that needed it says so, so the page works against older and newer servers.

import { isLeaf, typeString } from "./graphql.js";

/** The segment filters the page offers: dimension enum, label, SegmentInput field names. */
export const SEGMENT_DIMENSIONS = [
  { dim: "OWNER", label: "Owner", inputs: ["owners", "owner", "ownerIds"] },
  { dim: "PIPELINE", label: "Pipeline", inputs: ["pipelines", "pipeline", "pipelineIds"] },
  { dim: "SOURCE", label: "Source", inputs: ["sources", "source", "leadSources"] },
  { dim: "COUNTRY", label: "Country", inputs: ["countries", "country", "accountCountries"] },
];

const PERIOD = ["start", "end", "timezone"];
/** What each part of a KpiResult selects, where the server has it. */
export const RESULT_PARTS = {
  base: ["name", "unit", "value", "numerator", "denominator", "nullReason", "currency",
    "missingFxCount", ["period", PERIOD]],
  comparison: [["comparison", ["value", "change", "changeRatio", ["period", PERIOD]]]],
  target: [["target", ["value", "attainment"]]],
  series: [["series", ["start", "end", "label", "value", "numerator", "denominator", "partial"]]],
  breakdown: [["breakdown", ["key", "label", "value", "numerator", "denominator"]]],
  freshness: [["freshness", ["syncedAt", "staleConnections"]]],
};
/** Columns worth showing first in a drill-down table, when the record type has them. */
const PREFERRED_COLUMNS = ["name", "title", "subject", "type", "status", "amount", "currency",
  "stageName", "source", "email", "createdAt", "remoteCreatedAt", "closedAt", "doneAt",
  "dueAt", "lifecycleStage"];
const MAX_COLUMNS = 7;
/** Leaf fields never worth a column (raw JSON, internal references). */
const HIDDEN_COLUMNS = new Set(["custom", "remoteData", "workspaceId", "connectionId"]);
/** Related records shown by name, when the record type links them: owner { name }. */
const NAMED_REFERENCES = ["owner", "account", "pipeline", "stage"];

/** The metrics part of the schema, with what the page needs to know about it. */
export class MetricsSchema {
  constructor(schema) {
    this.schema = schema;
    this.root = schema.field(schema.query, "metrics");
    this.type = schema.fieldType(this.root);
    const fields = this.type?.fields ?? [];
    // KPI fields: those returning a KpiResult-like object and needing no argument.
    this.kpis = fields.filter((f) => {
      const t = schema.fieldType(f);
      return schema.field(t, "value") && schema.field(t, "unit")
        && !f.args.some((a) => a.type.kind === "NON_NULL" && a.defaultValue === null);
    });
    this.resultType = this.kpis.length ? schema.fieldType(this.kpis[0]) : null;
  }

  get available() {
    return this.kpis.length > 0;
  }

  kpi(name) {
    return this.schema.field(this.type, name);
  }

  has(name) {
    return Boolean(this.kpi(name));
  }

  /** Whether a KPI field takes an argument (e.g. breakdown) and its result has a part. */
  supports(name, arg, resultField = null) {
    const f = this.kpi(name);
    if (!f || (arg && !this.schema.arg(f, arg))) return false;
    return !resultField || Boolean(this.schema.field(this.schema.fieldType(f), resultField));
  }

  argInputType(arg) {
    for (const f of this.kpis) {
      const a = this.schema.arg(f, arg);
      if (a) return this.schema.fieldType(a);
    }
    return null;
  }

  /** The SegmentInput field that filters one dimension, or null. */
  segmentField(dim) {
    const input = this.argInputType("segment");
    const spec = SEGMENT_DIMENSIONS.find((d) => d.dim === dim);
    const names = new Set((input?.inputFields ?? []).map((f) => f.name));
    return spec?.inputs.find((n) => names.has(n)) ?? null;
  }

  periodPresets() {
    const input = this.argInputType("period");
    const preset = input?.inputFields?.find((f) => f.name === "preset");
    return preset ? this.schema.enumValues(preset.type) : [];
  }

  breakdownDimensions() {
    const input = this.argInputType("breakdown");
    const by = input?.inputFields?.find((f) => f.name === "by");
    return by ? this.schema.enumValues(by.type).filter((v) => v !== "CUSTOM") : [];
  }

  /** A KpiResult selection made of RESULT_PARTS, keeping only what the server has. */
  resultSelection(parts, type = this.resultType) {
    return selection(this.schema, type, parts.flatMap((p) => RESULT_PARTS[p] ?? [p]));
  }

  /** records(...) { totalCount pageInfo edges { cursor node { ... } } } and its columns. */
  recordsSelection(kpiName) {
    const records = this.schema.field(this.schema.fieldType(this.kpi(kpiName)), "records");
    if (!records) return null;
    const conn = this.schema.fieldType(records);
    const edge = this.schema.fieldType(this.schema.field(conn, "edges"));
    const node = this.schema.fieldType(this.schema.field(edge, "node"));
    const columns = new Map();
    const chosen = this.schema.concreteTypes(node).map((t) => {
      const leaves = t.fields.filter((f) => isLeaf(f.type) && f.name !== "id" && !HIDDEN_COLUMNS.has(f.name));
      const ranked = [
        ...PREFERRED_COLUMNS.filter((n) => leaves.some((f) => f.name === n)),
        ...leaves.map((f) => f.name).filter((n) => !PREFERRED_COLUMNS.includes(n)),
      ].slice(0, MAX_COLUMNS);
      const named = NAMED_REFERENCES.filter((n) => {
        const ref = this.schema.field(t, n);
        return ref && !isLeaf(ref.type) && this.schema.field(this.schema.fieldType(ref), "name");
      });
      return { t, ranked, named };
    });
    // Fragments on several types may not select one name with two types (Deal.status is
    // String!, Lead.status String): such a field is fetched under a per-type alias.
    const typesOf = new Map();
    for (const { t, ranked } of chosen) {
      for (const n of ranked) {
        const types = typesOf.get(n) ?? new Set();
        types.add(typeString(this.schema.field(t, n).type));
        typesOf.set(n, types);
      }
    }
    const keys = new Map();
    const fragments = chosen.map(({ t, ranked, named }) => {
      const key = new Map(ranked.map((n) => [n, typesOf.get(n).size > 1 ? `${n}__${t.name}` : n]));
      keys.set(t.name, key);
      columns.set(t.name, [...ranked, ...named]);
      const leaves = ranked.map((n) => (key.get(n) === n ? n : `${key.get(n)}: ${n}`));
      const select = [...leaves, ...named.map((n) => `${n} { name }`)];
      return select.length ? `... on ${t.name} { ${select.join(" ")} }` : "";
    });
    const inner = [
      this.schema.field(conn, "totalCount") ? "totalCount" : "",
      this.schema.field(conn, "pageInfo") ? "pageInfo { hasNextPage endCursor }" : "",
      `edges { ${this.schema.field(edge, "cursor") ? "cursor " : ""}node { __typename id ${fragments.join(" ")} } }`,
    ].join(" ");
    /** A column's value in a node (under its alias when the column's type differs). */
    const value = (node, column) => node[keys.get(node.__typename)?.get(column) ?? column];
    return { field: records, inner, columns, value };
  }
}

/** Only the fields of ``spec`` that ``type`` has: ["a", ["b", ["c"]]] -> "a b { c }". */
export function selection(schema, type, spec) {
  const out = [];
  for (const item of spec) {
    const [name, sub] = Array.isArray(item) ? item : [item, null];
    const f = schema.field(type, name);
    if (!f) continue;
    if (!sub) {
      out.push(name);
      continue;
    }
    const inner = selection(schema, schema.fieldType(f), sub);
    if (inner) out.push(`${name} { ${inner} }`);
  }
  return out.join(" ");
}

/** Variables of one query: the same argument value is declared once and shared. */
export class Variables {
  constructor() {
    this.declarations = [];
    this.values = {};
    this.byKey = new Map();
  }

  use(name, typeRef, value) {
    const type = typeString(typeRef);
    const key = `${name}|${type}|${JSON.stringify(value)}`;
    if (!this.byKey.has(key)) {
      let variable = name;
      for (let i = 2; variable in this.values; i += 1) variable = `${name}${i}`;
      this.byKey.set(key, variable);
      this.values[variable] = value;
      this.declarations.push(`$${variable}: ${type}`);
    }
    return `$${this.byKey.get(key)}`;
  }

  /** "name: $var, ..." for the arguments of ``field`` that have a value. */
  args(field, values) {
    const out = [];
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined || value === null) continue;
      const arg = field.args.find((a) => a.name === name);
      if (arg) out.push(`${name}: ${this.use(name, arg.type, value)}`);
    }
    return out.length ? `(${out.join(", ")})` : "";
  }
}

/**
 * One metrics query. ``scope``: {workspaceId} or {workspaceIds, currency}; ``items``:
 * [{alias, kpi, args, select}] where ``select`` is a selection string (or a function of
 * the query's variables, for nested arguments such as records(first:, after:)). Returns
 * {query, variables}; answers are at data.metrics[alias].
 */
export function metricsQuery(metrics, name, scope, items) {
  const vars = new Variables();
  const rootArgs = vars.args(metrics.root, scope);
  // A selection shared by several KPIs is written once, as a fragment: the server caps
  // the tokens of a query, and a fragment keeps a 50-tile query well under that cap.
  const fragments = new Map();
  const shared = (select, field) => {
    const count = items.filter((i) => i.select === select).length;
    if (count < 2 || metrics.schema.fieldType(field) !== metrics.resultType) return select;
    if (!fragments.has(select)) fragments.set(select, `K${fragments.size}`);
    return `...${fragments.get(select)}`;
  };
  const body = items.map((item) => {
    const field = metrics.kpi(item.kpi);
    const alias = item.alias && item.alias !== item.kpi ? `${item.alias}: ` : "";
    const select = typeof item.select === "function" ? item.select(vars) : shared(item.select, field);
    return `${alias}${item.kpi}${vars.args(field, item.args ?? {})} { ${select} }`;
  });
  const declarations = vars.declarations.length ? `(${vars.declarations.join(", ")})` : "";
  const definitions = [...fragments].map(
    ([select, fragment]) => ` fragment ${fragment} on ${metrics.resultType.name} { ${select} }`);
  return {
    query: `query ${name}${declarations} { metrics${rootArgs} { ${body.join(" ")} } }${definitions.join("")}`,
    variables: vars.values,
  };
}

/** The query's errors that concern one alias of the metrics field, joined. */
export function errorsFor(errors, alias) {
  const mine = errors.filter((e) => !e.path || e.path.length < 2 || e.path[1] === alias);
  return mine.length ? mine.map((e) => e.message).join("; ") : null;
}
