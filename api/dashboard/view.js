// The view (workspace, currency, period, comparison, funnel, filters) as the URL's fragment,
// so a dashboard can be bookmarked or shared. Never the key (key.js removes it at once).

import { previousDay } from "./format.js";

/** The workspace menu's value meaning "all workspaces". */
export const ALL = "*";
const $ = (id) => document.getElementById(id);

/** The view as the URL's fragment, so a dashboard can be bookmarked (never the key). */
export function writeView(state) {
  const view = new URLSearchParams({ ws: state.workspace });
  if (state.workspace === ALL && state.currency) view.set("currency", state.currency);
  if (state.period.preset) view.set("period", state.period.preset);
  else view.set("range", `${state.period.start}..${state.period.end}`);
  if (state.compare) view.set("compare", state.compare);
  if (state.funnel) view.set("funnel", state.funnel);
  for (const [dim, values] of Object.entries(state.filters)) {
    for (const value of values) view.append(dim.toLowerCase(), value);
  }
  window.history.replaceState(null, "", `#${view}`);
}

/** Apply a fragment written by writeView; anything unknown keeps its default. */
export function readView(state) {
  const view = new URLSearchParams(window.location.hash.slice(1));
  const pick = (select, value) => {
    if (value && [...$(select).options].some((o) => o.value === value)) $(select).value = value;
    return $(select).value;
  };
  state.workspace = pick("workspace", view.get("ws"));
  state.currency = pick("currency", view.get("currency"));
  state.compare = pick("compare", view.get("compare"));
  state.funnel = view.get("funnel") ?? "";
  const [start, end] = (view.get("range") ?? "").split("..");
  if (/^\d{4}-\d\d-\d\d$/.test(start) && /^\d{4}-\d\d-\d\d$/.test(end ?? "")) {
    $("period").value = "CUSTOM";
    $("range-start").value = start;
    $("range-end").value = previousDay(end);
    state.period = { start, end };
  } else {
    state.period = { preset: pick("period", view.get("period")) };
  }
  for (const dim of Object.keys(state.filters)) {
    state.filters[dim] = new Set(view.getAll(dim.toLowerCase()));
  }
}
