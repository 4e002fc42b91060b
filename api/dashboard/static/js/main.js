// The bootstrap: sends the page's first reads (overview, error list, the key's role) at once, while the rest of
// the dashboard's modules load, then hands them over. It imports only what building those requests needs.

import { createApi } from "./api.js";
import { createAuth } from "./auth.js";
import { errorListParams, trackingParams, viewFrom } from "./scope.js";

const body = document.body;
const workspace = body.dataset.workspace;
const auth = createAuth({ workspace, enabled: body.dataset.auth === "on" });
const api = createApi({ workspace, key: auth.key });
const query = new URL(window.location.href).searchParams;
const view = viewFrom(query);

// Without a key (authentication on, none entered yet) there is nothing to read until the dialog has one.
let early = null;
if (!auth.enabled || auth.key()) {
  const settle = (promise) => {
    promise.catch(() => {}); // handled by whoever takes it; never an unhandled rejection meanwhile
    return promise;
  };
  early = {
    tracking: settle(api.get("/error-tracking", trackingParams(view))),
    list: settle(api.get("/errors", errorListParams(view))),
    whoami: settle(api.get("/whoami")),
  };
}

const { startDashboard } = await import("./dashboard.js");
startDashboard({ api, auth, query, view, early });
