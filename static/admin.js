// The agent console. Everything from the network is shown with textContent, never as HTML.
//
// Nothing is lost across reconnects and reloads: every (re)connection resumes from the greatest
// message seq this tab has seen (`auth.last_seq`, kept in sessionStorage), the selected
// conversation is read with `history`, and unacknowledged replies are resent with their
// `client_id`.
//
// One file of about 800 lines, on purpose: the console's parts (queue, conversation list, the open
// conversation, actions, history, notifications) share one page's state, and splitting them would
// thread that state through modules; what the console shares with the user page is in
// chat_common.js, and the connection, outbox and resume are in chat_core.js.

import {
  createSeqCursor,
  decodeToken,
  errorText,
  fetchHistory,
  loadJson,
  markSeen,
  oldestSeq,
  request,
  saveJson,
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
  formatDuration,
  formatTime,
  identityKey,
  placeBySeq,
  prefillToken,
  showIdentity,
  wireComposer,
  wireConnectForm,
  wireTyping,
} from "./chat_common.js";

const TOKEN_KEY = "livechat.admin.token";
/** How long after a connection the conversations it did not announce count as not open. */
const SNAPSHOT_MS = 2_000;

const els = {
  ...connectFormEls(),
  availability: /** @type {HTMLFieldSetElement} */ ($("availability")),
  availabilityHint: $("availability-hint"),
  queue: $("queue"),
  queueCount: $("queue-count"),
  online: $("online"),
  onlineCount: $("online-count"),
  conversations: $("conversations"),
  agents: $("agents"),
  title: $("conversation-title"),
  presence: $("conversation-presence"),
  state: $("conversation-state"),
  actions: $("conversation-actions"),
  claim: $("claim"),
  release: $("release"),
  resolve: $("resolve"),
  close: $("close"),
  transfer: $("transfer"),
  actionHint: $("action-hint"),
  contextBox: $("context-box"),
  context: $("context"),
  older: $("older"),
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
/** The greatest seq of a live or replayed `message`, sent as `auth.last_seq`. */
const cursor = createSeqCursor();
/** User ids online now (from `user_list`, `user_connected`, `user_disconnected`). */
let online = new Set();
/**
 * Conversations by user id.
 * @type {Map<string, {userId: string, log: HTMLOListElement, context: string | null,
 *   contexts: Set<string>, unread: number, lastActivity: number, count: number,
 *   status: string | null, assignee: string | null, queuePosition: number | null,
 *   newestTheirs: number, readSent: number, historyLoaded: boolean, historyDone: boolean,
 *   fresh: boolean, stale: boolean}>}
 */
const conversations = new Map();
/** The company's queue, first come first served: its first page (the whole queue while short). */
let queue = [];
/** How many wait in all (more than `queue` holds when the queue is long). */
let queueTotal = 0;
/** Agents by id: `{ status, load, capacity }`. */
const agents = new Map();
/** @type {string | null} */
let selected = null;
/** This agent's own user id, from the token (display only). */
let me = null;
/** "company/user/role" of the current token. */
let identity = null;
let readTimer = 0;
let snapshotTimer = 0;
/** Whether the action hint shows an error (kept) or a success note (cleared on change). */
let hintIsError = false;

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

function viewKey() {
  return identity ? `livechat.admin.view.${identity}` : null;
}

/** Keeps the selected conversation and the known ones, so a reload shows them again. */
function saveView() {
  const key = viewKey();
  if (!key) return;
  const users = [...conversations.values()].filter(listed).map((c) => c.userId).slice(-200);
  saveJson(key, { selected, users });
}

/** Switches to the token's identity: a different agent starts from an empty page. */
function useIdentity(token) {
  const next = identityKey(token);
  if (next === identity && next !== null) return;
  identity = next;
  seen.clear();
  conversations.clear();
  els.logs.replaceChildren();
  queue = [];
  queueTotal = 0;
  agents.clear();
  selected = null;
  cursor.use(identity ? `livechat.last_seq.${identity}` : null);
  const key = viewKey();
  const kept = key ? loadJson(key, {}) : {};
  for (const userId of Array.isArray(kept.users) ? kept.users : []) {
    if (typeof userId === "string") conversationOf(userId).fresh = true;
  }
  outbox.use(identity ? `livechat.outbox.${identity}` : null);
  if (typeof kept.selected === "string") select(kept.selected);
  else unselect();
  renderLists();
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
    // Infinite scroll back: reaching the top loads the previous page of history.
    log.addEventListener("scroll", () => {
      if (log.scrollTop < 40 && !els.older.hidden && !els.older.disabled) loadOlder();
    });
    els.logs.append(log);
    conv = {
      userId,
      log,
      context: null,
      contexts: new Set(),
      unread: 0,
      lastActivity: 0,
      count: 0,
      status: null,
      assignee: null,
      queuePosition: null,
      newestTheirs: 0,
      readSent: 0,
      historyLoaded: false,
      historyDone: false,
      fresh: false,
      stale: false,
    };
    conversations.set(userId, conv);
  }
  return conv;
}

/** Whether a conversation belongs in the list. */
function listed(c) {
  return c.count > 0 || c.context !== null || c.status !== null || c.fresh;
}

function append(conv, node) {
  appendToLog(conv.log, node);
}

function notice(conv, text) {
  appendNotice(conv.log, el("li", "notice system", text), cursor.value);
}

function touch(conv, unread, at = Date.now()) {
  conv.count += 1;
  conv.lastActivity = Math.max(conv.lastActivity, at);
  if (unread && conv.userId !== selected) conv.unread += 1;
}

function unselect() {
  selected = null;
  for (const c of conversations.values()) c.log.hidden = true;
  els.placeholder.hidden = false;
  els.title.textContent = "No conversation selected";
  els.messageLabel.textContent = "Reply";
  els.message.disabled = true;
  els.send.disabled = true;
  els.older.hidden = true;
  renderContext();
  renderPresence();
  renderState();
}

function select(userId) {
  if (selected !== userId) els.actionHint.textContent = "";
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
  renderState();
  renderOlder();
  renderLists();
  saveView();
  loadHistory(conv);
  scheduleRead();
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

function renderOlder() {
  const conv = selected === null ? undefined : conversations.get(selected);
  els.older.hidden = !conv || !conv.historyLoaded || conv.historyDone;
}

/** A conversation's status in words, e.g. "queued (#2)", "assigned to you". */
function statusWords(conv) {
  switch (conv.status) {
    case "queued":
      return conv.queuePosition ? `queued (#${conv.queuePosition})` : "queued";
    case "assigned":
      return conv.assignee === me ? "assigned to you" : `assigned to ${conv.assignee ?? "?"}`;
    case "bot":
      return "with the bot";
    case "resolved":
      return "closed";
    default:
      return "";
  }
}

/** The selected conversation's status line and which actions make sense for it. */
function renderState() {
  const conv = selected === null ? undefined : conversations.get(selected);
  const connected = Boolean(connection.socket?.connected);
  els.actions.hidden = !conv;
  if (!conv) {
    els.state.textContent = "";
    return;
  }
  const words = statusWords(conv);
  els.state.textContent = words ? `Status: ${words}` : "";
  const known = conv.status !== null;
  const mine = conv.status === "assigned" && conv.assignee === me;
  const queued = conv.status === "queued";
  // Unknown status: leave everything on and let the server answer.
  els.claim.disabled = !connected || (known && !queued);
  els.release.disabled = !connected || (known && !mine);
  els.transfer.disabled = !connected || (known && !mine);
  els.resolve.disabled = !connected || (known && !mine && !queued);
  els.close.disabled = !connected || (known && !mine && !queued);
}

/** One clickable row for a user; `detail` is extra text (status, waiting time). */
function personRow(userId, listName, detail) {
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
  if (detail) {
    button.append(el("span", "visually-hidden", ", "));
    button.append(detail);
  }
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

/** "waiting 3 min" for a queue entry, refreshed by the clock below. */
function waitedText(queuedAt) {
  return `#${queuedAt.position} · waiting ${formatDuration(Date.now() - queuedAt.since)}`;
}

function queueDetail(entry) {
  const span = el("span", "detail");
  if (typeof entry.queued_at === "number") {
    span.dataset.since = String(entry.queued_at);
    span.dataset.position = String(entry.position ?? "?");
    span.textContent = waitedText({ position: entry.position ?? "?", since: entry.queued_at });
  } else span.textContent = `#${entry.position ?? "?"}`;
  return span;
}

function refreshWaited() {
  for (const span of els.queue.querySelectorAll(".detail[data-since]")) {
    const since = Number(span.dataset.since);
    span.textContent = waitedText({ position: span.dataset.position, since });
  }
}

function renderAgents() {
  const rows = [...agents.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([id, a]) => {
    const li = el("li", "agent");
    const dot = el("span", a.status === "available" ? "dot online" : "dot");
    dot.setAttribute("aria-hidden", "true");
    const load = typeof a.load === "number" && typeof a.capacity === "number"
      ? ` · ${a.load}/${a.capacity} chats`
      : "";
    li.append(
      dot,
      el("span", "name", id === me ? `${id} (you)` : id),
      el("span", "detail", `${a.status}${load}`),
    );
    li.dataset.status = a.status;
    return li;
  });
  els.agents.replaceChildren(...(rows.length ? rows : [el("li", "empty", "No agents online")]));
}

function renderLists() {
  // Rebuilding the lists must not lose the keyboard focus of a row.
  const focused = document.activeElement;
  const keep = focused instanceof HTMLElement && focused.dataset.user !== undefined
    ? { user: focused.dataset.user, list: focused.dataset.list }
    : null;

  els.queueCount.textContent = `(${Math.max(queueTotal, queue.length)})`;
  const more = queueTotal - queue.length;
  els.queue.replaceChildren(
    ...(queue.length
      ? queue.map((q) => personRow(String(q.user_id), "queue", queueDetail(q)))
      : [el("li", "empty", "Nobody waiting")]),
    ...(more > 0 ? [el("li", "empty", `and ${more} more waiting`)] : []),
  );

  const users = [...online].sort((a, b) => a.localeCompare(b));
  els.onlineCount.textContent = `(${users.length})`;
  els.online.replaceChildren(
    ...(users.length
      ? users.map((u) => personRow(u, "online"))
      : [el("li", "empty", "Nobody online")]),
  );

  const convs = [...conversations.values()]
    .filter(listed)
    .sort((a, b) => b.lastActivity - a.lastActivity);
  els.conversations.replaceChildren(
    ...(convs.length
      ? convs.map((c) => {
        const words = statusWords(c);
        return personRow(c.userId, "conversations", words ? el("span", "detail", words) : null);
      })
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

/** Shows a message (live, replayed, or from `history`), once, in seq order. */
function showMessage(m, { live }) {
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
  } else if (m.role === "bot") {
    who = "Chatbot";
  } else {
    who = String(m.from ?? userId);
  }
  const time = typeof m.timestamp === "number" ? formatTime(m.timestamp) : "";
  const li = bubble({ who, mine, time, text: String(m.content ?? "") });
  if (m.id !== undefined) li.dataset.id = String(m.id);
  const fromUser = m.role === "user";
  if (Number.isSafeInteger(m.seq)) {
    placeBySeq(conv.log, li, m.seq);
    if (fromUser && m.seq > conv.newestTheirs) conv.newestTheirs = m.seq;
  } else append(conv, li);
  touch(conv, live && fromUser, typeof m.timestamp === "number" ? m.timestamp * 1000 : Date.now());
  if (userId === selected) scheduleRead();
}

function onMessage(m) {
  // Only live and replayed messages move the resume point (the core does that): `history` of
  // one conversation says nothing about the others.
  showMessage(m, { live: true });
  renderLists();
  saveView();
}

function onContext(payload) {
  if (!payload || typeof payload !== "object" || payload.user_id === undefined) return;
  const userId = String(payload.user_id);
  const conv = conversationOf(userId);
  const text = contextText(payload.context);
  conv.context = text || conv.context;
  if (!conv.contexts.has(text)) {
    // A resume may replay a handoff already shown.
    conv.contexts.add(text);
    notice(conv, `The chatbot handed ${userId} over to an agent.`);
    touch(conv, true);
  }
  if (userId === selected) renderContext();
  renderLists();
  saveView();
}

/** Applies a conversation as the server describes it (`conversation`, or a lifecycle ack). */
function applyConversation(payload) {
  if (!payload || typeof payload !== "object" || payload.user_id === undefined) return;
  const userId = String(payload.user_id);
  const conv = conversationOf(userId);
  conv.status = typeof payload.status === "string" ? payload.status : null;
  conv.assignee = payload.assignee === null || payload.assignee === undefined
    ? null
    : String(payload.assignee);
  conv.queuePosition = typeof payload.queue_position === "number" ? payload.queue_position : null;
  conv.fresh = true;
  const context = contextText(payload.context);
  if (context) conv.context = context;
  if (typeof payload.unread === "number") {
    if (userId === selected) scheduleRead();
    else conv.unread = payload.unread;
  }
  if (conv.lastActivity === 0) conv.lastActivity = Date.now();
  conv.stale = false;
  if (userId === selected) {
    renderContext();
    renderState();
  }
}

function onConversation(payload) {
  // A success note of an earlier action is stale once the conversation changes again.
  if (payload?.user_id !== undefined && String(payload.user_id) === selected && !hintIsError) {
    els.actionHint.textContent = "";
  }
  applyConversation(payload);
  renderLists();
  saveView();
}

function onQueue(payload) {
  if (!payload || !Array.isArray(payload.queue)) return;
  queue = payload.queue.filter((q) => q && typeof q === "object" && q.user_id !== undefined);
  // A server before `total` sent the whole queue.
  queueTotal = typeof payload.total === "number" ? payload.total : queue.length;
  renderLists();
}

/** A change past the first page: the page stays as it is; only the total moves. */
function onQueueChanged(payload) {
  if (!payload || typeof payload.total !== "number") return;
  queueTotal = payload.total;
  renderLists();
}

function onAgentStatus(payload) {
  if (!payload || typeof payload !== "object" || payload.agent_id === undefined) return;
  const id = String(payload.agent_id);
  const status = String(payload.status ?? "offline");
  agents.set(id, { status, load: payload.load, capacity: payload.capacity });
  if (id === me && (status === "available" || status === "away")) showAvailability(status);
  renderAgents();
}

function onRead(payload) {
  if (!payload || typeof payload !== "object" || payload.role === "user") return;
  const conv = conversations.get(String(payload.user_id));
  // Another agent (or tab) read it: the badge goes when they read the newest user message.
  if (conv && typeof payload.seq === "number" && payload.seq >= conv.newestTheirs) {
    conv.unread = 0;
    renderLists();
  }
}

function onUserList(payload) {
  const users = Array.isArray(payload?.users) ? payload.users : [];
  online = new Set(users.map(String));
  startSnapshot();
  renderPresence();
  renderLists();
}

function onUserConnected(payload) {
  if (payload?.user_id === undefined) return;
  const userId = String(payload.user_id);
  if (!online.has(userId)) {
    online.add(userId);
    presenceNote(userId, `${userId} is online.`);
  }
  renderPresence();
  renderLists();
}

function onUserDisconnected(payload) {
  if (payload?.user_id === undefined) return;
  const userId = String(payload.user_id);
  if (online.delete(userId)) presenceNote(userId, `${userId} went offline.`);
  renderPresence();
  renderLists();
}

function presenceNote(userId, text) {
  const conv = conversations.get(userId);
  if (conv && conv.count > 0) notice(conv, text);
}

/**
 * A (re)connection announces every open conversation; the ones it did not announce within a
 * moment are not open any more (returned to the bot or closed while this tab was away).
 */
function startSnapshot() {
  for (const c of conversations.values()) {
    c.stale = c.status === "queued" || c.status === "assigned";
  }
  clearTimeout(snapshotTimer);
  snapshotTimer = setTimeout(() => {
    for (const c of conversations.values()) {
      if (c.stale) {
        c.status = null;
        c.assignee = null;
        c.queuePosition = null;
        c.stale = false;
      }
    }
    renderState();
    renderLists();
  }, SNAPSHOT_MS);
}

// ---------- history and reads ----------

/** Loads the newest page of a conversation, once per connection. */
async function loadHistory(conv) {
  const socket = connection.socket;
  if (!socket?.connected || conv.historyLoaded) return;
  conv.historyLoaded = true;
  const page = await fetchHistory(socket, { user_id: conv.userId });
  if (socket !== connection.socket) return;
  if (!page.ok) {
    conv.historyLoaded = false;
    if (conv.userId === selected) {
      els.actionHint.textContent = `Could not load the conversation: ${page.error}`;
    }
    return;
  }
  for (const m of page.messages) showMessage(m, { live: false });
  if (!page.more) conv.historyDone = true;
  renderOlder();
  renderLists();
  if (conv.userId === selected) scheduleRead();
}

/** On every connection: the conversations' history is read again, the selected one now. */
function reloadHistory() {
  for (const c of conversations.values()) c.historyLoaded = false;
  const conv = selected === null ? undefined : conversations.get(selected);
  if (conv) loadHistory(conv);
}

async function loadOlder() {
  const conv = selected === null ? undefined : conversations.get(selected);
  const socket = connection.socket;
  const before = conv ? oldestSeq(conv.log) : undefined;
  if (!conv || !socket || before === undefined) return;
  els.older.disabled = true;
  const page = await fetchHistory(socket, { user_id: conv.userId, before });
  els.older.disabled = false;
  if (!page.ok) {
    els.actionHint.textContent = `Could not load earlier messages: ${page.error}`;
    return;
  }
  // Older messages go above: keep what the agent was reading where it was.
  const fromBottom = conv.log.scrollHeight - conv.log.scrollTop;
  for (const m of page.messages) showMessage(m, { live: false });
  conv.log.scrollTop = conv.log.scrollHeight - fromBottom;
  if (!page.more) conv.historyDone = true;
  renderOlder();
}

/** Reports the selected conversation read up to its newest user message, at most every second. */
function scheduleRead() {
  clearTimeout(readTimer);
  readTimer = setTimeout(() => {
    const conv = selected === null ? undefined : conversations.get(selected);
    const socket = connection.socket;
    if (!conv || document.visibilityState !== "visible" || !socket?.connected) return;
    if (conv.newestTheirs <= conv.readSent) return;
    conv.readSent = conv.newestTheirs;
    request(socket, "read", { user_id: conv.userId, seq: conv.newestTheirs });
  }, 1000);
}

// ---------- actions ----------

/** Sends a lifecycle event for the selected conversation and shows the outcome. */
async function act(event, payload, done) {
  const userId = selected;
  const socket = connection.socket;
  if (userId === null || !socket?.connected) {
    els.actionHint.textContent = "Not connected.";
    return;
  }
  els.actionHint.textContent = "";
  for (const b of els.actions.querySelectorAll("button")) b.disabled = true;
  const ack = await request(socket, event, { user_id: userId, ...payload });
  if (ack.ok) {
    if (ack.conversation) applyConversation(ack.conversation);
    if (userId === selected) {
      els.actionHint.textContent = done;
      hintIsError = false;
    }
    renderLists();
  } else if (userId === selected) {
    els.actionHint.textContent = `Could not ${event}: ${errorText(ack)}`;
    hintIsError = true;
  }
  renderState();
}

function transfer() {
  if (selected === null) return;
  const others = [...agents.entries()]
    .filter(([id, a]) => id !== me && a.status !== "offline")
    .map(([id]) => id);
  const hint = others.length ? ` (online: ${others.join(", ")})` : "";
  const agentId = prompt(`Transfer ${selected} to which agent id?${hint}`, others[0] ?? "");
  if (agentId === null || !agentId.trim()) return;
  const note = prompt("A note for the other agent (optional):", "");
  if (note === null) return;
  act(
    "transfer",
    { agent_id: agentId.trim(), ...(note.trim() ? { note: note.trim() } : {}) },
    `Transferred to ${agentId.trim()}.`,
  );
}

function showAvailability(status) {
  for (const input of els.availability.querySelectorAll("input")) {
    input.checked = input.value === status;
  }
}

async function changeAvailability(event) {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || !input.checked) return;
  const status = input.value;
  const previous = status === "away" ? "available" : "away";
  els.availabilityHint.textContent = "";
  const ack = await request(connection.socket, "status", { status });
  if (!ack.ok) {
    showAvailability(previous);
    els.availabilityHint.textContent = `Could not change your status: ${errorText(ack)}`;
  }
}

// ---------- connection and sending ----------

const connection = createConnection({
  els,
  storageKey: TOKEN_KEY,
  onToken: (token) => {
    showTokenIdentity(token);
    const claims = decodeToken(token);
    me = claims && claims.user_id !== undefined ? String(claims.user_id) : null;
    useIdentity(token);
  },
  cursor,
  pending: {
    seen,
    show: (li, payload) => {
      const conv = conversationOf(String(payload.user_id));
      conv.fresh = true;
      append(conv, li);
    },
    logOf: (payload) => conversations.get(String(payload.user_id))?.log,
  },
  loadHistory: reloadHistory,
  on: {
    connect: () => {
      els.availability.disabled = false;
      renderState();
    },
    disconnect: () => {
      els.availability.disabled = true;
      renderState();
    },
    user_list: onUserList,
    user_connected: onUserConnected,
    user_disconnected: onUserDisconnected,
    message: onMessage,
    chatbot_context: onContext,
    conversation: onConversation,
    queue: onQueue,
    queue_changed: onQueueChanged,
    agent_status: onAgentStatus,
    read: onRead,
    typing: (payload) => onTyping(payload),
  },
});
const outbox = connection.outbox;

function send(userId, content) {
  const conv = conversationOf(userId);
  outbox.send({ to: "user", user_id: userId, content });
  touch(conv, false);
  renderLists();
  saveView();
}

// ---------- wiring ----------

wireConnectForm(els, connection, showTokenIdentity);
wireComposer(els, connection, (content) => send(selected, content), () => selected !== null);
// Agents type in the selected conversation; they see its user (and other agents) typing there.
const onTyping = wireTyping({
  input: els.message,
  form: els.composer,
  indicator: $("typing"),
  connection,
  target: () => selected,
  shows: (p) => p.user_id === selected && String(p.from) !== me,
});
els.claim.addEventListener("click", () => act("claim", {}, "Claimed."));
els.release.addEventListener("click", () => act("release", {}, "Released to the queue."));
els.resolve.addEventListener(
  "click",
  () => act("resolve", { return_to_bot: true }, "Resolved: back with the bot."),
);
els.close.addEventListener(
  "click",
  () => act("resolve", { return_to_bot: false }, "Conversation closed."),
);
els.transfer.addEventListener("click", transfer);
els.availability.addEventListener("change", changeAvailability);
els.older.addEventListener("click", loadOlder);
document.addEventListener("visibilitychange", scheduleRead);
setInterval(refreshWaited, 5_000);

renderLists();
renderAgents();

prefillToken(els, TOKEN_KEY, connection, showTokenIdentity);
