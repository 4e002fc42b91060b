// Firing alerts and open incidents (GET .../alerts?status=firing, .../incidents?status=open). A server without
// them answers 404 and the section says alerts are not available.

import { fill, h } from "./dom.js";
import * as fmt from "./format.js";

function itemsOf(data) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data.items)) return data.items;
  return [];
}

function describe(item) {
  const title = item.title ?? item.name ?? item.alertId ?? item.incidentId ?? "";
  const since = item.firstFiredAt ?? item.openedAt;
  const what = item.rule
    ? ` · ${item.rule.name ?? item.rule.kind}`
    : item.alerts !== undefined
      ? ` · ${item.alerts} ${item.alerts === 1 ? "alert" : "alerts"}`
      : "";
  const error = item.primaryErrorId;
  return h(
    "li",
    { class: "alert-item" },
    item.severity ? h("span", { class: ["badge", `sev-${item.severity}`] }, String(item.severity)) : null,
    error
      ? h("a", { href: `?error=${encodeURIComponent(error)}`, "data-error": error }, h("strong", {}, String(title)))
      : h("strong", {}, String(title || "(untitled)")),
    h("span", { class: "muted" }, what),
    since ? h("span", { class: "muted" }, ` · since ${fmt.timeAgo(since)}`) : null,
  );
}

async function read(api, path, params) {
  try {
    return { items: itemsOf(await api.get(path, params)) };
  } catch (error) {
    if (error.status === 404 || error.status === 405) return { unavailable: true };
    return { failed: error.message };
  }
}

export async function loadAlerts(api, box) {
  const [alerts, incidents] = await Promise.all([read(api, "/alerts", { status: "firing" }), read(api, "/incidents", { status: "open" })]);
  const part = (title, result, unavailable, none) =>
    h(
      "div",
      { class: "alert-part", "data-part": title.toLowerCase() },
      h("h3", {}, title),
      result.unavailable
        ? h("p", { class: "muted unavailable" }, unavailable)
        : result.failed
          ? h("p", { class: "problem" }, `Could not be loaded: ${result.failed}`)
          : result.items.length
            ? h("ul", { class: "alerts-list" }, result.items.map(describe))
            : h("p", { class: "muted" }, none),
    );
  fill(
    box,
    part("Alerts", alerts, "Alerts are not available on this server yet.", "No alert is firing."),
    part("Incidents", incidents, "Incidents are not available on this server yet.", "No open incident."),
  );
}
