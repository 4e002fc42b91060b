// The sections read from the error-tracking object besides the cards and the timeline: correlations (shown
// when no error is selected), top errors, categories and recovery analysis.

import { fill, h, svg } from "./dom.js";
import * as fmt from "./format.js";
import { badge } from "./list.js";

function table(caption, head, rows, empty) {
  if (rows === null || rows === undefined) return h("p", { class: "muted" }, `${caption}: ${fmt.NO_DATA}`);
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "compact" },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, head.map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))),
    ),
  );
}

function errorLink(id, label, onSelect) {
  return h("button", { type: "button", class: "link", "data-error-id": id, onclick: () => onSelect(id) }, label);
}

function people(title, items, empty, describe) {
  return h(
    "div",
    { class: "people-block" },
    h("h3", {}, title),
    items === null || items === undefined
      ? h("p", { class: "muted" }, fmt.NO_DATA)
      : items.length
        ? h("ul", { class: "people-list" }, items.map(describe))
        : h("p", { class: "muted" }, empty),
  );
}

export function renderCorrelations(body, correlations, onSelect) {
  const chains = correlations?.errorChains;
  fill(
    body,
    h("p", { class: "muted" }, "Select an error to see its details."),
    people("Agents", correlations?.agentCorrelation, "No agent had errors in this timeframe.", (a) =>
      h(
        "li",
        { "data-agent": a.agentId },
        h("div", { class: "who" }, h("strong", { title: a.agentId }, a.agentName || a.agentId), h("span", {}, `${fmt.percent(a.errorRate)} error rate`)),
        h("div", { class: "muted" }, `Types: ${a.errorTypes.join(", ") || fmt.NO_DATA}`),
        h("div", { class: "muted" }, `Common cause: ${fmt.text(a.commonCause)}`),
      ),
    ),
    people("Users", correlations?.userCorrelation, "No user had errors in this timeframe.", (u) =>
      h(
        "li",
        { "data-user": u.userId },
        h("div", { class: "who" }, h("strong", {}, u.userId), h("span", {}, `${fmt.count(u.frequency)} occurrences`)),
        h("div", { class: "muted" }, `Types: ${u.errorTypes.join(", ") || fmt.NO_DATA}`),
        h("div", { class: "muted" }, `Possible cause: ${fmt.text(u.possibleCause)}`),
      ),
    ),
    people("Error chains", chains, "No error chains found.", (c) =>
      h(
        "li",
        {},
        h("div", { class: "who" }, errorLink(c.rootError, c.rootError, onSelect), h("span", {}, `impact ${fmt.number(c.totalImpact)}`)),
        h("div", { class: "muted" }, `Cascading: ${(c.cascadingErrors ?? []).join(", ") || fmt.NO_DATA}`),
        h("div", { class: "muted" }, `Preventable: ${fmt.isMissing(c.preventable) ? fmt.NO_DATA : c.preventable ? "yes" : "no"}`),
      ),
    ),
  );
}

export function renderTopErrors(box, top, onSelect) {
  const list = (title, items, describe) =>
    h(
      "div",
      { class: "top-list" },
      h("h3", {}, title),
      items === null || items === undefined
        ? h("p", { class: "muted" }, fmt.NO_DATA)
        : items.length
          ? h("ol", {}, items.map((item) => h("li", {}, errorLink(item.errorId, item.type, onSelect), h("span", { class: "muted" }, ` ${describe(item)}`))))
          : h("p", { class: "muted" }, "None in this timeframe."),
    );
  fill(
    box,
    list("By occurrences", top?.byOccurrence, (i) => `${fmt.count(i.count)} · last ${fmt.timeAgo(i.lastSeen)}`),
    list("By impact", top?.byImpact, (i) => `${fmt.count(i.usersAffected)} users · ${fmt.number(i.creditsLost)} credits`),
    list("Unresolved", top?.unresolved, (i) => `priority ${fmt.count(i.priority)} · ${fmt.number(i.age)} h old`),
  );
}

function bars(title, entries) {
  const total = entries.reduce((sum, [, n]) => sum + (n ?? 0), 0);
  return h(
    "div",
    { class: "bars" },
    h("h3", {}, title),
    h(
      "ul",
      {},
      entries.map(([label, n, cls]) =>
        h(
          "li",
          {},
          h("span", { class: "bar-label" }, label),
          svg(
            "svg",
            { viewBox: "0 0 100 10", preserveAspectRatio: "none", "aria-hidden": "true" },
            svg("rect", { class: cls, x: 0, y: 0, height: 10, width: (100 * (n ?? 0)) / Math.max(total, 1) }),
          ),
          h("span", { class: "num" }, fmt.count(n)),
        ),
      ),
    ),
  );
}

export function renderCategories(box, categories) {
  const sev = categories?.bySeverity ?? {};
  const src = categories?.bySource ?? {};
  const types = categories?.byType;
  fill(
    box,
    bars("By severity", ["critical", "high", "medium", "low"].map((s) => [s, sev[s], `sev-${s}`])),
    bars("By source", ["agent", "api", "database", "integration", "system"].map((s) => [s, src[s], "source"])),
    table(
      "By type",
      ["Type", "Category", "Count", "Share", "Trend", "Severity"],
      types?.map((t) => [t.type, t.category, fmt.count(t.count), fmt.percent(t.percentage), t.trend, badge("sev", t.severity)]),
      "No errors in this timeframe.",
    ),
  );
}

export function renderRecovery(box, recovery, overview) {
  const times = recovery?.recoveryTimes;
  const row = (label, stats) => [label, fmt.seconds(stats?.avg), fmt.seconds(stats?.median), fmt.seconds(stats?.p95)];
  fill(
    box,
    h(
      "dl",
      { class: "facts" },
      h("div", { class: "fact" }, h("dt", {}, "Average recovery time"), h("dd", {}, fmt.seconds(overview?.avgRecoveryTime))),
      h("div", { class: "fact" }, h("dt", {}, "Auto-recovery rate"), h("dd", {}, fmt.percent(overview?.autoRecoveryRate))),
      h("div", { class: "fact" }, h("dt", {}, "Manual interventions"), h("dd", {}, fmt.count(overview?.manualInterventions))),
    ),
    table("Recovery times", ["", "Average", "Median", "p95"], times ? [row("Automatic", times.automatic), row("Manual", times.manual)] : null, ""),
    table(
      "Recovery methods",
      ["Method", "Success rate", "Average time", "Used"],
      recovery?.recoveryMethods?.map((m) => [m.method, fmt.percent(m.successRate), fmt.seconds(m.avgTime), fmt.count(m.usageCount)]),
      "No recovery methods recorded.",
    ),
    table(
      "Failed recoveries",
      ["Error", "Methods tried", "Reason"],
      recovery?.failedRecoveries?.map((f) => [f.errorId, (f.attemptedMethods ?? []).join(", "), f.failureReason]),
      "No failed recoveries.",
    ),
  );
}
