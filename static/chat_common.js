// Helpers shared by the user page and the agent console. Everything from the network is shown
// with textContent, never as HTML.

/** How long a sent message (or any request) waits for the server's acknowledgement. */
export const ACK_TIMEOUT_MS = 15_000;
/** How long after a send that timed out (the socket still up) it is sent again. */
export const RETRY_DELAY_MS = 3_000;
/** How many unacknowledged messages the outbox keeps across a reload, at most. */
const OUTBOX_MAX = 100;

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

/** "company/user/role" of a token: the key of what this tab keeps for that identity. */
export function identityKey(token) {
  const claims = decodeToken(token);
  if (!claims || claims.company_id === undefined || claims.user_id === undefined) return null;
  return `${claims.company_id}/${claims.user_id}/${claims.role ?? ""}`;
}

/** A JSON value from sessionStorage, or `fallback` (missing, unreadable, storage disabled). */
export function loadJson(key, fallback) {
  try {
    const raw = sessionStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

/** Saves a JSON value in sessionStorage (`undefined` removes it); storage errors are ignored. */
export function saveJson(key, value) {
  try {
    if (value === undefined) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Full or disabled storage: the page still works, it just forgets on reload.
  }
}

/** A Unix time in seconds as a local clock time. */
export function formatTime(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString();
}

/** A duration in milliseconds as "42 s", "3 min", "1 h 5 min". */
export function formatDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
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

function nearBottom(log) {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
}

/** Appends to a log, keeping it scrolled to the bottom if it was near the bottom. */
export function appendToLog(log, node) {
  const stick = nearBottom(log);
  log.append(node);
  if (stick && !log.hidden) log.scrollTop = log.scrollHeight;
}

/**
 * Where a log entry sorts: a message by its `seq`, a notice just after the seq it was shown at
 * (`data-after`); undefined for messages not acknowledged yet.
 */
function seqOf(node) {
  const seq = node.dataset?.seq;
  if (seq !== undefined) return Number(seq);
  const after = node.dataset?.after;
  return after === undefined ? undefined : Number(after) + 0.5;
}

/** The greatest `seq` among a log's messages, or 0. */
function newestSeq(log) {
  let newest = 0;
  for (const child of log.children) {
    const s = child.dataset?.seq;
    if (s !== undefined && Number(s) > newest) newest = Number(s);
  }
  return newest;
}

/**
 * Appends a notice (an event without a seq: a handoff, presence, a reconnect), marked as
 * coming after the newest message shown and after `floor` (the resume point), so history
 * loaded later goes above it.
 */
export function appendNotice(log, node, floor = 0) {
  node.dataset.after = String(Math.max(floor ?? 0, newestSeq(log)));
  appendToLog(log, node);
}

/**
 * Puts a message with `seq` in order among the log's messages that have one (history arrives
 * after live messages, earlier pages before them); entries without a seq stay where they are.
 */
export function placeBySeq(log, node, seq) {
  node.dataset.seq = String(seq);
  const stick = nearBottom(log);
  const before = log.scrollHeight - log.scrollTop;
  let next = null;
  let laterSmaller = false;
  let passed = false;
  for (const child of log.children) {
    if (child === node) {
      passed = true;
      continue;
    }
    const s = seqOf(child);
    if (s === undefined) continue;
    if (s > seq && next === null) next = child;
    if (passed && s < seq) laterSmaller = true;
  }
  if (next !== null) log.insertBefore(node, next);
  else if (node.parentNode !== log || laterSmaller) log.append(node);
  if (log.hidden) return;
  if (stick) log.scrollTop = log.scrollHeight;
  else if (next !== null) log.scrollTop = log.scrollHeight - before; // keep the reader's place
}

/** The smallest `seq` among a log's messages, or undefined. */
export function oldestSeq(log) {
  let oldest;
  for (const child of log.children) {
    const s = child.dataset?.seq;
    if (s !== undefined && (oldest === undefined || Number(s) < oldest)) oldest = Number(s);
  }
  return oldest;
}

/** A message bubble. */
export function bubble({ who, mine, time, text }) {
  const li = el("li", mine ? "msg mine" : "msg");
  const meta = el("div", "meta");
  meta.append(el("span", "who", who), el("time", "when", time));
  li.append(meta, el("p", "text", text));
  return li;
}

/** A "You" bubble with a state line, for a message the server has not acknowledged yet. */
export function pendingBubble(text, at = Date.now()) {
  const li = bubble({
    who: "You",
    mine: true,
    time: new Date(at).toLocaleTimeString(),
    text,
  });
  const state = el("div", "state", "sending…");
  li.append(state);
  return { li, state };
}

/**
 * Emits `event` and resolves with its ack; a timeout or a disconnect resolves with
 * `{ ok: false, error: { code: "timeout", message } }`, so callers only look at `ok`.
 */
export function request(socket, event, payload) {
  return new Promise((resolve) => {
    if (!socket || !socket.connected) {
      resolve({ ok: false, error: { code: "offline", message: "Not connected" } });
      return;
    }
    socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, ack) => {
      if (err) {
        resolve({ ok: false, error: { code: "timeout", message: "No answer from the server" } });
      } else if (ack && typeof ack === "object") resolve(ack);
      else resolve({ ok: false, error: { code: "unknown", message: "Unexpected answer" } });
    });
  });
}

/** An error ack's text: its message, else its code. */
export function errorText(ack) {
  const error = ack && typeof ack === "object" && ack.error ? ack.error : {};
  return String(error.message ?? error.code ?? "unknown error");
}

/** A random id for `client_id` (crypto.randomUUID needs a secure context; this does not). */
export function newClientId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The greatest message `seq` this identity has seen, kept in sessionStorage: every
 * (re)connection sends it as `auth.last_seq`, and the server first replays what came after it.
 */
export function createSeqCursor() {
  let key = null;
  let value;
  return {
    /** Switches to an identity (see `identityKey`), reading what this tab kept for it. */
    use(identity) {
      key = identity ? `livechat.last_seq.${identity}` : null;
      const raw = key ? loadJson(key, null) : null;
      value = Number.isSafeInteger(raw) && raw >= 0 ? raw : undefined;
    },
    /** The greatest seq seen, or undefined before any. */
    get value() {
      return value;
    },
    /** Records a seen seq. */
    observe(seq) {
      if (!Number.isSafeInteger(seq) || seq < 0) return;
      if (value !== undefined && seq <= value) return;
      value = seq;
      if (key) saveJson(key, seq);
    },
  };
}

/**
 * Outgoing messages. Each gets a `client_id`; a send whose ack times out or is cut by a
 * disconnect stays "unsent — retrying" and is sent again with the same `client_id` (when the
 * socket is back, or after a short delay if it never went away): the server answers a resend
 * with the first send's `{ id, seq }` and records it once. Unacknowledged messages are kept in
 * sessionStorage, so a reload sends them too. A message refused by the server shows "Retry".
 *
 * `render(payload, at)` shows a pending bubble and returns `{ li, state }`; `onSent(li, ack)`
 * places an acknowledged one (its id is then in `seen`; if it was shown already through another
 * path, the pending bubble is removed instead).
 */
export function createOutbox({ getSocket, seen, render, onSent }) {
  /** @type {Map<string, any>} */
  const entries = new Map();
  let key = null;

  function persist() {
    if (!key) return;
    const keep = [...entries.values()].slice(-OUTBOX_MAX).map((e) => ({
      client_id: e.clientId,
      payload: e.payload,
      at: e.at,
      failed: e.status === "failed" ? e.error : undefined,
    }));
    saveJson(key, keep.length ? keep : undefined);
  }

  function setState(entry, status, text) {
    entry.status = status;
    entry.li.classList.toggle("failed", status === "failed");
    entry.li.classList.toggle("unsent", status === "unsent");
    entry.li.setAttribute("aria-busy", status === "sending" ? "true" : "false");
    entry.state.replaceChildren(text);
  }

  function fail(entry, text) {
    entry.error = text;
    setState(entry, "failed", `${text} `);
    const retry = el("button", "retry secondary", "Retry");
    retry.type = "button";
    retry.setAttribute("aria-label", "Retry sending this message");
    retry.addEventListener("click", () => attempt(entry));
    entry.state.append(retry);
  }

  function unsent(entry) {
    setState(entry, "unsent", "unsent — retrying");
  }

  function attempt(entry) {
    clearTimeout(entry.timer);
    const n = ++entry.attempt;
    const socket = getSocket();
    if (!socket || !socket.connected) {
      unsent(entry);
      return;
    }
    setState(entry, "sending", "sending…");
    persist();
    socket.timeout(ACK_TIMEOUT_MS).emit("message", entry.payload, (err, ack) => {
      // A later attempt (or a disconnect) took over this one.
      if (n !== entry.attempt || !entries.has(entry.clientId)) return;
      if (err) {
        unsent(entry);
        // Still connected: the server is slow, try again soon. Otherwise: on reconnect.
        if (socket.connected) entry.timer = setTimeout(() => attempt(entry), RETRY_DELAY_MS);
        return;
      }
      if (ack && ack.ok) {
        entries.delete(entry.clientId);
        persist();
        if (!markSeen(seen, ack.id)) {
          // Already shown from another path (history, replay): keep one copy.
          entry.li.remove();
          return;
        }
        setState(entry, "sent", "sent");
        if (ack.id !== undefined) entry.li.dataset.id = String(ack.id);
        onSent?.(entry.li, ack, entry.payload);
        return;
      }
      fail(entry, `Not sent: ${errorText(ack)}`);
      persist();
    });
  }

  function add(clientId, payload, at) {
    const { li, state } = render(payload, at);
    const entry = { clientId, payload, at, li, state, attempt: 0, status: "new", timer: 0 };
    entries.set(clientId, entry);
    return entry;
  }

  return {
    /** Switches to an identity: forgets the entries shown so far, shows the ones kept for it. */
    use(identity) {
      for (const entry of entries.values()) clearTimeout(entry.timer);
      entries.clear();
      key = identity ? `livechat.outbox.${identity}` : null;
      if (!key) return;
      const kept = loadJson(key, []);
      for (const k of Array.isArray(kept) ? kept : []) {
        if (!k || typeof k.client_id !== "string" || !k.payload || typeof k.payload !== "object") {
          continue;
        }
        const entry = add(k.client_id, k.payload, typeof k.at === "number" ? k.at : Date.now());
        if (typeof k.failed === "string") fail(entry, k.failed);
        else unsent(entry);
      }
    },
    /** Sends a new message (`payload` without `client_id`). */
    send(payload) {
      const clientId = newClientId();
      const entry = add(clientId, { ...payload, client_id: clientId }, Date.now());
      persist();
      attempt(entry);
    },
    /** The socket connected: sends everything not acknowledged yet, oldest first. */
    resend() {
      for (const entry of entries.values()) {
        if (entry.status !== "failed") attempt(entry);
      }
    },
    /** The socket went away: sends in flight become "unsent — retrying". */
    disconnected() {
      for (const entry of entries.values()) {
        if (entry.status === "sending") {
          entry.attempt += 1;
          unsent(entry);
        }
      }
    },
  };
}

/**
 * The Socket.IO connection of a page's token form: `connect()` reads and saves the token,
 * calls `onToken(token)`, and wires status and buttons; `listen(socket)` adds the page's own
 * handlers and `onError(text)` hears a server-closed connection. Every (re)connection sends
 * `auth: { token, last_seq: lastSeq() }` so the server replays what this tab missed.
 */
export function createConnection({ els, storageKey, onToken, onError, listen, lastSeq }) {
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
    sessionStorage.setItem(`${storageKey}.connected`, "1");
    teardown();
    onToken(token);

    setStatus(els.status, "connecting", "Connecting…");
    const s = globalThis.io(location.origin, {
      // Called on every (re)connection, so a reconnect resumes from what was seen since.
      auth: (cb) => {
        const last = lastSeq?.();
        cb(last === undefined ? { token } : { token, last_seq: last });
      },
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
    sessionStorage.removeItem(`${storageKey}.connected`);
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
 * Wires the composer: sends non-blank text through `send(content)` while a connection is up
 * or being re-established (the outbox sends it once connected), when `ready()` allows; else
 * explains in the hint.
 */
export function wireComposer(els, connection, send, ready = () => true) {
  els.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!ready()) return;
    const content = els.message.value;
    if (!content.trim()) return;
    const socket = connection.socket;
    if (!socket || !socket.active) {
      els.composerHint.textContent = "Not connected: connect first, the message was not sent.";
      return;
    }
    els.composerHint.textContent = socket.connected
      ? ""
      : "Reconnecting: the message will be sent once the connection is back.";
    els.message.value = "";
    send(content);
    els.message.focus();
  });
}

/**
 * Prefills the token: `?token=` in the address wins (then it is removed from the address and
 * the page connects), then this tab's session (the page reconnects if this tab was connected
 * when it was reloaded).
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
  } else if (token && sessionStorage.getItem(`${storageKey}.connected`) === "1") {
    connection.connect();
  }
}

/**
 * Typing indicators, both ways: while the input changes, `typing {typing: true}` is sent
 * (at most every 2 s) and `false` after 3 s without a keystroke or on send; someone else's
 * `typing` shows as "<name> is typing…" for a few seconds at most. Text only.
 */
export function wireTyping({ input, form, indicator, connection, target, shows }) {
  let typing = false;
  let lastSent = 0;
  let idle;
  const send = (value) => {
    const socket = connection.socket;
    const user = target();
    if (!socket?.connected || user === null) return;
    socket.volatile.emit(
      "typing",
      user === undefined ? { typing: value } : { user_id: user, typing: value },
    );
  };
  const stop = () => {
    clearTimeout(idle);
    if (typing) send(false);
    typing = false;
  };
  input.addEventListener("input", () => {
    const now = Date.now();
    if (!typing || now - lastSent > 2000) {
      send(true);
      lastSent = now;
    }
    typing = true;
    clearTimeout(idle);
    idle = setTimeout(stop, 3000);
  });
  form.addEventListener("submit", stop);
  let hide;
  return function onTyping(payload) {
    if (!payload || typeof payload !== "object" || !shows(payload)) return;
    clearTimeout(hide);
    indicator.textContent = payload.typing ? `${String(payload.from)} is typing…` : "";
    if (payload.typing) hide = setTimeout(() => (indicator.textContent = ""), 6000);
  };
}
