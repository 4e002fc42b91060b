// Live updates: the workspace's event stream (new errors, regressions, alerts, incidents) triggers a refresh
// within a moment of the event; a timer also refreshes every `seconds` (figures such as counts change without an
// event), and is all there is when the stream is not available. A hidden tab skips its turns and refreshes once
// when it is shown again. A dropped stream reconnects with Last-Event-ID after a growing pause.

const STREAM_EVENTS = /^(error|alert|incident)\./;

export function startLive({ seconds, refresh, onStatus, stream }) {
  let missed = false;
  let busy = false;
  let again = false;
  let stopped = false;
  let streaming = false;
  let soon = null;
  let controller = null;

  const idle = () => (streaming ? "live · streaming" : `live · refreshes every ${seconds} s`);

  async function turn() {
    if (document.hidden) {
      missed = true;
      onStatus?.("paused while the tab is hidden");
      return;
    }
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      await refresh();
      onStatus?.(`${idle()} · updated ${new Date().toLocaleTimeString()}`);
    } catch (error) {
      onStatus?.(`live · update failed: ${error.message}`);
    } finally {
      busy = false;
      if (again) {
        again = false;
        turn();
      }
    }
  }

  // Events come in bursts (an alert brings its incident): one refresh for a burst.
  function eventArrived() {
    if (soon === null) {
      soon = window.setTimeout(() => {
        soon = null;
        turn();
      }, 250);
    }
  }

  function handle(block, seen) {
    const fields = {};
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const at = line.indexOf(":");
      if (at < 0) continue;
      fields[line.slice(0, at)] = line.slice(at + 1).replace(/^ /, "");
    }
    if (fields.id) seen.last = fields.id;
    if (fields.event && STREAM_EVENTS.test(fields.event)) eventArrived();
  }

  async function listen() {
    const seen = { last: null };
    let pause = 1000;
    while (!stopped && stream) {
      controller = new AbortController();
      try {
        const response = await stream(seen.last, controller.signal);
        if (response.status === 404 || response.status === 401 || response.status === 403) return;
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        streaming = true;
        pause = 1000;
        onStatus?.(idle());
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut = buffer.indexOf("\n\n");
          while (cut >= 0) {
            handle(buffer.slice(0, cut), seen);
            buffer = buffer.slice(cut + 2);
            cut = buffer.indexOf("\n\n");
          }
        }
      } catch {
        if (stopped) return;
      }
      streaming = false;
      onStatus?.(`live · stream interrupted, refreshes every ${seconds} s`);
      await new Promise((resolve) => window.setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 30000);
    }
  }

  const timer = window.setInterval(turn, seconds * 1000);
  const visibility = () => {
    if (!document.hidden && missed) {
      missed = false;
      turn();
    }
  };
  document.addEventListener("visibilitychange", visibility);
  onStatus?.(idle());
  listen();
  return {
    stop() {
      stopped = true;
      controller?.abort();
      window.clearInterval(timer);
      if (soon !== null) window.clearTimeout(soon);
      document.removeEventListener("visibilitychange", visibility);
    },
  };
}
