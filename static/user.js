// The end-user chat page. Everything from the network is shown with textContent, never as HTML.
//
// Nothing is lost across reconnects and reloads: every (re)connection resumes from the greatest
// message seq this tab has seen (`auth.last_seq`, kept in sessionStorage), the log is rebuilt
// from `history` on connect, and unacknowledged messages are resent with their `client_id`.

import {
  createSeqCursor,
  decodeToken,
  fetchHistory,
  loadJson,
  markSeen,
  oldestSeq,
  request,
  saveJson,
  userErrorText,
} from "./chat_core.js";
import {
  $,
  appendNotice,
  appendToLog,
  bubble,
  connectFormEls,
  contextText,
  createConnection,
  el,
  identityKey,
  placeBySeq,
  prefillToken,
  showIdentity,
  wireComposer,
  wireConnectForm,
  wireTyping,
} from "./chat_common.js";

const TOKEN_KEY = "livechat.user.token";

const els = {
  ...connectFormEls(),
  conversationStatus: $("conversation-status"),
  availability: $("availability"),
  older: $("older"),
  log: $("log"),
  empty: $("empty"),
  composer: $("composer"),
  message: $("message"),
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
/** Whether the current socket connected before (its next connect is a reconnect). */
let connectedBefore = false;
/** Whether an agent is online, as `availability` last said (undefined: not said). */
let agentsOnline;

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
  cursor.use(identity ? `livechat.last_seq.${identity}` : null);
  const key = viewKey();
  view = { handedOff: false, ...(key ? loadJson(key, {}) : {}) };
  renderConversation();
  outbox.use(identity ? `livechat.outbox.${identity}` : null);
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
  const who = mine ? "You" : m.role === "bot" ? "Assistant" : String(m.from ?? "Agent");
  const at = typeof m.timestamp === "number" ? m.timestamp * 1000 : undefined;
  const li = bubble({ who, mine, at, text: String(m.content ?? "") });
  if (m.id !== undefined) li.dataset.id = String(m.id);
  if (Number.isSafeInteger(m.seq)) {
    placeBySeq(els.log, li, m.seq);
    if (!mine && m.seq > newestTheirs) newestTheirs = m.seq;
  } else appendToLog(els.log, li);
  els.empty.hidden = true;
  scheduleRead();
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
  // Nobody to answer now: say so, and that a message is still taken.
  const away = agentsOnline === false && conversation?.status !== "assigned";
  els.availability.hidden = !away;
  els.availability.textContent = away
    ? "No agent is online right now. Leave a message: it is kept, and an agent answers when one is back."
    : "";
}

/** `availability { agents_online }`: whether anyone can answer now. */
function onAvailability(payload) {
  if (!payload || typeof payload.agents_online !== "boolean") return;
  agentsOnline = payload.agents_online;
  renderConversation();
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
async function loadHistory() {
  const socket = connection.socket;
  const page = await fetchHistory(socket, {});
  if (socket !== connection.socket) return;
  if (!page.ok) {
    showNotice("Could not load earlier messages. They load when the connection is back.", "system");
    return;
  }
  for (const m of page.messages) {
    showMessage(m);
    // Own conversation only: everything meant for this user up to here is in the page.
    if (m && typeof m === "object") cursor.observe(m.seq);
  }
  if (!historyDone) els.older.hidden = !page.more;
}

async function loadOlder() {
  const socket = connection.socket;
  const before = oldestSeq(els.log);
  if (!socket || before === undefined) return;
  els.older.disabled = true;
  const page = await fetchHistory(socket, { before });
  els.older.disabled = false;
  if (!page.ok) {
    els.composerHint.textContent = "Could not load earlier messages. Try again in a moment.";
    return;
  }
  for (const m of page.messages) showMessage(m);
  if (!page.more) {
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

// ---------- connection and sending ----------

const connection = createConnection({
  els,
  storageKey: TOKEN_KEY,
  roles: ["user"],
  wrongRole: (role) =>
    role === "admin"
      ? "This is an agent's token: agents use the agent console (/admin.html)."
      : `This is a '${role}' token: this page needs a user token.`,
  describe: (token) => `You are ${decodeToken(token)?.user_id ?? "?"}`,
  onToken: (token) => {
    showTokenIdentity(token);
    useIdentity(token);
    connectedBefore = false;
    agentsOnline = undefined;
  },
  onError: (text) => showNotice(`Disconnected: ${text}`, "system"),
  cursor,
  pending: {
    seen,
    show: append,
    logOf: () => els.log,
    failedText: (entry) => userErrorText({ error: { code: entry.code } }),
  },
  loadHistory,
  on: {
    connect: () => {
      if (connectedBefore) showNotice("Reconnected.", "system");
      connectedBefore = true;
    },
    message: showMessage,
    chatbot_context: onContext,
    conversation: onConversation,
    queue: onQueue,
    availability: onAvailability,
    typing: (payload) => onTyping(payload),
  },
});
const outbox = connection.outbox;

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
