// The error list: filters, sort (descending, as the API sorts), keyset pages, keyboard navigation (arrow keys,
// Home/End move between errors; Enter opens one) and the rows a live refresh brought highlighted.

import { announce, fill, h } from "./dom.js";
import * as fmt from "./format.js";
import { errorListParams, NO_FILTERS } from "./scope.js";

export function badge(kind, value) {
  return h("span", { class: ["badge", `${kind}-${value}`] }, value);
}

export function createErrorList({ api, elements, onSelect, onAuthFailure }) {
  const { rows, count, prev, next, pageLabel, table, windowBox, windowLabel } = elements;
  const state = {
    timeframe: "24h",
    severity: "all",
    filters: { ...NO_FILTERS },
    window: null, // { start, end, label } of a spike
    cursors: [null],
    page: 0,
    nextCursor: null,
    items: [],
    known: null, // ids shown before this refresh, to mark the new ones; null after a change of filters
    fresh: new Set(), // ids that live refreshes brought since the filters last changed (marked "new here")
    selected: null,
    generation: 0,
    shown: false,
  };

  function params() {
    return errorListParams({
      timeframe: state.timeframe,
      severity: state.severity,
      filters: state.filters,
      window: state.window,
      cursor: state.cursors[state.page],
    });
  }

  /** `pending`: the bootstrap's read of this very page, when there is one. */
  async function load({ live = false, pending = null } = {}) {
    const generation = ++state.generation;
    rows.setAttribute("aria-busy", "true");
    let page;
    try {
      page = await (pending ?? api.get("/errors", params()));
    } catch (error) {
      if (generation !== state.generation) return;
      rows.setAttribute("aria-busy", "false");
      if (error.status === 401) onAuthFailure(error);
      fill(rows, h("tr", {}, h("td", { colspan: 6, class: "empty" }, `The errors could not be loaded: ${error.message}`)));
      throw error;
    }
    if (generation !== state.generation) return;
    const fresh = live && state.known ? page.items.filter((e) => !state.known.has(e.errorId)).map((e) => e.errorId) : [];
    if (!live) state.fresh = new Set();
    for (const id of fresh) state.fresh.add(id);
    state.items = page.items;
    state.nextCursor = page.nextCursor;
    state.known = new Set([...(live && state.known ? state.known : []), ...page.items.map((e) => e.errorId)]);
    render(new Set(fresh));
    if (fresh.length) announce(`${fresh.length} new ${fresh.length === 1 ? "error" : "errors"} in the list`);
    if (!state.shown) {
      state.shown = true;
      performance.mark("list-shown");
      document.body.dataset.list = "ready";
    }
  }

  /** `arrived`: the ids this very refresh brought (highlighted once). */
  function render(arrived) {
    const focusedId = rows.contains(document.activeElement) ? document.activeElement.closest("tr")?.dataset.id : null;
    if (!state.items.length) {
      fill(rows, h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No errors match these filters.")));
    } else {
      const active = state.items.some((e) => e.errorId === (focusedId ?? state.selected))
        ? (focusedId ?? state.selected)
        : state.items[0].errorId;
      fill(rows, state.items.map((e) => row(e, e.errorId === active, state.fresh.has(e.errorId), arrived.has(e.errorId))));
    }
    rows.setAttribute("aria-busy", "false");
    count.textContent = `${state.items.length}${state.nextCursor ? "+" : ""} on this page`;
    prev.disabled = state.page === 0;
    next.disabled = !state.nextCursor;
    pageLabel.textContent = `Page ${state.page + 1}`;
    for (const th of table.querySelectorAll("th[data-sort]")) {
      th.setAttribute("aria-sort", th.dataset.sort === state.filters.sort ? "descending" : "none");
    }
    windowBox.hidden = !state.window;
    windowLabel.textContent = state.window ? state.window.label : "";
    if (focusedId) rows.querySelector(`tr[data-id="${CSS.escape(focusedId)}"] button`)?.focus();
  }

  function row(e, tabStop, fresh, arrived) {
    const selected = e.errorId === state.selected;
    return h(
      "tr",
      {
        "data-id": e.errorId,
        class: [selected && "selected", fresh && "fresh", arrived && "arrived"],
        "aria-selected": selected ? "true" : "false",
      },
      h("td", {}, badge("sev", e.severity)),
      h(
        "td",
        { class: "title" },
        h(
          "button",
          { type: "button", class: "row-button", tabindex: tabStop ? "0" : "-1", onclick: () => select(e.errorId) },
          e.type || "(no type)",
        ),
        h("span", { class: "message" }, e.message),
        e.culprit && h("span", { class: "culprit muted" }, e.culprit),
        fresh && h("span", { class: "badge fresh-mark" }, "new here"),
      ),
      h("td", {}, badge("status", e.status)),
      h("td", { class: "num" }, fmt.count(e.occurrences)),
      h("td", { class: "num col-users" }, fmt.count(e.impact?.usersAffected)),
      h("td", {}, h("time", { datetime: e.lastSeen, title: fmt.dateTime(e.lastSeen) }, fmt.timeAgo(e.lastSeen))),
    );
  }

  function buttons() {
    return [...rows.querySelectorAll("button.row-button")];
  }

  function moveFocus(to) {
    const all = buttons();
    if (!all.length) return;
    const target = all[Math.max(0, Math.min(all.length - 1, to))];
    for (const b of all) b.tabIndex = b === target ? 0 : -1;
    target.focus();
  }

  rows.addEventListener("keydown", (event) => {
    const all = buttons();
    const at = all.indexOf(document.activeElement);
    if (at < 0) return;
    const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: all.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      moveFocus(moves[event.key]);
    }
  });

  function select(id) {
    state.selected = id;
    for (const tr of rows.querySelectorAll("tr[data-id]")) {
      const on = tr.dataset.id === id;
      tr.classList.toggle("selected", on);
      tr.setAttribute("aria-selected", on ? "true" : "false");
    }
    onSelect(id);
  }

  function restart({ pending = null } = {}) {
    state.cursors = [null];
    state.page = 0;
    state.known = null;
    return load({ pending });
  }

  prev.addEventListener("click", () => {
    if (state.page === 0) return;
    state.page -= 1;
    state.known = null;
    load().catch(() => {});
  });
  next.addEventListener("click", () => {
    if (!state.nextCursor) return;
    state.cursors[state.page + 1] = state.nextCursor;
    state.page += 1;
    state.known = null;
    load().catch(() => {});
  });

  return {
    state,
    load,
    restart,
    setScope({ timeframe, severity }) {
      state.timeframe = timeframe;
      state.severity = severity;
      state.window = null;
    },
    setFilter(name, value) {
      state.filters[name] = value;
    },
    setWindow(window) {
      state.window = window;
    },
    /** Marks `id` selected (or none) without opening it again. */
    mark(id) {
      state.selected = id;
      for (const tr of rows.querySelectorAll("tr[data-id]")) {
        const on = tr.dataset.id === id;
        tr.classList.toggle("selected", on);
        tr.setAttribute("aria-selected", on ? "true" : "false");
      }
    },
    focusRow(id) {
      const button = rows.querySelector(`tr[data-id="${CSS.escape(id)}"] button`) ?? buttons()[0];
      if (button) {
        for (const b of buttons()) b.tabIndex = b === button ? 0 : -1;
        button.focus();
      }
    },
    /** The list's copy of an error after an action changed it. */
    update(item) {
      const at = state.items.findIndex((e) => e.errorId === item.errorId);
      if (at >= 0) {
        state.items[at] = item;
        render(new Set());
      }
    },
  };
}
