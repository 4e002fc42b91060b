// Active alerts and incidents. The endpoints come with the alerting issue: until then the API answers 404 and
// the section says alerts are not available; it lights up by itself once they exist.

import { fill, h } from "./dom.js";
import * as fmt from "./format.js";

function itemsOf(data) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data.items)) return data.items;
  return [];
}

function describe(item) {
  const title = item.title ?? item.name ?? item.rule ?? item.type ?? item.alertId ?? item.incidentId ?? item.id ?? "";
  const since = item.startedAt ?? item.firedAt ?? item.openedAt ?? item.createdAt;
  return h(
    "li",
    { class: "alert-item" },
    item.severity ? h("span", { class: ["badge", `sev-${item.severity}`] }, String(item.severity)) : null,
    h("strong", {}, String(title || "(untitled)")),
    item.status ? h("span", { class: "muted" }, ` · ${item.status}`) : null,
    since ? h("span", { class: "muted" }, ` · since ${fmt.timeAgo(since)}`) : null,
    item.message || item.description ? h("div", {}, String(item.message ?? item.description)) : null,
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
  const [alerts, incidents] = await Promise.all([read(api, "/alerts", { status: "firing" }), read(api, "/incidents")]);
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
