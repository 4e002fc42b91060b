// The timeline as hand-built SVG: a bar per bucket (critical occurrences darker), spikes marked as bands that
// are buttons (click, Enter or Space narrows the error list to the spike's window). A list of the spikes under
// the chart offers the same action to anyone who does not use the chart.

import { fill, h, svg } from "./dom.js";
import * as fmt from "./format.js";

const BAR = 10;
const HEIGHT = 100;
const BUCKET_MS = { "1h": 300_000, "24h": 3_600_000, "7d": 3_600_000, "30d": 86_400_000 };

function spikeLabel(spike, causes) {
  const cause = causes.get(spike.primaryCause);
  return (
    `Spike ${fmt.dateTime(spike.startTime)} to ${fmt.dateTime(spike.endTime)}: ` +
    `${fmt.count(spike.totalErrors)} errors, peak ${fmt.count(spike.peakErrors)}` +
    (cause ? `, mostly ${cause}` : "") +
    (spike.resolved ? " (ended)" : " (ongoing)")
  );
}

function bucketsOf(points, spike, bucketMs) {
  const start = Date.parse(spike.startTime);
  const end = Date.parse(spike.endTime);
  const inside = [];
  points.forEach((p, i) => {
    const t = Date.parse(p.timestamp);
    if (t + bucketMs > start && t < end) inside.push(i);
  });
  return inside;
}

/**
 * causes: errorId -> a short name (type) for the spikes' primary cause.
 * active: the spike currently narrowing the list (its startTime), or null.
 */
export function renderTimeline({ chart, spikesList, patternsList }, timeline, { timeframe, causes, active, onSpike }) {
  const points = timeline?.errorsByTime ?? [];
  const spikes = timeline?.spikes ?? [];
  const bucketMs = BUCKET_MS[timeframe] ?? 3_600_000;
  const max = Math.max(1, ...points.map((p) => p.count ?? 0));
  const total = points.reduce((sum, p) => sum + (p.count ?? 0), 0);
  const width = Math.max(1, points.length) * BAR;

  const bands = spikes.map((spike) => {
    const inside = bucketsOf(points, spike, bucketMs);
    if (!inside.length) return null;
    const first = inside[0];
    const last = inside[inside.length - 1];
    const label = spikeLabel(spike, causes);
    const choose = () => onSpike(spike);
    return svg(
      "g",
      {
        class: ["spike", active === spike.startTime && "active"],
        role: "button",
        tabindex: "0",
        "aria-label": `${label}. Show the errors of this spike.`,
        "data-start": spike.startTime,
        onclick: choose,
        onkeydown: (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            choose();
          }
        },
      },
      svg("title", {}, label),
      svg("rect", { class: "spike-band", x: first * BAR, y: 0, width: (last - first + 1) * BAR, height: HEIGHT }),
      svg("rect", { class: "spike-mark", x: first * BAR, y: 0, width: (last - first + 1) * BAR, height: 4 }),
    );
  });

  const bars = points.map((p, i) => {
    const height = ((p.count ?? 0) / max) * (HEIGHT - 8);
    const critical = ((p.criticalCount ?? 0) / max) * (HEIGHT - 8);
    const tip = `${fmt.dateTime(p.timestamp)}: ${fmt.count(p.count)} errors, ${fmt.count(p.criticalCount)} critical, ${fmt.count(p.uniqueErrors)} unique`;
    return svg(
      "g",
      { class: "bucket" },
      svg("title", {}, tip),
      svg("rect", { class: "hit", x: i * BAR, y: 0, width: BAR, height: HEIGHT }),
      svg("rect", { class: "bar", x: i * BAR + 1, y: HEIGHT - height, width: BAR - 2, height }),
      critical > 0 && svg("rect", { class: "bar-critical", x: i * BAR + 1, y: HEIGHT - critical, width: BAR - 2, height: critical }),
    );
  });

  const graphic = svg(
    "svg",
    {
      class: "chart",
      viewBox: `0 0 ${width} ${HEIGHT}`,
      preserveAspectRatio: "none",
      role: "group",
      "aria-label": `Errors over time: ${fmt.count(total)} in ${points.length} buckets, ${spikes.length} spikes`,
    },
    bars,
    bands,
  );
  const first = points[0]?.timestamp;
  const middle = points[Math.floor(points.length / 2)]?.timestamp;
  const last = points[points.length - 1]?.timestamp;
  fill(
    chart,
    h("div", { class: "chart-scale muted", "aria-hidden": "true" }, `max ${fmt.count(max)} per bucket`),
    graphic,
    h(
      "div",
      { class: "axis muted", "aria-hidden": "true" },
      h("span", {}, first ? fmt.shortTime(first, timeframe) : ""),
      h("span", {}, middle ? fmt.shortTime(middle, timeframe) : ""),
      h("span", {}, last ? fmt.shortTime(last, timeframe) : ""),
    ),
    total === 0 && h("p", { class: "empty" }, "No errors in this timeframe."),
  );

  fill(
    spikesList,
    spikes.length
      ? spikes.map((spike) =>
          h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: ["link", active === spike.startTime && "active"],
                "aria-pressed": active === spike.startTime ? "true" : "false",
                "data-start": spike.startTime,
                onclick: () => onSpike(spike),
              },
              spikeLabel(spike, causes),
            ),
          ),
        )
      : h("li", { class: "muted" }, "No spikes in this timeframe."),
  );

  const patterns = timeline?.patterns ?? [];
  fill(
    patternsList,
    patterns.length
      ? patterns.map((p) =>
          h(
            "li",
            {},
            h("strong", {}, p.pattern),
            ` — ${p.correlation} · ${fmt.count(p.frequency)} times · last ${fmt.timeAgo(p.lastOccurrence)}`,
          ),
        )
      : h("li", { class: "muted" }, "No patterns detected."),
  );
}
