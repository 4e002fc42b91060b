// The dashboard page: wires the filters, the sections, the key and the live refresh together. Every figure
// comes from the workspace's JSON API; the page's own HTML carries only the workspace id and whether
// authentication is on. `main.js` starts it, with the first reads already under way.

import { loadAlerts } from "./alerts.js";
import { askForKey } from "./auth.js";
import { renderOverview } from "./cards.js";
import { createDetails } from "./details.js";
import { announce } from "./dom.js";
import * as fmt from "./format.js";
import { createErrorList } from "./list.js";
import { startLive } from "./live.js";
import { renderCategories, renderCorrelations, renderRecovery, renderTopErrors } from "./panels.js";
import { trackingParams } from "./scope.js";
import { renderTimeline } from "./timeline.js";

const MIN_REFRESH_SECONDS = 2;

const $ = (id) => document.getElementById(id);

export function startDashboard({ api, auth, query, view, early }) {
  const body = document.body;
  // The bootstrap's reads, each taken once (a later read of the same kind asks the API again).
  const take = (name) => {
    const promise = early?.[name] ?? null;
    if (early) early[name] = null;
    return promise;
  };

  const state = {
    timeframe: view.timeframe,
    severity: view.severity,
    spike: null, // startTime of the spike narrowing the list
    tracking: null,
    trackingGeneration: 0,
    signingIn: null,
    shown: { cards: false, list: false },
  };
  const refreshSeconds = Math.max(
    MIN_REFRESH_SECONDS,
    Number(query.get("refresh")) || Number(body.dataset.refreshSeconds) || 15,
  );

  function showProblem(message) {
    const box = $("problem");
    box.hidden = !message;
    box.textContent = message ?? "";
  }

  function saveLocation() {
    const url = new URL(window.location.href);
    url.searchParams.set("timeframe", state.timeframe);
    url.searchParams.set("severity", state.severity);
    const selected = details.current?.errorId;
    if (selected) url.searchParams.set("error", selected);
    else url.searchParams.delete("error");
    window.history.replaceState(null, "", url);
  }

  function usable(part) {
    state.shown[part] = true;
    if (state.shown.cards && state.shown.list && !performance.getEntriesByName("usable").length) {
      performance.mark("usable");
      body.dataset.usable = "true";
    }
  }

  // -- the key ----------------------------------------------------------------------------------------------------

  async function identify() {
    const who = await (take("whoami") ?? api.get("/whoami"));
    const role = $("role");
    role.hidden = false;
    role.textContent = `role: ${who.role}`;
    role.dataset.role = who.role;
    body.dataset.role = who.role;
    $("sign-out").hidden = !auth.enabled;
    $("sign-in").hidden = true;
    details.setIdentity(who);
    return who;
  }

  function signIn(message) {
    if (!state.signingIn) {
      state.signingIn = (async () => {
        let problem = message;
        for (;;) {
          auth.save(await askForKey(problem));
          try {
            return await identify();
          } catch (error) {
            auth.forget();
            problem = error.status === 401 || error.status === 403 ? error.message : `The key could not be checked: ${error.message}`;
          }
        }
      })().finally(() => {
        state.signingIn = null;
      });
    }
    return state.signingIn;
  }

  function authFailed(error) {
    if (!auth.enabled || state.signingIn) return;
    auth.forget();
    signIn(error.message).then(() => loadAll());
  }

  // -- the sections -------------------------------------------------------------------------------------------------

  async function loadTracking() {
    const generation = ++state.trackingGeneration;
    $("cards").setAttribute("aria-busy", "true");
    let data;
    try {
      data = await (take("tracking") ?? api.get("/error-tracking", trackingParams(state)));
    } catch (error) {
      if (generation !== state.trackingGeneration) return;
      if (error.status === 401) authFailed(error);
      showProblem(`The overview could not be loaded: ${error.message}`);
      throw error;
    }
    if (generation !== state.trackingGeneration) return;
    showProblem(null);
    state.tracking = data;
    renderOverview($("cards"), data.overview);
    if (!state.shown.cards) {
      performance.mark("cards-shown");
      body.dataset.cards = "ready";
      usable("cards");
    }
    renderSpikes();
    renderCorrelations($("correlations-body"), data.correlations, select);
    renderTopErrors($("top-errors"), data.topErrors, select);
    renderCategories($("categories"), data.categories);
    renderRecovery($("recovery"), data.recovery, data.overview);
  }

  function causes() {
    const names = new Map();
    for (const e of state.tracking?.errors ?? []) names.set(e.errorId, e.type);
    for (const e of state.tracking?.topErrors?.byOccurrence ?? []) names.set(e.errorId, e.type);
    return names;
  }

  function renderSpikes() {
    renderTimeline(
      { chart: $("timeline"), spikesList: $("spikes"), patternsList: $("patterns") },
      state.tracking?.timeline,
      { timeframe: state.timeframe, causes: causes(), active: state.spike, onSpike: chooseSpike },
    );
  }

  function chooseSpike(spike) {
    if (state.spike === spike.startTime) {
      clearSpike();
      return;
    }
    state.spike = spike.startTime;
    list.setWindow({
      start: spike.startTime,
      end: spike.endTime,
      label: `Errors active during the spike of ${fmt.dateTime(spike.startTime)} – ${fmt.dateTime(spike.endTime)} (${fmt.count(spike.totalErrors)} occurrences).`,
    });
    renderSpikes();
    list.restart().then(() => announce("The list shows the errors of the spike."), () => {});
  }

  function clearSpike() {
    state.spike = null;
    list.setWindow(null);
    renderSpikes();
    list.restart().then(() => announce("The list shows the whole timeframe."), () => {});
  }

  function loadAll() {
    return Promise.allSettled([loadTracking(), list.restart(), loadAlerts(api, $("alerts"))]);
  }

  function refreshLive() {
    return Promise.all([loadTracking(), list.load({ live: true }), loadAlerts(api, $("alerts"))]);
  }

  // -- list and details ---------------------------------------------------------------------------------------------

  const list = createErrorList({
    api,
    elements: {
      rows: $("error-rows"),
      count: $("list-count"),
      prev: $("prev-page"),
      next: $("next-page"),
      pageLabel: $("page-label"),
      table: $("error-table"),
      windowBox: $("window"),
      windowLabel: $("window-label"),
    },
    onSelect: (id) => select(id),
    onAuthFailure: authFailed,
  });

  const details = createDetails({
    api,
    panel: $("details"),
    aside: $("correlations"),
    onChanged: (item) => {
      list.update(item);
      loadTracking().catch(() => {});
    },
    onClosed: (id) => {
      list.mark(null);
      saveLocation();
      if (id) list.focusRow(id);
    },
    onAuthFailure: authFailed,
  });

  function select(id) {
    list.mark(id);
    details.open(id).then(saveLocation);
    if (window.matchMedia("(max-width: 1023px)").matches) $("details").scrollIntoView({ block: "start" });
  }

  // -- controls -----------------------------------------------------------------------------------------------------

  function scopeChanged() {
    state.spike = null;
    list.setScope({ timeframe: state.timeframe, severity: state.severity });
    saveLocation();
    loadTracking().catch(() => {});
    list.restart().catch(() => {});
  }

  $("timeframe").value = state.timeframe;
  $("severity").value = state.severity;
  $("timeframe").addEventListener("change", (event) => {
    state.timeframe = event.target.value;
    scopeChanged();
  });
  $("severity").addEventListener("change", (event) => {
    state.severity = event.target.value;
    scopeChanged();
  });
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  $("list-filters").addEventListener("submit", (event) => event.preventDefault());

  for (const name of ["status", "category", "source", "sort"]) {
    $(name).addEventListener("change", (event) => {
      list.setFilter(name, event.target.value);
      list.restart().catch(() => {});
    });
  }
  let typing = null;
  $("q").addEventListener("input", (event) => {
    window.clearTimeout(typing);
    typing = window.setTimeout(() => {
      list.setFilter("q", event.target.value);
      list.restart().catch(() => {});
    }, 300);
  });
  for (const button of $("error-table").querySelectorAll("th button[data-sort]")) {
    button.addEventListener("click", () => {
      $("sort").value = button.dataset.sort;
      list.setFilter("sort", button.dataset.sort);
      list.restart().catch(() => {});
    });
  }
  $("window-clear").addEventListener("click", clearSpike);
  $("sign-in").addEventListener("click", () => signIn().then(loadAll));
  $("sign-out").addEventListener("click", () => {
    auth.forget();
    window.location.reload();
  });

  // -- start --------------------------------------------------------------------------------------------------------

  async function start() {
    list.setScope({ timeframe: state.timeframe, severity: state.severity });
    if (auth.enabled && !auth.key()) await signIn();
    const listed = list.restart({ pending: take("list") }).then(() => usable("list"));
    const who = identify().catch((error) => {
      if (error.status === 401) return signIn(error.message).then(loadAll);
      showProblem(`The key could not be checked: ${error.message}`);
    });
    await Promise.allSettled([loadTracking(), listed, who]);
    // After the cards and the list: nothing competes with their reads.
    loadAlerts(api, $("alerts"));
    const wanted = query.get("error");
    if (wanted && /^[0-9a-f-]{36}$/i.test(wanted)) select(wanted);
    startLive({
      seconds: refreshSeconds,
      refresh: refreshLive,
      stream: api.stream,
      onStatus: (text) => {
        $("live").textContent = text;
      },
    });
  }

  start();
}
