// The client core of the widget, the user page and the agent console: the connection (token and
// `last_seq` resume), the server events, the outbox of unsent messages, requests with their ack
// timeout, and `history` paging. One copy, one set of constants: the pages import this file as
// an ES module; the widget, which must stay one classic script for other sites, gets it bundled
// in (`deno task build:static`, see static/src/widget.js).
//
// It draws nothing: each client renders through the callbacks it passes. It touches the DOM only
// to read `data-seq` from a message list (where the next older `history` page starts).

/** How long a sent message (or any request) waits for the server's acknowledgement. */
export const ACK_TIMEOUT_MS = 15_000;
/** How long after a send that timed out (the socket still up) it is sent again. */
export const RETRY_DELAY_MS = 3_000;
/** How many unacknowledged messages the outbox keeps across a reload, at most. */
export const OUTBOX_MAX = 100;
/** How long after a refusal that passes (`rate_limited`, `unavailable`) the client tries again. */
export const REFUSED_RETRY_MS = 5_000;
/** Messages asked for per `history` page. */
export const HISTORY_PAGE = 50;

// ---------- storage, tokens, ids ----------

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
    // Full or disabled storage: the client still works, it just forgets on reload.
  }
}

/** The JWT's payload, for display and storage keys only (the server does the real check). */
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

/** A random id for `client_id` (crypto.randomUUID needs a secure context; this does not). */
export function newClientId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Whether `n` can be a `seq`. */
export function isSeq(n) {
  return Number.isSafeInteger(n) && n >= 0;
}

/** Records a message id; false if it was seen already (a message without id is always new). */
export function markSeen(seen, id) {
  if (id === undefined || id === null) return true;
  const key = String(id);
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
}

// ---------- words people read ----------

/**
 * One time format on every page: "14:05" for today, "3 Dec, 14:05" before; `fullTime` is the
 * whole date for a tooltip. `date` is a Date or milliseconds.
 */
export function formatTime(date) {
  const d = date instanceof Date ? date : new Date(date);
  if (Number.isNaN(d.getTime())) return "";
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.toLocaleDateString([], { day: "numeric", month: "short" })}, ${time}`;
}

/** The whole date and time, for a `title` beside `formatTime`. */
export function fullTime(date) {
  const d = date instanceof Date ? date : new Date(date);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleString();
}

/**
 * Why the server refused or ended a connection, as one word: the reason a `connect_error`
 * names (`data.reason`, or the start of its message: "expired: …") or an `error` event's code.
 */
export function refusalReason(err) {
  if (!err || typeof err !== "object") return "unknown";
  const data = err.data && typeof err.data === "object" ? err.data : {};
  if (typeof data.reason === "string") return data.reason;
  if (typeof err.reason === "string") return err.reason;
  const message = typeof err.message === "string" ? err.message : "";
  const head = /^([a-z_]+):/.exec(message);
  if (head) return head[1];
  if (typeof data.code === "string") return data.code;
  if (typeof err.code === "string") return err.code;
  return "unknown";
}

/** Whether a refusal may pass by itself (try again later), unlike a bad or expired token. */
export function refusalPasses(reason) {
  return reason === "rate_limited" || reason === "unavailable" || reason === "internal";
}

/**
 * A refusal in words for the person in front of the page (never the server's developer text):
 * `who` is "visitor" (the widget: nothing to paste, a reload or the site gives a new session)
 * or "token" (the pages with a token form).
 */
export function refusalText(reason, who) {
  const visitor = who === "visitor";
  switch (reason) {
    case "expired":
      return visitor
        ? "Your chat session has expired. Reload the page to continue."
        : "This token has expired. Paste a new one.";
    case "rate_limited":
      return "Too many attempts. Trying again in a moment…";
    case "unavailable":
    case "internal":
      return "The chat service is having trouble. Trying again in a moment…";
    case "too_many_sockets":
      return "The chat is open in too many tabs. Close one and reload this page.";
    case "missing_token":
      return visitor ? "The chat could not start on this page." : "Paste a token first.";
    default:
      return visitor
        ? "The chat could not start on this page. Reload it, or try again later."
        : "This token is not valid for this server. Check it, or mint a new one.";
  }
}

/** Ack error codes in words; `errorText` falls back to the server's message for others. */
const ACK_WORDS = {
  too_large: "This is too long.",
  rate_limited: "Too fast: wait a moment, then retry.",
  unavailable: "The chat service is having trouble. Retry in a moment.",
  internal: "Something went wrong on the server. Retry in a moment.",
  unauthorized: "Your session has ended. Reload the page.",
  timeout: "No answer from the server. Retry in a moment.",
  offline: "Not connected.",
};

/** An ack error for an end user: words for its code, never the server's developer text. */
export function userErrorText(ack) {
  const code = ack && typeof ack === "object" && ack.error ? String(ack.error.code) : "";
  return ACK_WORDS[code] ?? "This could not be sent.";
}

/** The role a token claims (display and early checks only; the server does the real one). */
export function tokenRole(token) {
  const role = decodeToken(token)?.role;
  return typeof role === "string" ? (role === "agent" ? "admin" : role) : null;
}

// ---------- requests ----------

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

/**
 * An error ack's text for an agent: the server's message (it says what to do: "The agent is at
 * capacity"), else words for its code; a message that starts with its code ("expired: …") loses
 * that prefix.
 */
export function errorText(ack) {
  const error = ack && typeof ack === "object" && ack.error ? ack.error : {};
  const message = typeof error.message === "string" ? error.message.replace(/^[a-z_]+: /, "") : "";
  if (message) return message;
  return ACK_WORDS[error.code] ?? String(error.code || "unknown error");
}

/**
 * The HTTP routes this server has (the paths of its `/openapi.json`), read once per page: a
 * client shows a tool (attachments, saved replies) only when its route is there, so an older
 * server shows no button that cannot work and logs no failed request.
 */
export function serverRoutes(server) {
  routesAsked ??= new Map();
  let known = routesAsked.get(server);
  if (!known) {
    known = fetch(`${server}/openapi.json`, { headers: { accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((doc) => new Set(Object.keys(doc?.paths ?? {})))
      .catch(() => new Set());
    routesAsked.set(server, known);
  }
  return known;
}
/** @type {Map<string, Promise<Set<string>>> | null} */
let routesAsked = null;

// ---------- resume ----------

/**
 * The greatest message `seq` this identity has seen, kept in sessionStorage: every
 * (re)connection sends it as `auth.last_seq`, and the server first replays what came after it.
 */
export function createSeqCursor() {
  let key = null;
  let value;
  return {
    /** Switches to the storage key of an identity (null: none), reading what this tab kept. */
    use(storageKey) {
      key = storageKey;
      const raw = key ? loadJson(key, null) : null;
      value = isSeq(raw) ? raw : undefined;
    },
    /** The greatest seq seen, or undefined before any. */
    get value() {
      return value;
    },
    /** Records a seen seq. */
    observe(seq) {
      if (!isSeq(seq) || (value !== undefined && seq <= value)) return;
      value = seq;
      if (key) saveJson(key, seq);
    },
  };
}

// ---------- the outbox ----------

/**
 * Outgoing messages. Each gets a `client_id`; a send whose ack times out or is cut by a
 * disconnect becomes "unsent" and is sent again with the same `client_id` (when the socket is
 * back, or after a short delay if it never went away): the server answers a resend with the
 * first send's `{ id, seq }` and records it once. Unacknowledged messages are kept in
 * sessionStorage, so a reload sends them too. A message refused by the server is "failed" until
 * `retry(entry)`.
 *
 * An entry is `{ clientId, payload, at, status, error, view }`, `status` one of "sending",
 * "unsent", "stopped" (the connection ended for good, e.g. the token expired: `error` is the
 * refusal's reason; it is kept and sent by the next connection, or after a reload), "failed"
 * (refused by the server: `error` says why, `code` is the ack's error code) or "sent". The client draws it: `render(payload, at)`
 * returns its `view` (shown at once), `onChange(entry)` follows its status, and
 * `onSent(entry, ack, shownAlready)` places an acknowledged one (its id is then in `seen`;
 * `shownAlready`: it arrived first through a replay or `history`, keep one copy).
 */
export function createOutbox({ getSocket, seen, render, onChange, onSent }) {
  /** @type {Map<string, any>} */
  const entries = new Map();
  let key = null;
  /** Why the connection ended for good (null while it is up or coming back). */
  let stopped = null;

  function persist() {
    if (!key) return;
    const keep = [...entries.values()].slice(-OUTBOX_MAX).map((e) => ({
      client_id: e.clientId,
      payload: e.payload,
      at: e.at,
      failed: e.status === "failed" ? e.error : undefined,
      code: e.status === "failed" ? e.code : undefined,
    }));
    saveJson(key, keep.length ? keep : undefined);
  }

  function set(entry, status, error) {
    entry.status = status;
    entry.error = error;
    onChange(entry);
  }

  /** Whether `entry` is still this outbox's (not acknowledged, not dropped by `use` or `close`). */
  function current(entry) {
    return entries.get(entry.clientId) === entry;
  }

  function attempt(entry) {
    clearTimeout(entry.timer);
    const n = ++entry.attempt;
    const socket = getSocket();
    if (!socket || !socket.connected) {
      // Written after the connection ended for good: it says so, rather than "retrying".
      if (stopped !== null) set(entry, "stopped", stopped);
      else set(entry, "unsent");
      persist();
      return;
    }
    set(entry, "sending");
    persist();
    socket.timeout(ACK_TIMEOUT_MS).emit("message", entry.payload, (err, ack) => {
      // A later attempt (or a disconnect) took over this one.
      if (n !== entry.attempt || !current(entry)) return;
      if (err) {
        set(entry, "unsent");
        // Still connected: the server is slow, try again soon. Otherwise: on reconnect.
        if (socket.connected) entry.timer = setTimeout(() => attempt(entry), RETRY_DELAY_MS);
        return;
      }
      if (ack && ack.ok) {
        entries.delete(entry.clientId);
        persist();
        const shownAlready = !markSeen(seen, ack.id);
        if (!shownAlready) set(entry, "sent");
        onSent(entry, ack, shownAlready);
        return;
      }
      entry.code = ack && ack.error ? String(ack.error.code) : "unknown";
      set(entry, "failed", errorText(ack));
      persist();
    });
  }

  function add(clientId, payload, at) {
    const entry = {
      clientId,
      payload,
      at,
      status: "new",
      error: undefined,
      code: undefined,
      attempt: 0,
      timer: 0,
    };
    entry.view = render(payload, at);
    entries.set(clientId, entry);
    return entry;
  }

  function close() {
    for (const entry of entries.values()) clearTimeout(entry.timer);
    entries.clear();
  }

  return {
    /** Switches to the storage key of an identity: drops the entries so far, shows its kept ones. */
    use(storageKey) {
      close();
      key = storageKey;
      if (!key) return;
      const kept = loadJson(key, []);
      for (const k of Array.isArray(kept) ? kept : []) {
        if (!k || typeof k.client_id !== "string" || !k.payload || typeof k.payload !== "object") {
          continue;
        }
        const entry = add(k.client_id, k.payload, typeof k.at === "number" ? k.at : Date.now());
        if (typeof k.failed === "string") {
          entry.code = typeof k.code === "string" ? k.code : "unknown";
          set(entry, "failed", k.failed);
        } else set(entry, "unsent");
      }
    },
    /** Sends a new message (`payload` without `client_id`); returns its entry. */
    send(payload) {
      const clientId = newClientId();
      const entry = add(clientId, { ...payload, client_id: clientId }, Date.now());
      persist();
      attempt(entry);
      return entry;
    },
    /** Sends a failed entry again (its Retry button). */
    retry: attempt,
    /** The socket connected: sends everything not acknowledged yet, oldest first. */
    resend() {
      stopped = null;
      for (const entry of entries.values()) {
        if (entry.status !== "failed") attempt(entry);
      }
    },
    /**
     * The connection ended for good (`reason`: "expired", "disconnected", …): nothing waiting
     * is retried, each says why; they stay kept for the next connection or a reload.
     */
    stop(reason) {
      stopped ??= reason;
      for (const entry of entries.values()) {
        if (entry.status !== "sending" && entry.status !== "unsent") continue;
        entry.attempt += 1;
        clearTimeout(entry.timer);
        set(entry, "stopped", stopped);
      }
    },
    /** The socket went away: sends in flight become "unsent". */
    disconnected() {
      for (const entry of entries.values()) {
        if (entry.status === "sending") {
          entry.attempt += 1;
          set(entry, "unsent");
        }
      }
    },
    /** Stops every retry and forgets the entries (what is stored stays for the next load). */
    close,
  };
}

// ---------- history ----------

/**
 * One page of `history`: the newest one, or with `before` the one just older than that seq.
 * `params` adds the agent's `user_id`. Resolves `{ ok, messages, more, error }`.
 */
export async function fetchHistory(socket, params) {
  const ack = await request(socket, "history", { ...params, limit: HISTORY_PAGE });
  if (!ack.ok) return { ok: false, messages: [], more: false, error: errorText(ack) };
  const messages = Array.isArray(ack.messages) ? ack.messages : [];
  return { ok: true, messages, more: ack.has_more === true, error: "" };
}

/** The smallest `data-seq` among a message list's entries (where older history ends), or undefined. */
export function oldestSeq(list) {
  let oldest;
  for (const child of list.children) {
    const s = child.dataset?.seq;
    if (s !== undefined && (oldest === undefined || Number(s) < oldest)) oldest = Number(s);
  }
  return oldest;
}

// ---------- the connection ----------

/**
 * Opens the Socket.IO connection of `token` with `io(url, options)`. Every (re)connection sends
 * `auth: { token, last_seq }` from `cursor`, so the server first replays what this tab missed;
 * on connect the outbox resends and `loadHistory()` refills what a reload lost; on disconnect
 * sends in flight become unsent.
 *
 * `onStatus(state, detail)` follows the connection: "connected"; "unreachable" (a transport
 * problem, or a refusal that passes (`rate_limited`, `unavailable`): it is retried;
 * `detail.everConnected`); "refused" (the server refused the handshake: bad or expired token, no
 * retry); "reconnecting" (the connection dropped and is being re-established); "disconnected"
 * (for good, `detail.reason` as Socket.IO names it); "error" (the server closed the connection,
 * e.g. the token expired). `detail.reason` is the refusal's one word (`refusalReason`) for
 * "refused", "unreachable" and "error", for the client to put in its own words
 * (`refusalText`); `detail.text` is the server's developer text, for logs only. Once the
 * connection ends for good, the outbox stops retrying and says why.
 *
 * `on` maps server events to the client's handlers; the core's own part runs first.
 */
export function openConnection(
  { io, url, token, options, cursor, outbox, loadHistory, onStatus, on },
) {
  let everConnected = false;
  let retryTimer = 0;
  const socket = io(url, {
    ...options,
    // Called on every (re)connection, so a reconnect resumes from what was seen since.
    auth: (cb) => {
      const last = cursor.value;
      cb(last === undefined ? { token } : { token, last_seq: last });
    },
  });

  // Every event the server sends goes through here, the core's part first, then the client's
  // handler in `on`. A new server event is one line in this table.
  const core = {
    connect() {
      everConnected = true;
      onStatus("connected", { text: "" });
      outbox.resend();
      loadHistory();
    },
    connect_error(err) {
      const text = err && err.message ? String(err.message) : "unknown error";
      const reason = socket.active ? "unreachable" : refusalReason(err);
      if (socket.active || refusalPasses(reason)) {
        // A refusal that passes: Socket.IO gives up on a refused handshake, so try again
        // later, unless the client has let this socket go (it drops every listener then).
        if (!socket.active) {
          clearTimeout(retryTimer);
          retryTimer = setTimeout(() => {
            if (socket.listeners("connect").length > 0 && !socket.active) socket.connect();
          }, REFUSED_RETRY_MS);
        }
        onStatus("unreachable", { text, reason, everConnected });
        return;
      }
      outbox.stop(reason);
      onStatus("refused", { text, reason, everConnected });
    },
    disconnect(reason) {
      outbox.disconnected();
      if (!socket.active) outbox.stop(reason === "io client disconnect" ? "closed" : "ended");
      onStatus(socket.active ? "reconnecting" : "disconnected", { text: "", reason });
    },
    error(e) {
      const text = e && typeof e === "object" && "message" in e ? String(e.message) : String(e);
      const reason = refusalReason(e && typeof e === "object" ? e : {});
      outbox.stop(reason);
      onStatus("error", { text, reason });
    },
    message(m) {
      // Live and replayed messages move the resume point (also when already shown).
      if (m && typeof m === "object") cursor.observe(m.seq);
    },
    resync_required(r) {
      // Away too long for a replay: the newest page comes from `history` (older ones on request),
      // and the resume point moves past the gap.
      if (r && typeof r === "object" && typeof r.to_seq === "number") cursor.observe(r.to_seq);
      loadHistory();
    },
  };
  for (const event of new Set([...Object.keys(core), ...Object.keys(on)])) {
    socket.on(event, (payload) => {
      core[event]?.(payload);
      on[event]?.(payload);
    });
  }
  return socket;
}
