// The demo host page's bootstrap (external: the CSP allows no inline script). The visitor's token
// comes from `?token=…`; it is then kept in this tab's sessionStorage and taken out of the address
// bar, so a reload still has it but the address does not show it. Then the widget starts.
(() => {
  const KEY = "acme-shop.livechat.token";
  const note = document.getElementById("widget-note");
  const params = new URLSearchParams(location.search);
  let token = params.get("token")?.trim() || "";
  if (token) {
    try {
      sessionStorage.setItem(KEY, token);
    } catch {
      // Not kept: a reload then needs the token in the address again.
    }
    params.delete("token");
    const query = params.toString();
    history.replaceState(
      null,
      "",
      `${location.pathname}${query ? `?${query}` : ""}${location.hash}`,
    );
  } else {
    try {
      token = sessionStorage.getItem(KEY) || "";
    } catch {
      token = "";
    }
  }
  if (!globalThis.LiveChat) {
    note.textContent = "The chat widget (/widget.js) did not load.";
    note.hidden = false;
    return;
  }
  if (!token) {
    note.textContent =
      "No chat token: open this page from the engine's landing page (“Try it”), or add ?token=<a user JWT> to its address.";
    note.hidden = false;
    return;
  }
  globalThis.LiveChat.init({ token });
})();
