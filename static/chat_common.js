// What the user page and the agent console draw alike: the token form, the status badge, the
// message log, pending bubbles, the composer, typing. The connection, the outbox and resume are
// chat_core.js, shared with the widget. Everything from the network is shown with textContent,
// never as HTML.
// Over 400 lines because it is every drawing helper the two pages share; each is small and
// independent, so one module keeps the pages' import lists short.

import {
  createOutbox,
  decodeToken,
  formatTime,
  fullTime,
  openConnection,
  refusalText,
  tokenRole,
} from "./chat_core.js";

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/**
 * The elements of the token form, the status badge and the session line, which both pages
 * have. The form shows while no connection is wanted; once one is, the one-line session (who,
 * "Change token", "Disconnect") takes its place, so the conversation gets the room.
 */
export function connectFormEls() {
  return {
    status: $("status"),
    connectForm: $("connect-form"),
    token: $("token"),
    connect: $("connect"),
    disconnect: $("disconnect"),
    identity: $("identity"),
    session: $("session"),
    sessionWho: $("session-who"),
    changeToken: $("change-token"),
    composerHint: $("composer-hint"),
  };
}

/** Shows the connection state in the status badge. */
export function setStatus(status, state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

/** "company/user/role" of a token: the key of what this tab keeps for that identity. */
export function identityKey(token) {
  const claims = decodeToken(token);
  if (!claims || claims.company_id === undefined || claims.user_id === undefined) return null;
  return `${claims.company_id}/${claims.user_id}/${claims.role ?? ""}`;
}

/** A `<time>` of `at` (milliseconds) in the one format of every page, the full date as its title. */
export function timeEl(at) {
  const node = el("time", "when", formatTime(at));
  const date = new Date(at);
  if (!Number.isNaN(date.getTime())) {
    node.dateTime = date.toISOString();
    node.title = fullTime(date);
  }
  return node;
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
    parts.push(`expires ${formatTime(claims.exp * 1000)}`);
  }
  let text = parts.join(" · ");
  const note = claims.role ? roleNote(claims.role) : "";
  if (note) text += ` — ${note}`;
  target.textContent = text;
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

/**
 * A message bubble: `at` in milliseconds (none: no time shown), `kind` an extra class that
 * says whose it is ("agent" for another agent's reply, "note" for a private note).
 */
export function bubble({ who, mine, at, text, kind }) {
  const li = el("li", ["msg", mine ? "mine" : "", kind ?? ""].filter(Boolean).join(" "));
  const meta = el("div", "meta");
  const name = el("span", "who", who);
  name.title = who;
  meta.append(name);
  if (typeof at === "number") meta.append(timeEl(at));
  li.append(meta, el("p", "text", text));
  return li;
}

/** A "You" bubble with a state line, for a message the server has not acknowledged yet. */
export function pendingBubble(text, at = Date.now()) {
  const li = bubble({ who: "You", mine: true, at, text });
  const state = el("div", "state", "sending…");
  li.append(state);
  return { li, state };
}

const SEND_STATE = { sending: "sending…", unsent: "not sent yet — retrying", sent: "sent" };

/** Why a message waits after its connection ended, and what brings it through. */
function stoppedText(reason) {
  return reason === "closed"
    ? "Not sent: you disconnected. It is sent when you connect again."
    : reason === "expired"
    ? "Not sent: the token expired. It is sent once you connect with a new one."
    : "Not sent: the connection ended. It is sent when you connect again.";
}

/**
 * A page's outbox (see `createOutbox` in chat_core.js) drawn as pending bubbles:
 * `show(li, payload)` puts a new one in its log; once acknowledged it moves to its `seq` in
 * `logOf(payload)`. A refused message shows `failedText(entry)` and "Retry".
 */
function createPageOutbox({ getSocket, seen, show, logOf, failedText }) {
  const outbox = createOutbox({
    getSocket,
    seen,
    render(payload, at) {
      const pending = pendingBubble(String(payload.content ?? ""), at);
      show(pending.li, payload);
      return pending;
    },
    onChange(entry) {
      const { view: { li, state }, status, error } = entry;
      li.classList.toggle("failed", status === "failed");
      li.classList.toggle("unsent", status === "unsent");
      li.classList.toggle("stopped", status === "stopped");
      li.setAttribute("aria-busy", status === "sending" ? "true" : "false");
      if (status === "stopped") {
        state.replaceChildren(stoppedText(error));
        return;
      }
      if (status !== "failed") {
        state.replaceChildren(SEND_STATE[status]);
        return;
      }
      state.replaceChildren(`Not sent: ${failedText ? failedText(entry) : error} `);
      const retry = el("button", "retry secondary", "Retry");
      retry.type = "button";
      retry.setAttribute("aria-label", "Retry sending this message");
      retry.addEventListener("click", () => outbox.retry(entry));
      state.append(retry);
    },
    onSent({ view: { li }, payload }, ack, shownAlready) {
      if (shownAlready) {
        li.remove();
        return;
      }
      if (ack.id !== undefined) li.dataset.id = String(ack.id);
      const log = logOf(payload);
      if (log && Number.isSafeInteger(ack.seq)) placeBySeq(log, li, ack.seq);
    },
  });
  return outbox;
}

/** The Socket.IO connection's states in the status badge's words (a refusal: `refusalText`). */
const STATUS_WORDS = {
  connected: "Connected",
  reconnecting: "Connection lost — reconnecting…",
  disconnected: "Disconnected",
};

/**
 * The Socket.IO connection of a page's token form: `connect()` reads and saves the token,
 * refuses one whose role is not in `roles` (saying so with `wrongRole(role)`, without
 * connecting), calls `onToken(token)`, and opens the connection (`openConnection` in
 * chat_core.js, with `cursor`, `loadHistory` and the page's server event handlers `on`), the
 * token in `auth` only, never in the address. It shows the state in the status badge, in words
 * for people (`refusalText`), swaps the token form for the session line while a connection is
 * wanted, and wires the buttons. `onError(text)` hears a server-closed connection. Its `outbox`
 * draws pending messages as `pending` says (see `createPageOutbox`).
 */
export function createConnection(
  {
    els,
    storageKey,
    roles,
    wrongRole,
    describe,
    onToken,
    onError,
    cursor,
    pending,
    loadHistory,
    on,
  },
) {
  /** @type {any} */
  let socket = null;
  const outbox = createPageOutbox({ getSocket: () => socket, ...pending });

  /** The session line instead of the form while a connection is wanted, the form otherwise. */
  function showForm(form) {
    els.connectForm.hidden = !form;
    if (els.session) els.session.hidden = form;
    els.disconnect.disabled = !(socket !== null && socket.active);
  }

  function teardown() {
    if (!socket) return;
    socket.removeAllListeners();
    socket.disconnect();
    socket = null;
  }

  function onStatus(state, { reason }) {
    switch (state) {
      case "connected":
        setStatus(els.status, "connected", STATUS_WORDS.connected);
        // Whatever the composer said about waiting for the connection is over.
        if (els.composerHint?.dataset.why === "reconnecting") {
          els.composerHint.textContent = "";
          delete els.composerHint.dataset.why;
        }
        break;
      case "unreachable":
        setStatus(
          els.status,
          "connecting",
          reason === "unreachable"
            ? "Cannot reach the server — retrying…"
            : refusalText(reason, "token"),
        );
        break;
      case "refused":
        setStatus(els.status, "refused", refusalText(reason, "token"));
        showForm(true);
        els.token.focus();
        return;
      case "reconnecting":
        setStatus(els.status, "connecting", STATUS_WORDS.reconnecting);
        break;
      case "disconnected":
        if (els.status.dataset.state !== "error") {
          setStatus(els.status, "disconnected", STATUS_WORDS.disconnected);
        }
        showForm(true);
        return;
      case "error": {
        const text = refusalText(reason, "token");
        setStatus(els.status, "error", text);
        onError?.(text);
        showForm(true);
        return;
      }
    }
    showForm(false);
  }

  function connect() {
    const token = els.token.value.trim();
    if (!token) {
      setStatus(els.status, "error", "Paste a token first");
      els.token.focus();
      return;
    }
    const role = tokenRole(token);
    if (role !== null && !roles.includes(role)) {
      // Refused here: a token of another role would half-work on this page.
      teardown();
      sessionStorage.removeItem(`${storageKey}.connected`);
      setStatus(els.status, "refused", wrongRole(role));
      showForm(true);
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
    if (els.sessionWho) els.sessionWho.textContent = describe(token);

    setStatus(els.status, "connecting", "Connecting…");
    socket = openConnection({
      io: globalThis.io,
      url: location.origin,
      token,
      options: { transports: ["websocket", "polling"] },
      cursor,
      outbox,
      loadHistory,
      onStatus,
      on,
    });
    showForm(false);
  }

  function disconnect() {
    if (!socket) return;
    sessionStorage.removeItem(`${storageKey}.connected`);
    socket.disconnect();
    setStatus(els.status, "disconnected", "Disconnected");
    showForm(true);
  }

  return {
    connect,
    disconnect,
    outbox,
    /** The current socket, or null. */
    get socket() {
      return socket;
    },
  };
}

/**
 * Wires the token form: submit connects, the buttons disconnect or bring the form back,
 * typing shows the identity.
 */
export function wireConnectForm(els, connection, showTokenIdentity) {
  els.connectForm.addEventListener("submit", (event) => {
    event.preventDefault();
    connection.connect();
  });
  els.disconnect.addEventListener("click", connection.disconnect);
  els.changeToken?.addEventListener("click", () => {
    els.connectForm.hidden = false;
    els.token.focus();
    els.token.select();
  });
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
      // The badge says why (a refused or expired token); the text stays in the box.
      const why = els.status.dataset.state === "refused" || els.status.dataset.state === "error"
        ? els.status.textContent
        : "Connect first.";
      els.composerHint.textContent = `Not sent. ${why}`;
      return;
    }
    if (socket.connected) els.composerHint.textContent = "";
    else {
      els.composerHint.textContent =
        "Reconnecting: the message will be sent once the connection is back.";
      els.composerHint.dataset.why = "reconnecting";
    }
    els.message.value = "";
    send(content);
    els.message.focus();
  });
}

/**
 * A token handed over in the page's address, taken out of it (and of the tab's history):
 * `#token=…` (the fragment never leaves the browser, so no server or proxy logs it), or
 * `?token=…` as older links have it. Null when there is none.
 */
export function takeTokenFromAddress() {
  const params = new URLSearchParams(location.search);
  const hash = new URLSearchParams(location.hash.slice(1));
  const token = hash.get("token") ?? params.get("token");
  if (token === null) return null;
  params.delete("token");
  hash.delete("token");
  const query = params.toString();
  const fragment = hash.toString();
  history.replaceState(
    null,
    "",
    location.pathname + (query ? `?${query}` : "") + (fragment ? `#${fragment}` : ""),
  );
  return token.trim();
}

/**
 * Prefills the token: one in the address wins (`takeTokenFromAddress`; the page then
 * connects), then this tab's session (the page reconnects if this tab was connected when it
 * was reloaded).
 */
export function prefillToken(els, storageKey, connection, showTokenIdentity) {
  const fromUrl = takeTokenFromAddress();
  const token = fromUrl ?? sessionStorage.getItem(storageKey) ?? "";
  els.token.value = token;
  if (token) showTokenIdentity(token);
  if (fromUrl) {
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
