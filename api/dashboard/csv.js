// CSV download of any table the page shows: RFC 4180 quoting, a UTF-8 byte order mark so
// spreadsheet programs read accents right, and cells that would start a formula ("=", "+",
// "-", "@") prefixed with a quote, since a CSV of CRM data is opened in spreadsheets.

const FORMULA = /^[=+\-@\t\r]/;

function cell(value) {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (typeof value !== "number" && FORMULA.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** rows: arrays of cells (the first one the header) -> CSV text. */
export function toCsv(rows) {
  return rows.map((row) => row.map(cell).join(",")).join("\r\n") + "\r\n";
}

/** The cells of an HTML table as they read (header row first). */
export function tableRows(table) {
  return [...table.querySelectorAll("tr")].map((tr) =>
    [...tr.querySelectorAll("th, td")].map((c) => c.dataset.csv ?? c.textContent.trim()));
}

export function downloadCsv(filename, rows) {
  const blob = new Blob(["\ufeff", toCsv(rows)], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A "Download CSV" button for a table (read when clicked, so it is always current). */
export function csvButton(filename, rows, testid) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "csv";
  button.textContent = "Download CSV";
  if (testid) button.dataset.testid = testid;
  button.addEventListener("click", () => downloadCsv(typeof filename === "function" ? filename() : filename, rows()));
  return button;
}
