// Helpers shared by the user page and the agent console. Everything from the network is shown
// with textContent, never as HTML.

/** How long a sent message waits for the server's acknowledgement. */
export const ACK_TIMEOUT_MS = 15_000;

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** Shows the connection state in the status badge. */
export function setStatus(status, state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

/** The JWT's payload, for display only (the server does the real check). */
export function decodeToken(token) {
  const part = String(token).trim().split(".")[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(
      Math.ceil(part.length / 4) * 4,
      "=",
    );
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    return payload && typeof payload === "object" ? payload : null;
  } catch {
    return null;
  }
}

/** A Unix time in seconds as a local clock time. */
export function formatTime(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString();
}

/** The chatbot's handoff context as readable text (objects are pretty-printed JSON). */
export function contextText(context) {
  if (typeof context === "string") return context;
  if (context === undefined || context === null) return "";
  try {
    return JSON.stringify(context, null, 2);
  } catch {
    return String(context);
  }
}

/** A new element with an optional class and text (set as textContent, never as HTML). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Describes the token in `target`: "<signedInAs> <user> · company … · expires …", plus
 * `roleNote(role)` when that gives a warning for the token's role.
 */
export function showIdentity(target, token, { signedInAs, roleNote }) {
  const claims = decodeToken(token);
  if (!claims) {
    target.textContent = token.trim() ? "This does not look like a JWT." : "";
    return;
  }
  const parts = [`${signedInAs} ${claims.user_id ?? "?"}`, `company ${claims.company_id ?? "?"}`];
  if (typeof claims.exp === "number") {
    parts.push(`expires ${new Date(claims.exp * 1000).toLocaleString()}`);
  }
  let text = parts.join(" · ");
  const note = claims.role ? roleNote(claims.role) : "";
  if (note) text += ` — ${note}`;
  target.textContent = text;
}

/** Records a message id; false if it was seen already (a message without id is always new). */
export function markSeen(seen, id) {
  if (id === undefined) return true;
  if (seen.has(id)) return false;
  seen.add(id);
  return true;
}

/** Appends to a log, keeping it scrolled to the bottom if it was near the bottom. */
export function appendToLog(log, node) {
  const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  log.append(node);
  if (stick && !log.hidden) log.scrollTop = log.scrollHeight;
}

/** A message bubble. */
export function bubble({ who, mine, time, text }) {
  const li = el("li", mine ? "msg mine" : "msg");
  const meta = el("div", "meta");
  meta.append(el("span", "who", who), el("time", "when", time));
  li.append(meta, el("p", "text", text));
  return li;
}

/** A "You" bubble with a "sending…" line, for a message the server has not acknowledged yet. */
export function pendingBubble(text) {
  const li = bubble({ who: "You", mine: true, time: new Date().toLocaleTimeString(), text });
  const state = el("div", "state", "sending…");
  li.append(state);
  return { li, state };
}

/** Emits `message` and marks its pending bubble sent, failed, or (if shown already) removes it. */
export function emitMessage(socket, payload, { li, state }, seen) {
  socket.timeout(ACK_TIMEOUT_MS).emit("message", payload, (err, ack) => {
    if (err) {
      li.classList.add("failed");
      state.textContent = "No answer from the server; the message may not have been sent.";
      return;
    }
    if (ack && ack.ok) {
      if (!markSeen(seen, ack.id)) {
        // Already shown from another path: keep one copy.
        li.remove();
        return;
      }
      state.textContent = "sent";
      return;
    }
    li.classList.add("failed");
    const error = ack && ack.error ? ack.error : {};
    state.textContent = `Not sent: ${error.message ?? error.code ?? "unknown error"}`;
  });
}

/**
 * The Socket.IO connection of a page's token form: `connect()` reads and saves the token,
 * calls `onToken(token)`, and wires status and buttons; `listen(socket)` adds the page's own
 * handlers and `onError(text)` hears a server-closed connection.
 */
export function createConnection({ els, storageKey, onToken, onError, listen }) {
  /** @type {any} */
  let socket = null;

  function updateButtons() {
    els.disconnect.disabled = !(socket !== null && socket.active);
  }

  function teardown() {
    if (!socket) return;
    socket.removeAllListeners();
    socket.disconnect();
    socket = null;
  }

  function connect() {
    const token = els.token.value.trim();
    if (!token) {
      setStatus(els.status, "error", "Paste a token first");
      els.token.focus();
      return;
    }
    if (typeof globalThis.io !== "function") {
      setStatus(els.status, "error", "The Socket.IO client did not load");
      return;
    }
    sessionStorage.setItem(storageKey, token);
    onToken(token);
    teardown();

    setStatus(els.status, "connecting", "Connecting…");
    const s = globalThis.io(location.origin, {
      auth: { token },
      query: { token },
      transports: ["websocket", "polling"],
    });
    socket = s;

    s.on("connect", () => {
      setStatus(els.status, "connected", "Connected");
      updateButtons();
    });
    s.on("connect_error", (err) => {
      if (s.active) {
        // A transport problem: Socket.IO retries by itself.
        setStatus(els.status, "connecting", `Cannot reach the server, retrying… (${err.message})`);
      } else {
        // The server refused the handshake (bad or expired token): no retry.
        setStatus(els.status, "refused", `Refused: ${err.message}`);
      }
      updateButtons();
    });
    s.on("disconnect", () => {
      if (s.active) setStatus(els.status, "connecting", "Disconnected — reconnecting…");
      else if (els.status.dataset.state !== "error") {
        setStatus(els.status, "disconnected", "Disconnected");
      }
      updateButtons();
    });
    s.on("error", (e) => {
      const text = e && typeof e === "object" && "message" in e ? String(e.message) : String(e);
      setStatus(els.status, "error", `Disconnected: ${text}`);
      onError?.(text);
    });
    listen(s);
    updateButtons();
  }

  function disconnect() {
    if (!socket) return;
    socket.disconnect();
    setStatus(els.status, "disconnected", "Disconnected");
    updateButtons();
  }

  return {
    connect,
    disconnect,
    /** The current socket, or null. */
    get socket() {
      return socket;
    },
  };
}

/** Wires the token form: submit connects, the button disconnects, typing shows the identity. */
export function wireConnectForm(els, connection, showTokenIdentity) {
  els.connectForm.addEventListener("submit", (event) => {
    event.preventDefault();
    connection.connect();
  });
  els.disconnect.addEventListener("click", connection.disconnect);
  els.token.addEventListener("input", () => showTokenIdentity(els.token.value));
}

/**
 * Wires the composer: sends non-blank text through `send(content)` when connected (and when
 * `ready()` allows), else explains in the hint.
 */
export function wireComposer(els, connection, send, ready = () => true) {
  els.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!ready()) return;
    const content = els.message.value;
    if (!content.trim()) return;
    const socket = connection.socket;
    if (!socket || !socket.connected) {
      els.composerHint.textContent = "Not connected: connect first, the message was not sent.";
      return;
    }
    els.composerHint.textContent = "";
    els.message.value = "";
    send(content);
    els.message.focus();
  });
}

/**
 * Prefills the token: `?token=` in the address wins (then it is removed from the address and
 * the page connects), then this tab's session.
 */
export function prefillToken(els, storageKey, connection, showTokenIdentity) {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get("token");
  const token = fromUrl ?? sessionStorage.getItem(storageKey) ?? "";
  els.token.value = token;
  if (token) showTokenIdentity(token);
  if (fromUrl) {
    // Keep the token out of the address bar and history once it is read.
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
    connection.connect();
  }
}
