// The API key: asked for once per tab and kept in sessionStorage only (gone when the tab closes; never in
// localStorage, a cookie or a URL).

export function createAuth({ workspace, enabled }) {
  const slot = `otel-errors.api-key.${workspace}`;
  return {
    enabled,
    key: () => (enabled ? sessionStorage.getItem(slot) : null),
    save: (secret) => sessionStorage.setItem(slot, secret),
    forget: () => sessionStorage.removeItem(slot),
  };
}

/** Shows the key dialog until a key is submitted; resolves with it. */
export function askForKey(message) {
  const dialog = document.getElementById("key-dialog");
  const form = document.getElementById("key-form");
  const input = document.getElementById("key-input");
  const error = document.getElementById("key-error");
  error.hidden = !message;
  error.textContent = message ?? "";
  input.value = "";
  return new Promise((resolve) => {
    const submitted = (event) => {
      event.preventDefault();
      const secret = input.value.trim();
      if (!secret) return;
      form.removeEventListener("submit", submitted);
      dialog.removeEventListener("cancel", keepOpen);
      dialog.close();
      resolve(secret);
    };
    // Without a key the page has nothing to show: Escape does not dismiss the dialog.
    const keepOpen = (event) => event.preventDefault();
    form.addEventListener("submit", submitted);
    dialog.addEventListener("cancel", keepOpen);
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
}
