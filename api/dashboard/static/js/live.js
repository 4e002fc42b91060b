// Live updates. Until the API streams changes (server-sent events), a timer calls `refresh` every `seconds`
// while the tab is visible; a hidden tab skips its turns and refreshes once when it is shown again.
// A stream replaces the timer behind the same interface: `startLive({refresh, ...})` returning `{stop}`.

export function startLive({ seconds, refresh, onStatus }) {
  let missed = false;
  let busy = false;

  async function turn() {
    if (document.hidden) {
      missed = true;
      onStatus?.("paused while the tab is hidden");
      return;
    }
    if (busy) return;
    busy = true;
    try {
      await refresh();
      onStatus?.(`live · updated ${new Date().toLocaleTimeString()}`);
    } catch (error) {
      onStatus?.(`live · update failed: ${error.message}`);
    } finally {
      busy = false;
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
  onStatus?.(`live · refreshes every ${seconds} s`);
  return {
    stop() {
      window.clearInterval(timer);
      document.removeEventListener("visibilitychange", visibility);
    },
  };
}
