// Numbers as a sales manager reads them: money in its currency, ratios as percentages,
// durations with their unit, and changes coloured by whether they are good news.

const LOCALE = undefined; // the browser's

/** KPIs where a smaller number is the better one (their increases show in red). */
const LOWER_IS_BETTER = new Set([
  "dealsLost", "averageSalesCycleDays", "averageTimeToConvertDays", "customerChurnRate",
  "netCustomerChurnRate", "inactiveCustomers", "customerAcquisitionCost",
  "costPerAcquisition", "costPerLead", "pendingFollowUps", "averageResponseTimeHours",
]);

export function formatValue(value, unit, currency, { compact = false } = {}) {
  if (value === null || value === undefined) return "—";
  const notation = compact ? "compact" : "standard";
  switch (unit) {
    case "MONEY":
      if (!currency) return new Intl.NumberFormat(LOCALE, { notation, maximumFractionDigits: 0 }).format(value);
      return new Intl.NumberFormat(LOCALE, {
        style: "currency", currency, notation, maximumFractionDigits: compact ? 1 : 0,
      }).format(value);
    case "RATIO":
      return new Intl.NumberFormat(LOCALE, { style: "percent", maximumFractionDigits: 1 }).format(value);
    case "DAYS":
      return `${new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 }).format(value)} d`;
    case "HOURS":
      return `${new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 }).format(value)} h`;
    case "SCORE":
      return new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 }).format(value);
    default:
      return new Intl.NumberFormat(LOCALE, { notation, maximumFractionDigits: 2 }).format(value);
  }
}

/**
 * A comparison as text and tone: ratios change in percentage points, everything else by
 * its relative change. tone is "up-good", "up-bad", "down-good", "down-bad" or "flat".
 */
export function formatChange(kpi, unit, comparison) {
  if (!comparison || comparison.change === null || comparison.change === undefined) {
    return { text: "no change to show", tone: "flat" };
  }
  const { change, changeRatio } = comparison;
  const sign = change > 0 ? "+" : change < 0 ? "−" : "±";
  let text;
  if (unit === "RATIO") {
    text = `${sign}${Math.abs(change * 100).toFixed(1)} pp`;
  } else if (changeRatio !== null && changeRatio !== undefined) {
    text = `${sign}${Math.abs(changeRatio * 100).toFixed(1)}%`;
  } else {
    text = `${sign}${formatValue(Math.abs(change), unit, null)}`;
  }
  if (change === 0) return { text, tone: "flat" };
  const good = (change > 0) !== LOWER_IS_BETTER.has(kpi);
  return { text, tone: `${change > 0 ? "up" : "down"}-${good ? "good" : "bad"}` };
}

/** Abbreviations that stay in capitals when a name is humanized. */
const ACRONYMS = /\b(mql|sql|nps|csat|mrr|arpa|roi|id|fx)\b/g;

/** "salesRevenue" -> "Sales revenue" (the catalogue's descriptions give the meaning). */
export function humanize(name) {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().replace(ACRONYMS, (w) => w.toUpperCase());
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "LAST_365_DAYS" -> "Last 365 days". */
export function presetLabel(preset) {
  return preset.charAt(0) + preset.slice(1).toLowerCase().replaceAll("_", " ");
}

/** A record field value for a table cell: dates shortened, money and null shown plainly. */
export function formatCell(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return value.name ?? JSON.stringify(value);
  if (typeof value === "number") return value.toLocaleString(LOCALE);
  if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) {
    return value.slice(0, 16).replace("T", " ");
  }
  return String(value);
}

export function isoDate(date) {
  return date.toISOString().slice(0, 10);
}

/** The day after an ISO date (the page shows inclusive ranges; the API takes end-exclusive). */
export function nextDay(iso) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return isoDate(d);
}

export function previousDay(iso) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return isoDate(d);
}

/** First day of the month of an ISO date, shifted by ``months``. */
export function monthStart(iso, months = 0) {
  const d = new Date(`${iso.slice(0, 7)}-01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + months);
  return isoDate(d);
}
