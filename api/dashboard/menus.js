// Menus of the page's controls.

/** A checkbox per KPI in ``body``; ``onChange(names)`` gets the checked ones, in order. */
export function kpiChecklist(body, kpis, chosen, label, onChange) {
  body.replaceChildren(...kpis.map((f) => {
    const item = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = f.name;
    box.checked = chosen.includes(f.name);
    box.addEventListener("change", () => {
      const checked = new Set([...body.querySelectorAll("input:checked")].map((b) => b.value));
      onChange(kpis.map((k) => k.name).filter((n) => checked.has(n)));
    });
    item.append(box, ` ${label(f.name)}`);
    return item;
  }));
}
