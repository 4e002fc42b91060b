// The details panel of one error: what it is, when and how often, its stack trace (in-app frames highlighted,
// library frames folded), its chain, context and metadata, impact, recent occurrences, and the actions the
// key's role allows. Escape closes it and gives the focus back to the list.

import { announce, fill, h } from "./dom.js";
import * as fmt from "./format.js";
import { badge } from "./list.js";

// The API's status workflow (it answers 409 to anything else): the buttons offered from each status.
const TRANSITIONS = {
  new: ["acknowledged", "investigating", "ignored", "resolved"],
  acknowledged: ["new", "investigating", "ignored", "resolved"],
  investigating: ["new", "acknowledged", "ignored", "resolved"],
  ignored: ["new"],
  resolved: ["new"],
};
const ACTION_LABEL = { acknowledged: "Acknowledge", investigating: "Investigate", ignored: "Ignore", resolved: "Resolve…" };
const BACK_TO_NEW = { ignored: "Un-ignore", resolved: "Reopen" };

function fact(label, value, attrs = {}) {
  return h("div", { class: "fact" }, h("dt", {}, label), h("dd", attrs, value));
}

function when(iso) {
  return h("time", { datetime: iso ?? "", title: fmt.dateTime(iso) }, fmt.timeAgo(iso));
}

function frameLine(frame) {
  const where = frame.module || frame.filename || "";
  const line = fmt.isMissing(frame.lineno) ? "" : `:${frame.lineno}${fmt.isMissing(frame.colno) ? "" : `:${frame.colno}`}`;
  return h(
    "li",
    { class: ["frame", frame.inApp ? "in-app" : "library"] },
    h("code", { class: "function" }, frame.function || "?"),
    where && h("span", { class: "where" }, ` ${where}${line}`),
    frame.inApp && h("span", { class: "badge app-mark" }, "app"),
  );
}

/** In-app frames one by one; each run of library frames folded into one disclosure. */
export function renderFrames(frames) {
  const parts = [];
  let run = [];
  const flush = () => {
    if (!run.length) return;
    parts.push(
      h(
        "li",
        { class: "library-run" },
        h(
          "details",
          {},
          h("summary", {}, `${run.length} library ${run.length === 1 ? "frame" : "frames"}`),
          h("ol", { class: "frames" }, run.map(frameLine)),
        ),
      ),
    );
    run = [];
  };
  for (const frame of frames) {
    if (frame.inApp) {
      flush();
      parts.push(frameLine(frame));
    } else {
      run.push(frame);
    }
  }
  flush();
  return h("ol", { class: "frames", "aria-label": "Stack frames, most recent call first" }, parts);
}

function json(value) {
  return h("pre", { class: "json" }, JSON.stringify(value ?? {}, null, 2));
}

function section(title, open, ...body) {
  return h("details", { class: "section", open }, h("summary", {}, h("h3", {}, title)), ...body);
}

export function createDetails({ api, panel, aside, onChanged, onClosed, onAuthFailure }) {
  let current = null; // the error shown (details), or null
  let role = "viewer";
  let actor = "";
  let generation = 0;
  let recent = null; // the error's recent occurrences, kept while actions re-render the panel

  async function open(errorId) {
    const mine = ++generation;
    panel.hidden = false;
    aside.hidden = true;
    panel.setAttribute("aria-busy", "true");
    fill(panel, h("p", { class: "muted" }, "Loading the error…"));
    let details, occurrences;
    try {
      [details, occurrences] = await Promise.all([
        api.get(`/errors/${encodeURIComponent(errorId)}`),
        api.get(`/errors/${encodeURIComponent(errorId)}/occurrences`, { limit: 5 }).catch(() => null),
      ]);
    } catch (error) {
      if (mine !== generation) return;
      if (error.status === 401) onAuthFailure(error);
      fill(panel, h("p", { class: "problem", role: "alert" }, `The error could not be loaded: ${error.message}`));
      panel.setAttribute("aria-busy", "false");
      return;
    }
    if (mine !== generation) return;
    current = details;
    render(occurrences?.items ?? null);
    panel.setAttribute("aria-busy", "false");
    panel.querySelector("#details-title")?.focus();
  }

  function close() {
    generation += 1;
    const closed = current?.errorId ?? null;
    current = null;
    panel.hidden = true;
    aside.hidden = false;
    fill(panel);
    onClosed(closed);
  }

  async function act(request, done) {
    const status = panel.querySelector(".action-status");
    for (const b of panel.querySelectorAll(".actions button")) b.disabled = true;
    try {
      const item = await request();
      current = { ...current, ...item };
      render(null, true);
      announce(done(item));
      panel.querySelector(".action-status").textContent = done(item);
      onChanged(item);
    } catch (error) {
      if (error.status === 401) onAuthFailure(error);
      for (const b of panel.querySelectorAll(".actions button")) b.disabled = false;
      status.textContent = `Not changed: ${error.message}`;
      status.classList.add("problem");
    }
  }

  function setStatus(target) {
    const id = current.errorId;
    act(
      () => api.post(`/errors/${encodeURIComponent(id)}/status`, { status: target }),
      (item) => `Status changed to ${item.status}`,
    );
  }

  function resolveForm(actions) {
    const form = h(
      "form",
      { class: "resolve-form", "aria-label": "Resolve this error" },
      h("label", { for: "resolution" }, "Resolution"),
      h("textarea", { id: "resolution", name: "resolution", rows: 3, required: true, maxlength: 4000, placeholder: "Describe the resolution…" }),
      h("label", { for: "root-cause" }, "Root cause (optional)"),
      h("input", { id: "root-cause", name: "rootCause", maxlength: 4000 }),
      h("label", { for: "resolved-by" }, "Resolved by"),
      h("input", { id: "resolved-by", name: "resolvedBy", required: true, maxlength: 200, value: actor }),
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "submit", class: "resolve" }, "Confirm resolution"),
        h("button", { type: "button", class: "secondary", onclick: () => render(null, true) }, "Cancel"),
      ),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const id = current.errorId;
      const body = {
        resolvedBy: String(data.get("resolvedBy")).trim(),
        resolution: String(data.get("resolution")).trim(),
      };
      const rootCause = String(data.get("rootCause")).trim();
      if (rootCause) body.rootCause = rootCause;
      if (!body.resolution || !body.resolvedBy) return;
      actor = body.resolvedBy;
      act(() => api.post(`/errors/${encodeURIComponent(id)}/resolve`, body), () => "Resolved");
    });
    fill(actions, form);
    form.querySelector("textarea").focus();
  }

  function actions() {
    const box = h("div", { class: "actions" });
    const note = h("p", { class: "action-status", role: "status" });
    if (role === "viewer") {
      return h("div", { class: "actions-box" }, h("p", { class: "muted" }, "This key is read-only (viewer): it cannot change statuses."), note);
    }
    const buttons = (TRANSITIONS[current.status] ?? []).map((target) => {
      const label = target === "new" ? (BACK_TO_NEW[current.status] ?? "Mark as new") : ACTION_LABEL[target];
      const onclick = target === "resolved" ? () => resolveForm(box) : () => setStatus(target);
      return h("button", { type: "button", class: [target === "resolved" ? "resolve" : "secondary"], "data-action": target, onclick }, label);
    });
    fill(box, buttons);
    return h("div", { class: "actions-box" }, box, note);
  }

  function render(occurrences, keepOccurrences = false) {
    const e = current;
    if (!e) return;
    if (keepOccurrences) occurrences = recent;
    recent = occurrences;
    const impact = e.impact ?? {};
    const resolution = e.resolution;
    const chains = Array.isArray(e.chains) ? e.chains : null;
    fill(
      panel,
      h(
        "div",
        { class: "details-head" },
        h("h2", { id: "details-title", tabindex: "-1" }, "Error details"),
        h("div", { class: "badges" }, badge("sev", e.severity), badge("status", e.status)),
        h("button", { type: "button", class: "close secondary", "aria-label": "Close the details", onclick: close }, "×"),
      ),
      h("p", { class: "type" }, h("code", {}, e.type || "(no type)")),
      h("p", { class: "message", "data-field": "message" }, e.message),
      e.culprit && h("p", { class: "culprit muted" }, e.culprit),
      h(
        "dl",
        { class: "facts" },
        fact("First seen", when(e.firstSeen)),
        fact("Last seen", when(e.lastSeen)),
        fact("Occurrences", fmt.count(e.occurrences), { "data-field": "occurrences" }),
        fact("Users affected", fmt.count(impact.usersAffected), { "data-field": "usersAffected" }),
        fact("Category", fmt.text(e.category)),
        fact("Source", fmt.text(e.source)),
        e.regressedAt && fact("Regressed", when(e.regressedAt)),
      ),
      actions(),
      resolution &&
        h(
          "div",
          { class: "resolution" },
          h("h3", {}, "Resolution"),
          h("p", { "data-field": "resolution" }, resolution.resolution),
          h("p", { class: "muted" }, `by ${resolution.resolvedBy}, ${fmt.dateTime(resolution.resolvedAt)}`),
          resolution.rootCause && h("p", {}, h("strong", {}, "Root cause: "), resolution.rootCause),
          resolution.preventiveMeasures?.length
            ? h("ul", {}, resolution.preventiveMeasures.map((m) => h("li", {}, m)))
            : null,
        ),
      section(
        "Stack trace",
        true,
        e.frames?.length ? renderFrames(e.frames) : null,
        h(
          "details",
          { class: "raw", open: !e.frames?.length },
          h("summary", {}, "Raw stack trace"),
          h("pre", { class: "stack" }, e.stackTrace || e.samples?.[0]?.stackTrace || fmt.NO_DATA),
        ),
      ),
      section(
        "Exception chain",
        true,
        e.chain?.length
          ? h("ol", { class: "chain" }, e.chain.map((type, i) => h("li", {}, h("code", {}, type), i === e.chain.length - 1 && e.chain.length > 1 ? " (root cause)" : "")))
          : h("p", { class: "muted" }, "A single exception (no chain)."),
        chains === null
          ? null
          : chains.length
            ? h("ul", { class: "chains" }, chains.map((c) => h("li", {}, chainText(c))))
            : h("p", { class: "muted" }, "No cascading errors."),
      ),
      section("Context & metadata", false, json(e.context)),
      section(
        "Impact",
        true,
        h(
          "dl",
          { class: "facts" },
          fact("Affected executions", fmt.count(impact.executionsAffected)),
          fact("Credits lost", fmt.number(impact.creditsLost)),
          fact("Cascading failures", fmt.count(impact.cascadingFailures)),
          fact("Agents affected", fmt.count(impact.agentsAffected)),
        ),
        people("Recent users", e.affectedUsers),
        people("Recent agents", e.affectedAgents),
      ),
      section("Recent occurrences", false, occurrenceTable(occurrences)),
      section(
        "Grouping",
        false,
        h("p", {}, "Fingerprint ", h("code", {}, e.fingerprint), ` (${e.fingerprintConfig})`),
        e.grouping ? json(e.grouping) : null,
      ),
    );
  }

  function chainText(chain) {
    if (chain && typeof chain === "object") {
      const root = chain.rootError ?? chain.root ?? "";
      const rest = Array.isArray(chain.cascadingErrors) ? chain.cascadingErrors.join(" → ") : "";
      return rest ? `${root} → ${rest}` : JSON.stringify(chain);
    }
    return String(chain);
  }

  function people(title, names) {
    return h(
      "div",
      { class: "people" },
      h("h4", {}, title),
      names?.length ? h("ul", { class: "chips" }, names.map((n) => h("li", { class: "chip" }, n))) : h("p", { class: "muted" }, fmt.NO_DATA),
    );
  }

  function occurrenceTable(items) {
    if (items === null) return h("p", { class: "muted" }, fmt.NO_DATA);
    if (!items.length) return h("p", { class: "muted" }, "No occurrences kept.");
    return h(
      "ul",
      { class: "occurrences" },
      items.map((o) =>
        h(
          "li",
          {},
          h("div", {}, when(o.occurredAt), " · ", h("span", { class: "span-name" }, o.spanName || o.origin)),
          h("div", { class: "muted" }, `user ${fmt.text(o.userId)} · agent ${fmt.text(o.agentId)} · trace ${o.traceId}`),
          h("div", { class: "message" }, o.message),
          Object.keys(o.attributes ?? {}).length ? h("details", {}, h("summary", {}, "Attributes"), json(o.attributes)) : null,
        ),
      ),
    );
  }

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || panel.hidden || document.querySelector("dialog[open]")) return;
    event.preventDefault();
    if (event.target instanceof Element && event.target.closest(".resolve-form")) {
      // Escape in the resolve form cancels the form first; the next one closes the panel.
      render(null, true);
      panel.querySelector("button[data-action='resolved']")?.focus();
      return;
    }
    close();
  });

  return {
    open,
    close,
    get current() {
      return current;
    },
    setIdentity(who) {
      role = who.role;
      if (!actor) actor = who.keyId === "anonymous" ? "" : who.keyId;
      if (current) render(null, true);
    },
  };
}
