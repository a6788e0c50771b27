// The end-user chat page. Everything from the network is shown with textContent, never as HTML.
//
// Nothing is lost across reconnects and reloads: every (re)connection resumes from the greatest
// message seq this tab has seen (`auth.last_seq`, kept in sessionStorage), the log is rebuilt
// from `history` on connect, and unacknowledged messages are resent with their `client_id`.

import {
  $,
  appendNotice,
  appendToLog,
  bubble,
  contextText,
  createConnection,
  createOutbox,
  createSeqCursor,
  el,
  errorText,
  formatTime,
  identityKey,
  loadJson,
  markSeen,
  oldestSeq,
  pendingBubble,
  placeBySeq,
  prefillToken,
  request,
  saveJson,
  showIdentity,
  wireComposer,
  wireConnectForm,
  wireTyping,
} from "./chat_common.js";

const TOKEN_KEY = "livechat.user.token";
/** Messages asked for per `history` page. */
const HISTORY_PAGE = 50;

const els = {
  status: $("status"),
  connectForm: $("connect-form"),
  token: $("token"),
  connect: $("connect"),
  disconnect: $("disconnect"),
  identity: $("identity"),
  conversationStatus: $("conversation-status"),
  older: $("older"),
  log: $("log"),
  empty: $("empty"),
  composer: $("composer"),
  message: $("message"),
  composerHint: $("composer-hint"),
};

/** Ids of messages already shown, so a message that arrives twice is shown once. */
const seen = new Set();
/** Handoff contexts already shown (a resume may replay one). */
const shownContexts = new Set();
/** The greatest message seq seen, sent as `auth.last_seq` on every (re)connection. */
const cursor = createSeqCursor();
/** "company/user/role" of the current token. */
let identity = null;
/** This tab's view of the conversation: whether it was ever handed to an agent. */
let view = { handedOff: false };
/** The conversation as last announced by the server. */
let conversation = null;
/** The greatest seq of a message from the other side, and the greatest one reported read. */
let newestTheirs = 0;
let readSent = 0;
let readTimer = 0;
/** Set once `history` said there is nothing older. */
let historyDone = false;

// ---------- helpers ----------

function showTokenIdentity(token) {
  showIdentity(els.identity, token, {
    signedInAs: "Signed in as",
    roleNote: (role) =>
      role !== "user" ? `this is a '${role}' token; agents should use the agent page.` : "",
  });
}

function viewKey() {
  return identity ? `livechat.user.view.${identity}` : null;
}

/** Switches to the token's identity: a different person starts from an empty page. */
function useIdentity(token) {
  const next = identityKey(token);
  if (next === identity && next !== null) return;
  identity = next;
  seen.clear();
  shownContexts.clear();
  els.log.replaceChildren();
  els.empty.hidden = false;
  els.older.hidden = true;
  historyDone = false;
  newestTheirs = 0;
  readSent = 0;
  conversation = null;
  cursor.use(identity);
  const key = viewKey();
  view = { handedOff: false, ...(key ? loadJson(key, {}) : {}) };
  renderConversation();
  outbox.use(identity);
}

// ---------- the log ----------

function append(node) {
  appendToLog(els.log, node);
  els.empty.hidden = true;
}

/** Shows a message (from `message`, a resume, or `history`), once, in seq order. */
function showMessage(m) {
  if (!m || typeof m !== "object") return;
  if (!markSeen(seen, m.id)) return;
  const mine = m.role === "user";
  const who = mine ? "You" : m.role === "bot" ? "Assistant" : `Agent ${m.from ?? ""}`.trim();
  const time = typeof m.timestamp === "number" ? formatTime(m.timestamp) : "";
  const li = bubble({ who, mine, time, text: String(m.content ?? "") });
  if (m.id !== undefined) li.dataset.id = String(m.id);
  if (Number.isSafeInteger(m.seq)) {
    placeBySeq(els.log, li, m.seq);
    if (!mine && m.seq > newestTheirs) newestTheirs = m.seq;
  } else appendToLog(els.log, li);
  els.empty.hidden = true;
  scheduleRead();
}

function onMessage(m) {
  // Live and replayed messages move the resume point (also when already shown).
  if (m && typeof m === "object") cursor.observe(m.seq);
  showMessage(m);
}

function showNotice(text, kind = "") {
  appendNotice(els.log, el("li", kind ? `notice ${kind}` : "notice", text), cursor.value);
  els.empty.hidden = true;
}

function onContext(payload) {
  const context = contextText(payload?.context);
  if (shownContexts.has(context)) return;
  shownContexts.add(context);
  showNotice(
    context
      ? `An agent has been asked to help. Context: ${context}`
      : "An agent has been asked to help.",
  );
}

// ---------- conversation status ----------

function statusText() {
  if (!conversation) return "";
  switch (conversation.status) {
    case "queued": {
      const n = conversation.queue_position;
      return typeof n === "number"
        ? `Waiting for an agent — you are number ${n} in the queue`
        : "Waiting for an agent";
    }
    case "assigned":
      return conversation.assignee
        ? `Chatting with ${conversation.assignee}`
        : "Chatting with an agent";
    case "bot":
      return view.handedOff ? "Back with the assistant" : "";
    case "resolved":
      return "Conversation closed";
    default:
      return "";
  }
}

function renderConversation() {
  const text = statusText();
  els.conversationStatus.textContent = text;
  els.conversationStatus.hidden = !text;
  if (conversation) els.conversationStatus.dataset.status = String(conversation.status);
}

function onConversation(payload) {
  if (!payload || typeof payload !== "object") return;
  conversation = {
    status: String(payload.status ?? ""),
    assignee: payload.assignee === null || payload.assignee === undefined
      ? null
      : String(payload.assignee),
    queue_position: typeof payload.queue_position === "number" ? payload.queue_position : null,
  };
  // "Back with the assistant" only after an agent was involved; a closed one starts over.
  if (conversation.status === "queued" || conversation.status === "assigned") view.handedOff = true;
  if (conversation.status === "resolved") view.handedOff = false;
  const key = viewKey();
  if (key) saveJson(key, view);
  renderConversation();
}

function onQueue(payload) {
  const position = payload?.position;
  if (typeof position !== "number") return; // null: out of the queue, `conversation` tells why
  conversation = { assignee: null, ...conversation, status: "queued", queue_position: position };
  view.handedOff = true;
  renderConversation();
}

// ---------- history and reads ----------

/** Loads the newest page of the conversation (on every connect: it fills what a reload lost). */
async function loadHistory(socket) {
  const ack = await request(socket, "history", { limit: HISTORY_PAGE });
  if (socket !== connection.socket) return;
  if (!ack.ok) {
    showNotice(`Could not load earlier messages: ${errorText(ack)}`, "system");
    return;
  }
  const messages = Array.isArray(ack.messages) ? ack.messages : [];
  for (const m of messages) {
    showMessage(m);
    // Own conversation only: everything meant for this user up to here is in the page.
    if (m && typeof m === "object") cursor.observe(m.seq);
  }
  if (!historyDone) els.older.hidden = ack.has_more !== true;
}

async function loadOlder() {
  const socket = connection.socket;
  const before = oldestSeq(els.log);
  if (!socket || before === undefined) return;
  els.older.disabled = true;
  const ack = await request(socket, "history", { before, limit: HISTORY_PAGE });
  els.older.disabled = false;
  if (!ack.ok) {
    els.composerHint.textContent = `Could not load earlier messages: ${errorText(ack)}`;
    return;
  }
  for (const m of Array.isArray(ack.messages) ? ack.messages : []) showMessage(m);
  if (ack.has_more !== true) {
    historyDone = true;
    els.older.hidden = true;
  }
}

/** Tells the server what this user has read (the agents' "seen"), at most every second. */
function scheduleRead() {
  clearTimeout(readTimer);
  readTimer = setTimeout(() => {
    const socket = connection.socket;
    if (document.visibilityState !== "visible" || !socket?.connected) return;
    if (newestTheirs <= readSent) return;
    readSent = newestTheirs;
    request(socket, "read", { seq: newestTheirs });
  }, 1000);
}

// ---------- connection ----------

const connection = createConnection({
  els,
  storageKey: TOKEN_KEY,
  onToken: (token) => {
    showTokenIdentity(token);
    useIdentity(token);
  },
  onError: (text) => showNotice(`The server closed the connection: ${text}`, "system"),
  lastSeq: () => cursor.value,
  listen: (s) => {
    s.io.on("reconnect", () => showNotice("Reconnected.", "system"));
    s.on("connect", () => {
      outbox.resend();
      loadHistory(s);
    });
    s.on("disconnect", () => outbox.disconnected());
    // Away too long for a replay: the server says so, and the newest page comes from `history`.
    s.on("resync_required", (payload) => {
      if (typeof payload?.to_seq === "number") cursor.observe(payload.to_seq);
      loadHistory(s);
    });
    s.on("message", onMessage);
    s.on("chatbot_context", onContext);
    s.on("conversation", onConversation);
    s.on("queue", onQueue);
    s.on("typing", (payload) => onTyping(payload));
  },
});

// ---------- sending ----------

const outbox = createOutbox({
  getSocket: () => connection.socket,
  seen,
  render: (payload, at) => {
    const pending = pendingBubble(String(payload.content ?? ""), at);
    append(pending.li);
    return pending;
  },
  onSent: (li, ack) => {
    if (Number.isSafeInteger(ack.seq)) placeBySeq(els.log, li, ack.seq);
  },
});

function send(content) {
  outbox.send({ to: "admin", content });
}

// ---------- wiring ----------

wireConnectForm(els, connection, showTokenIdentity);
wireComposer(els, connection, send);
// Users type in their own conversation (no user_id); they see agents typing.
const onTyping = wireTyping({
  input: els.message,
  form: els.composer,
  indicator: $("typing"),
  connection,
  target: () => undefined,
  shows: (p) => p.role === "agent",
});
els.older.addEventListener("click", loadOlder);
document.addEventListener("visibilitychange", scheduleRead);
prefillToken(els, TOKEN_KEY, connection, showTokenIdentity);
