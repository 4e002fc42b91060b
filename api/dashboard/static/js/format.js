// How figures read. A figure the API returns as null (or leaves out) is "no data", never 0.

export const NO_DATA = "no data";

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 0, maximumFractionDigits: 2 });
const fixed2 = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const signed = new Intl.NumberFormat(undefined, {
  minimumFractionDigits: 0,
  maximumFractionDigits: 2,
  signDisplay: "exceptZero",
});

export function isMissing(value) {
  return value === null || value === undefined || (typeof value === "number" && !Number.isFinite(value));
}

export function count(value) {
  return isMissing(value) ? NO_DATA : integer.format(value);
}

export function number(value) {
  return isMissing(value) ? NO_DATA : decimal.format(value);
}

export function percent(value) {
  return isMissing(value) ? NO_DATA : `${decimal.format(value)}%`;
}

/** A difference of two percentages, in percentage points. */
export function points(value) {
  return isMissing(value) ? NO_DATA : `${signed.format(value)} pp`;
}

export function money(value) {
  return isMissing(value) ? NO_DATA : fixed2.format(value);
}

export function seconds(value) {
  if (isMissing(value)) return NO_DATA;
  if (value < 60) return `${decimal.format(value)} s`;
  if (value < 3600) return `${integer.format(Math.floor(value / 60))} min ${integer.format(value % 60)} s`;
  return `${decimal.format(value / 3600)} h`;
}

export function text(value) {
  return isMissing(value) || value === "" ? NO_DATA : String(value);
}

const UNITS = [
  ["d", 86400],
  ["h", 3600],
  ["min", 60],
  ["s", 1],
];

/** "5 min ago"; a time ahead of the clock (a skewed sender) reads "just now". */
export function timeAgo(iso, now = Date.now()) {
  if (isMissing(iso) || iso === "") return NO_DATA;
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return NO_DATA;
  const elapsed = Math.floor((now - then) / 1000);
  if (elapsed < 5) return "just now";
  for (const [unit, size] of UNITS) {
    if (elapsed >= size) return `${Math.floor(elapsed / size)} ${unit} ago`;
  }
  return "just now";
}

export function dateTime(iso) {
  if (isMissing(iso) || iso === "") return NO_DATA;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? NO_DATA : date.toLocaleString();
}

export function shortTime(iso, timeframe) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  if (timeframe === "30d" || timeframe === "7d") {
    return date.toLocaleDateString(undefined, { month: "short", day: "numeric" }) +
      (timeframe === "7d" ? ` ${date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })}` : "");
  }
  return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}
