// The agent console. Everything from the network is shown with textContent, never as HTML.

import {
  $,
  appendToLog,
  bubble,
  contextText,
  createConnection,
  decodeToken,
  el,
  emitMessage,
  formatTime,
  markSeen,
  pendingBubble,
  prefillToken,
  showIdentity,
  wireComposer,
  wireConnectForm,
} from "./chat_common.js";

const TOKEN_KEY = "livechat.admin.token";

const els = {
  status: $("status"),
  connectForm: $("connect-form"),
  token: $("token"),
  connect: $("connect"),
  disconnect: $("disconnect"),
  identity: $("identity"),
  online: $("online"),
  onlineCount: $("online-count"),
  conversations: $("conversations"),
  title: $("conversation-title"),
  presence: $("conversation-presence"),
  contextBox: $("context-box"),
  context: $("context"),
  logs: $("logs"),
  placeholder: $("placeholder"),
  composer: $("composer"),
  messageLabel: $("message-label"),
  message: $("message"),
  send: $("send"),
  composerHint: $("composer-hint"),
};

/** Ids of messages already shown, so a message that arrives twice is shown once. */
const seen = new Set();
/** User ids online now (from `user_list`, `user_connected`, `user_disconnected`). */
let online = new Set();
/**
 * Conversations by user id.
 * @type {Map<string, {userId: string, log: HTMLOListElement, context: string | null,
 *   unread: number, lastActivity: number, count: number}>}
 */
const conversations = new Map();
/** @type {string | null} */
let selected = null;
/** This agent's own user id, from the token (display only). */
let me = null;

// ---------- helpers ----------

function showTokenIdentity(token) {
  showIdentity(els.identity, token, {
    signedInAs: "Signed in as agent",
    roleNote: (role) =>
      role !== "admin" && role !== "agent"
        ? `this is a '${role}' token; this page needs an admin (agent) token.`
        : "",
  });
}

// ---------- conversations ----------

function conversationOf(userId) {
  let conv = conversations.get(userId);
  if (!conv) {
    const log = /** @type {HTMLOListElement} */ (el("ol", "log"));
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-relevant", "additions text");
    log.setAttribute("aria-label", `Messages with ${userId}`);
    log.hidden = userId !== selected;
    els.logs.append(log);
    conv = { userId, log, context: null, unread: 0, lastActivity: 0, count: 0 };
    conversations.set(userId, conv);
  }
  return conv;
}

function append(conv, node) {
  appendToLog(conv.log, node);
}

function touch(conv, unread) {
  conv.count += 1;
  conv.lastActivity = Date.now();
  if (unread && conv.userId !== selected) conv.unread += 1;
}

function select(userId) {
  selected = userId;
  const conv = conversationOf(userId);
  conv.unread = 0;
  for (const c of conversations.values()) c.log.hidden = c !== conv;
  conv.log.scrollTop = conv.log.scrollHeight;
  els.placeholder.hidden = true;
  els.title.textContent = `Conversation with ${userId}`;
  els.messageLabel.textContent = `Reply to ${userId}`;
  els.message.disabled = false;
  els.send.disabled = false;
  els.composerHint.textContent = "";
  renderContext();
  renderPresence();
  renderLists();
}

function renderContext() {
  const conv = selected === null ? undefined : conversations.get(selected);
  const text = conv?.context ?? "";
  els.contextBox.hidden = !text;
  els.context.textContent = text;
}

function renderPresence() {
  els.presence.textContent = selected === null ? "" : online.has(selected) ? "online" : "offline";
}

/** One clickable row for a user. */
function personRow(userId, listName) {
  const conv = conversations.get(userId);
  const li = el("li");
  const button = el("button");
  button.type = "button";
  button.dataset.user = userId;
  button.dataset.list = listName;
  if (userId === selected) button.setAttribute("aria-current", "true");
  const isOnline = online.has(userId);
  const dot = el("span", isOnline ? "dot online" : "dot");
  dot.setAttribute("aria-hidden", "true");
  button.append(dot, el("span", "name", userId));
  button.append(el("span", "visually-hidden", isOnline ? " (online)" : " (offline)"));
  if (conv && conv.unread > 0) {
    const badge = el("span", "badge", String(conv.unread));
    badge.append(el("span", "visually-hidden", " unread"));
    button.append(badge);
  }
  button.addEventListener("click", () => {
    select(userId);
    els.message.focus();
  });
  li.append(button);
  return li;
}

function renderLists() {
  // Rebuilding the lists must not lose the keyboard focus of a row.
  const focused = document.activeElement;
  const keep = focused instanceof HTMLElement && focused.dataset.user !== undefined
    ? { user: focused.dataset.user, list: focused.dataset.list }
    : null;

  const users = [...online].sort((a, b) => a.localeCompare(b));
  els.onlineCount.textContent = `(${users.length})`;
  els.online.replaceChildren(
    ...(users.length
      ? users.map((u) => personRow(u, "online"))
      : [el("li", "empty", "Nobody online")]),
  );

  const convs = [...conversations.values()]
    .filter((c) => c.count > 0 || c.context)
    .sort((a, b) => b.lastActivity - a.lastActivity);
  els.conversations.replaceChildren(
    ...(convs.length
      ? convs.map((c) => personRow(c.userId, "conversations"))
      : [el("li", "empty", "No conversations yet")]),
  );

  if (keep) {
    for (const button of document.querySelectorAll(".people button")) {
      if (button.dataset.user === keep.user && button.dataset.list === keep.list) {
        button.focus();
        break;
      }
    }
  }
  const unread = [...conversations.values()].reduce((n, c) => n + c.unread, 0);
  document.title = `${unread ? `(${unread}) ` : ""}Agent console · Live chat`;
}

// ---------- incoming events ----------

function onMessage(m) {
  if (!m || typeof m !== "object") return;
  if (!markSeen(seen, m.id)) return;
  const userId = String(m.user_id ?? m.from ?? "");
  if (!userId) return;
  const conv = conversationOf(userId);
  let who;
  let mine = false;
  if (m.role === "agent") {
    mine = me !== null && m.from === me;
    who = mine ? "You" : `Agent ${m.from ?? ""}`.trim();
  } else {
    who = String(m.from ?? userId);
  }
  const time = typeof m.timestamp === "number" ? formatTime(m.timestamp) : "";
  append(conv, bubble({ who, mine, time, text: String(m.content ?? "") }));
  touch(conv, m.role !== "agent");
  renderLists();
}

function onContext(payload) {
  if (!payload || typeof payload !== "object" || payload.user_id === undefined) return;
  const userId = String(payload.user_id);
  const conv = conversationOf(userId);
  conv.context = contextText(payload.context);
  append(conv, el("li", "notice system", `The chatbot handed ${userId} over to an agent.`));
  touch(conv, true);
  if (userId === selected) renderContext();
  renderLists();
}

function presenceNote(userId, text) {
  const conv = conversations.get(userId);
  if (conv && conv.count > 0) append(conv, el("li", "notice system", text));
}

// ---------- connection ----------

const connection = createConnection({
  els,
  storageKey: TOKEN_KEY,
  onToken: (token) => {
    showTokenIdentity(token);
    const claims = decodeToken(token);
    me = claims && claims.user_id !== undefined ? String(claims.user_id) : null;
  },
  listen: (s) => {
    s.on("user_list", (payload) => {
      const users = Array.isArray(payload?.users) ? payload.users : [];
      online = new Set(users.map(String));
      renderPresence();
      renderLists();
    });
    s.on("user_connected", (payload) => {
      if (payload?.user_id === undefined) return;
      const userId = String(payload.user_id);
      if (!online.has(userId)) {
        online.add(userId);
        presenceNote(userId, `${userId} is online.`);
      }
      renderPresence();
      renderLists();
    });
    s.on("user_disconnected", (payload) => {
      if (payload?.user_id === undefined) return;
      const userId = String(payload.user_id);
      if (online.delete(userId)) presenceNote(userId, `${userId} went offline.`);
      renderPresence();
      renderLists();
    });
    s.on("message", onMessage);
    s.on("chatbot_context", onContext);
  },
});

// ---------- sending ----------

function send(userId, content) {
  const conv = conversationOf(userId);
  const pending = pendingBubble(content);
  append(conv, pending.li);
  touch(conv, false);
  renderLists();
  emitMessage(connection.socket, { to: "user", user_id: userId, content }, pending, seen);
}

// ---------- wiring ----------

wireConnectForm(els, connection, showTokenIdentity);
wireComposer(els, connection, (content) => send(selected, content), () => selected !== null);

renderLists();

prefillToken(els, TOKEN_KEY, connection, showTokenIdentity);
