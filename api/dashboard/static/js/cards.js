// The overview cards. Each card carries its field name and the raw value (data-field, data-value) beside the
// formatted text, so tests and tools can compare them with the API.

import { fill, h } from "./dom.js";
import * as fmt from "./format.js";

const CARDS = [
  { field: "totalErrors", label: "Total errors", format: fmt.count },
  { field: "uniqueErrors", label: "Unique errors", format: fmt.count },
  { field: "affectedUsers", label: "Affected users", format: fmt.count },
  { field: "affectedAgents", label: "Affected agents", format: fmt.count },
  {
    field: "errorRate",
    label: "Error rate",
    format: fmt.percent,
    note: (o) => ({ field: "errorRateChange", value: o.errorRateChange, text: changeText(o.errorRateChange) }),
  },
  { field: "criticalErrorRate", label: "Critical rate", format: fmt.percent },
  { field: "userImpact", label: "User impact", format: fmt.percent, hint: "of active users" },
  { field: "systemImpact", label: "System impact", format: fmt.text, badge: true },
  { field: "estimatedRevenueLoss", label: "Est. revenue loss", format: fmt.money, hint: "credits × price" },
  { field: "avgRecoveryTime", label: "Avg recovery time", format: fmt.seconds },
  { field: "autoRecoveryRate", label: "Auto-recovery rate", format: fmt.percent },
  { field: "manualInterventions", label: "Manual interventions", format: fmt.count },
];

function changeText(change) {
  if (fmt.isMissing(change)) return `change: ${fmt.NO_DATA}`;
  const arrow = change > 0 ? "▲" : change < 0 ? "▼" : "=";
  return `${arrow} ${fmt.points(change)} vs previous`;
}

function raw(value) {
  return fmt.isMissing(value) ? "null" : String(value);
}

export function renderOverview(list, overview) {
  const cards = CARDS.map((card) => {
    const value = overview?.[card.field];
    const shown = card.format(value);
    const valueClass = ["value", fmt.isMissing(value) && "no-data", card.badge && !fmt.isMissing(value) && `badge sev-${value}`];
    const note = card.note?.(overview ?? {});
    return h(
      "li",
      { class: "card", "data-field": card.field },
      h("span", { class: "label", id: `card-${card.field}` }, card.label),
      h("span", { class: valueClass, "data-value": raw(value), "aria-describedby": `card-${card.field}` }, shown),
      note
        ? h(
            "span",
            {
              class: ["note", note.value > 0 && "up", note.value < 0 && "down"],
              "data-field": note.field,
              "data-value": raw(note.value),
            },
            note.text,
          )
        : card.hint && h("span", { class: "note muted" }, card.hint),
    );
  });
  fill(list, cards);
  list.setAttribute("aria-busy", "false");
}
