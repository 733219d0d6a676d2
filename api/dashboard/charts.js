// Hand-drawn SVG charts: a line chart of a series, a bar chart of a breakdown, a funnel.
// No chart library: each chart is a few dozen lines, styled by dashboard.css, and every
// mark that stands for records can be clicked (``onSelect``) to list them.

const SVG = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

function svg(width, height, label) {
  return el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
}

function clickable(node, title, onSelect) {
  node.appendChild(el("title", {}, title));
  if (onSelect) {
    node.classList.add("clickable");
    node.setAttribute("tabindex", "0");
    node.addEventListener("click", onSelect);
    node.addEventListener("keydown", (e) => {
      if (e.key === "Enter") onSelect();
    });
  }
  return node;
}

/** A rounded-up axis maximum so gridlines land on readable numbers. */
function niceMax(max) {
  if (max <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (max <= m * step) return m * step;
  return 10 * step;
}

/** points: [{label, value}]; format(value) for labels; onSelect(point) on a click. */
export function lineChart(points, { title, format, onSelect }) {
  const W = 320, H = 170, L = 52, R = 10, T = 12, B = 26;
  const chart = svg(W, H, title);
  const values = points.map((p) => p.value).filter((v) => v !== null && v !== undefined);
  const min = Math.min(0, ...values);
  const max = niceMax(Math.max(0, ...values) - min) + min;
  const x = (i) => L + (points.length < 2 ? (W - L - R) / 2 : (i * (W - L - R)) / (points.length - 1));
  const y = (v) => T + (H - T - B) * (1 - (v - min) / (max - min || 1));
  for (let g = 0; g <= 4; g += 1) {
    const v = min + ((max - min) * g) / 4;
    chart.appendChild(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
    chart.appendChild(el("text", { x: L - 4, y: y(v) + 3, class: "axis", "text-anchor": "end" }, format(v, true)));
  }
  // About five labels: every n-th bucket and the last, never two crowding each other.
  const every = Math.ceil(points.length / 5);
  const last = points.length - 1;
  points.forEach((p, i) => {
    if ((i % every === 0 && last - i >= every) || i === last) {
      const anchor = i === points.length - 1 && points.length > 1 ? "end" : i === 0 ? "start" : "middle";
      chart.appendChild(el("text", { x: x(i), y: H - 8, class: "axis", "text-anchor": anchor }, p.label));
    }
  });
  // The line breaks where a bucket has no value (null, e.g. an empty denominator). A
  // partial bucket (the period in progress: its value covers only part of it) is joined
  // by a dashed segment and drawn as a hollow dot with a "partial" band behind it, so a
  // month that has only begun never reads as a fall.
  let solid = "";
  let dashed = "";
  let previous = null;
  points.forEach((p, i) => {
    if (p.value === null || p.value === undefined) {
      previous = null;
      return;
    }
    const at = `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`;
    if (previous === null) solid += `M${at} `;
    else if (p.partial || previous.partial) dashed += `M${previous.at} L${at} `;
    else solid += `${solid.endsWith(`${previous.at} `) ? "" : `M${previous.at} `}L${at} `;
    previous = { at, partial: Boolean(p.partial) };
  });
  const step = points.length < 2 ? W - L - R : (W - L - R) / (points.length - 1);
  points.forEach((p, i) => {
    if (!p.partial) return;
    chart.appendChild(el("rect", { x: (x(i) - step / 2).toFixed(1), y: T, width: step.toFixed(1),
      height: H - T - B, class: "partial-band", "data-label": p.label }));
  });
  chart.appendChild(el("path", { d: solid.trim() || "M0,0", class: "line" }));
  if (dashed) chart.appendChild(el("path", { d: dashed.trim(), class: "line partial" }));
  points.forEach((p, i) => {
    if (p.value === null || p.value === undefined) return;
    const dot = el("circle", { cx: x(i), cy: y(p.value), r: 3.5, class: p.partial ? "dot partial" : "dot",
      "data-label": p.label, "data-partial": p.partial ? "true" : "false" });
    const note = p.partial ? " (partial: the period is not over)" : "";
    chart.appendChild(clickable(dot, `${p.label}: ${format(p.value)}${note}`, onSelect && (() => onSelect(p))));
  });
  return chart;
}

/** items: [{key, label, value}] drawn as horizontal bars, largest scale first. */
export function barChart(items, { title, format, onSelect }) {
  const row = 24, L = 130, R = 80, W = 460;
  const H = Math.max(row * items.length + 8, 40);
  const chart = svg(W, H, title);
  const max = niceMax(Math.max(0, ...items.map((i) => i.value ?? 0)));
  items.forEach((item, i) => {
    const y = 4 + i * row;
    const width = Math.max(((item.value ?? 0) / max) * (W - L - R), 0);
    const label = item.label || item.key || "(none)";
    chart.appendChild(el("text", { x: L - 6, y: y + 15, class: "label", "text-anchor": "end" },
      label.length > 20 ? `${label.slice(0, 19)}…` : label));
    const bar = el("rect", { x: L, y: y + 3, width: width.toFixed(1), height: row - 8, rx: 2, class: "bar", "data-key": item.key ?? "" });
    chart.appendChild(clickable(bar, `${label}: ${format(item.value)}`, onSelect && (() => onSelect(item))));
    chart.appendChild(el("text", { x: L + width + 6, y: y + 15, class: "value" }, format(item.value)));
  });
  return chart;
}

/**
 * stages: [{label, count, rate}] in pipeline order; ``count`` sizes the bar (deals that
 * reached the stage), ``rate`` is the share that went on to the next stage.
 */
export function funnel(stages, { title, formatCount, formatRate, onSelect }) {
  const row = 30, W = 460, H = Math.max(row * stages.length + 8, 40);
  const chart = svg(W, H, title);
  const max = Math.max(1, ...stages.map((s) => s.count ?? 0));
  const widest = W - 170;
  stages.forEach((s, i) => {
    const y = 4 + i * row;
    const width = Math.max(((s.count ?? 0) / max) * widest, 2);
    const x = 10 + (widest - width) / 2;
    const bar = el("rect", { x: x.toFixed(1), y, width: width.toFixed(1), height: row - 6, rx: 3, class: "stage" });
    chart.appendChild(clickable(bar, `${s.label}: ${formatCount(s.count)}`, onSelect && (() => onSelect(s))));
    chart.appendChild(el("text", { x: 10 + widest / 2, y: y + 17, class: "stage-label", "text-anchor": "middle" },
      `${s.label} · ${formatCount(s.count)}`));
    if (s.rate !== null && s.rate !== undefined) {
      chart.appendChild(el("text", { x: W - 150, y: y + 17, class: "value" }, `→ ${formatRate(s.rate)} next`));
    }
  });
  return chart;
}
