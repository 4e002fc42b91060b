// What the page shows, as the API's query parameters: read from the address, shared by the bootstrap (which
// sends the first reads before the rest of the page's code has loaded) and the list.

export const TIMEFRAMES = ["1h", "24h", "7d", "30d"];
export const SEVERITIES = ["all", "critical", "high", "medium", "low"];
export const PAGE_SIZE = 25;
const TIMEFRAME_MS = { "1h": 3_600_000, "24h": 86_400_000, "7d": 604_800_000, "30d": 2_592_000_000 };

export function viewFrom(query) {
  return {
    timeframe: TIMEFRAMES.includes(query.get("timeframe")) ? query.get("timeframe") : "24h",
    severity: SEVERITIES.includes(query.get("severity")) ? query.get("severity") : "all",
  };
}

export const NO_FILTERS = Object.freeze({ q: "", status: "", category: "", source: "", sort: "lastSeen" });

/** `window`: a spike's { start, end }, or null for the whole timeframe ending now. */
export function errorListParams({ timeframe, severity, filters = NO_FILTERS, window = null, cursor = null }) {
  const params = {
    sort: filters.sort,
    limit: PAGE_SIZE,
    cursor: cursor ?? undefined,
    status: filters.status || undefined,
    category: filters.category || undefined,
    source: filters.source || undefined,
    q: filters.q.trim() || undefined,
    severity: severity === "all" ? undefined : severity,
  };
  if (window) {
    // Errors active during the spike: first seen before it ended and last seen after it began.
    params.lastSeenFrom = window.start;
    params.firstSeenTo = window.end;
  } else {
    params.lastSeenFrom = new Date(Date.now() - TIMEFRAME_MS[timeframe]).toISOString();
  }
  return params;
}

export function trackingParams({ timeframe, severity }) {
  return { timeframe, severity };
}
