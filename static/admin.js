// The agent console. Everything from the network is shown with textContent, never as HTML.
//
// Nothing is lost across reconnects and reloads: every (re)connection resumes from the greatest
// message seq this tab has seen (`auth.last_seq`, kept in sessionStorage), the selected
// conversation is read with `history`, and unacknowledged replies are resent with their
// `client_id`.
//
// One file of about 1,100 lines, on purpose: the console's parts (queue, conversation list, the
// open conversation, actions, notes, history, read receipts) share one page's state, and
// splitting them would thread that state through modules. What stands alone is beside it:
// alerts (console_alerts.js), the dialogs (console_dialogs.js), saved replies (canned.js),
// attachments (attachments.js), what the console shares with the user page (chat_common.js),
// and the connection, outbox and resume (chat_core.js).

import { attachmentList, attachmentsOf, uploadAttachment, uploadErrorText } from "./attachments.js";
import { fetchCanned, fillPlaceholders, wireCanned } from "./canned.js";
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
  serverRoutes,
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
  identityKey,
  placeBySeq,
  prefillToken,
  showIdentity,
  wireComposer,
  wireConnectForm,
  wireTyping,
} from "./chat_common.js";
import { createAlerts } from "./console_alerts.js";
import { chooseTransfer, confirmAction } from "./console_dialogs.js";

const TOKEN_KEY = "livechat.admin.token";
/** How long after a connection the conversations it did not announce count as not open. */
const SNAPSHOT_MS = 2_000;
/** Below this width the console is a phone's: the conversation first, lists folded. */
const PHONE = globalThis.matchMedia("(max-width: 700px)");

const els = {
  ...connectFormEls(),
  availability: /** @type {HTMLFieldSetElement} */ ($("availability")),
  availabilityHint: $("availability-hint"),
  queue: $("queue"),
  queueCount: $("queue-count"),
  online: $("online"),
  onlineCount: $("online-count"),
  conversations: $("conversations"),
  conversationsCount: $("conversations-count"),
  agents: $("agents"),
  agentsCount: $("agents-count"),
  panel: $("conversation"),
  title: $("conversation-title"),
  presence: $("conversation-presence"),
  state: $("conversation-state"),
  rating: $("conversation-rating"),
  actions: $("conversation-actions"),
  claim: $("claim"),
  release: $("release"),
  resolve: $("resolve"),
  close: $("close"),
  transfer: $("transfer"),
  waiting: $("waiting-prompt"),
  waitingText: $("waiting-text"),
  waitingClaim: $("waiting-claim"),
  actionHint: $("action-hint"),
  contextBox: $("context-box"),
  context: $("context"),
  older: $("older"),
  logs: $("logs"),
  placeholder: $("placeholder"),
  composer: $("composer"),
  mode: $("mode"),
  messageLabel: $("message-label"),
  message: /** @type {HTMLInputElement} */ ($("message")),
  canned: $("canned"),
  attach: /** @type {HTMLInputElement} */ ($("attach")),
  send: $("send"),
};

/** Ids of messages and notes already shown, so one that arrives twice is shown once. */
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
 *   newestTheirs: number, readSent: number, userRead: number, historyLoaded: boolean,
 *   historyDone: boolean, fresh: boolean, stale: boolean, wasMine: boolean,
 *   releasedHere: boolean, rating: {score: number, comment: string} | null}>}
 */
const conversations = new Map();
/** The company's queue, first come first served: its first page (the whole queue while short). */
let queue = [];
/** How many wait in all (more than `queue` holds when the queue is long). */
let queueTotal = 0;
/** User ids of the queue as last shown, to tell a newly queued chat from one seen before. */
let queueKnown = null;
/** Agents by id: `{ status, load, capacity }`. */
const agents = new Map();
/** @type {string | null} */
let selected = null;
/** This agent's own user id, from the token (display only). */
let me = null;
/** The token of the connection (attachments and saved replies are read with it). */
let token = "";
/** "company/user/role" of the current token. */
let identity = null;
/** The company's saved replies (`GET /api/v1/canned_responses`), read on each connection. */
let canned = [];
let readTimer = 0;
let snapshotTimer = 0;

const alerts = createAlerts({ live: $("alerts"), sound: $("sound"), notify: $("notify") });

// ---------- helpers ----------

function showTokenIdentity(value) {
  showIdentity(els.identity, value, {
    signedInAs: "Signed in as agent",
    roleNote: (role) =>
      role !== "admin" && role !== "agent"
        ? `this is a '${role}' token; this page needs an admin (agent) token.`
        : "",
  });
}

/** Says how an action went: an error in the error style (kept), a success briefly. */
function hint(text, kind) {
  els.actionHint.textContent = text;
  els.actionHint.dataset.kind = kind;
}

function clearHint() {
  els.actionHint.textContent = "";
  delete els.actionHint.dataset.kind;
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
function useIdentity(value) {
  const next = identityKey(value);
  if (next === identity && next !== null) return;
  identity = next;
  seen.clear();
  conversations.clear();
  els.logs.replaceChildren();
  queue = [];
  queueTotal = 0;
  queueKnown = null;
  agents.clear();
  selected = null;
  cursor.use(identity ? `livechat.last_seq.${identity}` : null);
  const key = viewKey();
  const kept = key ? loadJson(key, {}) : {};
  for (const userId of Array.isArray(kept.users) ? kept.users : []) {
    if (typeof userId === "string") conversationOf(userId).fresh = true;
  }
  outbox.use(identity ? `livechat.outbox.${identity}` : null);
  if (typeof kept.selected === "string") select(kept.selected, { focus: false });
  else unselect();
  renderLists();
}

// ---------- conversations ----------

function conversationOf(userId) {
  let conv = conversations.get(userId);
  if (!conv) {
    // A list (its items stay list items for screen readers), announced as it grows, and
    // focusable so the keyboard scrolls it.
    const log = /** @type {HTMLOListElement} */ (el("ol", "log"));
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-relevant", "additions text");
    log.setAttribute("aria-label", `Messages with ${userId}`);
    log.tabIndex = 0;
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
      userRead: 0,
      historyLoaded: false,
      historyDone: false,
      fresh: false,
      stale: false,
      wasMine: false,
      releasedHere: false,
      rating: null,
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
  els.panel.dataset.selected = "false";
  els.placeholder.hidden = false;
  els.title.textContent = "No conversation selected";
  els.title.removeAttribute("title");
  els.messageLabel.textContent = "Reply";
  setComposerEnabled(false);
  els.older.hidden = true;
  renderContext();
  renderPresence();
  renderState();
}

function setComposerEnabled(on) {
  els.message.disabled = !on;
  els.send.disabled = !on;
  els.attach.disabled = !on;
  for (const input of els.mode.querySelectorAll("input")) input.disabled = !on;
}

function select(userId, { focus = true } = {}) {
  if (selected !== userId) clearHint();
  selected = userId;
  const conv = conversationOf(userId);
  conv.unread = 0;
  for (const c of conversations.values()) c.log.hidden = c !== conv;
  conv.log.scrollTop = conv.log.scrollHeight;
  els.panel.dataset.selected = "true";
  els.placeholder.hidden = true;
  els.title.textContent = `Conversation with ${userId}`;
  els.title.title = userId;
  els.messageLabel.textContent = `Reply to ${userId}`;
  setComposerEnabled(true);
  els.composerHint.textContent = "";
  renderContext();
  renderPresence();
  renderState();
  renderOlder();
  renderLists();
  saveView();
  loadHistory(conv);
  scheduleRead();
  // On a phone the conversation sits above the lists: bring it into view.
  if (focus && PHONE.matches) {
    els.panel.scrollIntoView({ block: "start" });
    els.title.focus({ preventScroll: true });
  }
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

/** This agent's own load and capacity, when the server said them. */
function myRoom() {
  const mine = me === null ? undefined : agents.get(me);
  if (!mine || typeof mine.load !== "number" || typeof mine.capacity !== "number") return true;
  return mine.load < mine.capacity;
}

/** Whether this agent is available, as the radio buttons show it. */
function iAmAvailable() {
  const checked = els.availability.querySelector("input:checked");
  return !checked || checked.value === "available";
}

/**
 * A conversation waiting in the queue while this agent is free: the one this agent had before
 * (its socket dropped, the grace period passed), else the first in the queue. None while away,
 * full, or when the agent released it here.
 */
function waitingForMe() {
  if (!connection.socket?.connected || !iAmAvailable() || !myRoom()) return null;
  const queued = queue.map((q) => conversations.get(String(q.user_id)))
    .filter((c) => c && c.status === "queued" && !c.releasedHere);
  return queued.find((c) => c.wasMine) ?? queued[0] ?? null;
}

function renderWaiting() {
  const conv = waitingForMe();
  els.waiting.hidden = conv === null;
  if (!conv) return;
  els.waiting.dataset.user = conv.userId;
  // The name as much as fits (the whole one on hover), then what is asked of the agent.
  const who = el("strong", "who", conv.userId);
  who.title = conv.userId;
  els.waitingText.replaceChildren(
    who,
    el(
      "span",
      "",
      conv.wasMine ? "is back in the queue (you were helping them)." : "is waiting for an agent.",
    ),
  );
  els.waitingClaim.setAttribute("aria-label", `Claim ${conv.userId}`);
}

/** The selected conversation's status line and which actions make sense for it. */
function renderState() {
  renderWaiting();
  const conv = selected === null ? undefined : conversations.get(selected);
  const connected = Boolean(connection.socket?.connected);
  els.actions.hidden = !conv;
  els.rating.hidden = !conv?.rating;
  if (conv?.rating) {
    const { score, comment } = conv.rating;
    els.rating.textContent = `Rated ${score}/5${comment ? `: “${comment}”` : ""}`;
  }
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
  // The whole name on hover; the row shows as much as fits.
  button.title = userId;
  if (userId === selected) button.setAttribute("aria-current", "true");
  const isOnline = online.has(userId);
  const dot = el("span", isOnline ? "dot online" : "dot");
  dot.setAttribute("aria-hidden", "true");
  const text = el("span", "person");
  text.append(el("span", "name", userId));
  text.append(el("span", "visually-hidden", isOnline ? " (online)" : " (offline)"));
  if (detail) {
    text.append(el("span", "visually-hidden", ", "));
    text.append(detail);
  }
  button.append(dot, text);
  if (conv && conv.unread > 0) {
    const badge = el("span", "badge", String(conv.unread));
    badge.append(el("span", "visually-hidden", " unread"));
    button.append(badge);
  }
  button.addEventListener("click", () => {
    select(userId);
    if (!PHONE.matches) els.message.focus();
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
    li.title = id;
    const dot = el("span", a.status === "available" ? "dot online" : "dot");
    dot.setAttribute("aria-hidden", "true");
    const load = typeof a.load === "number" && typeof a.capacity === "number"
      ? ` · ${a.load}/${a.capacity} chats`
      : "";
    const text = el("span", "person");
    text.append(
      el("span", "name", id === me ? `${id} (you)` : id),
      el("span", "detail", `${a.status}${load}`),
    );
    li.append(dot, text);
    li.dataset.status = a.status;
    return li;
  });
  const present = [...agents.values()].filter((a) => a.status !== "offline").length;
  els.agentsCount.textContent = `(${present})`;
  els.agents.replaceChildren(...(rows.length ? rows : [el("li", "empty", "No agents online")]));
  renderWaiting();
}

/** The tab title: unread messages and waiting chats, so a glance at the tab tells. */
function renderTitle() {
  const unread = [...conversations.values()].reduce((n, c) => n + c.unread, 0);
  const waiting = Math.max(queueTotal, queue.length);
  const parts = [];
  if (unread) parts.push(`(${unread})`);
  if (waiting) parts.push(`${waiting} waiting ·`);
  document.title = `${parts.join(" ")}${parts.length ? " " : ""}Agent console · Live chat`;
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
  els.conversationsCount.textContent = `(${convs.length})`;
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
  renderTitle();
  renderWaiting();
}

// ---------- incoming events ----------

/** Who wrote `m`, as the console shows it, and the bubble's kind. */
function authorOf(m, userId) {
  if (m.kind === "note") {
    const agent = String(m.agent_id ?? m.from ?? "");
    const by = agent === me ? "you" : agent;
    // A transfer's note names whom it was for.
    const to = m.to_agent_id === undefined || m.to_agent_id === null
      ? ""
      : ` → ${String(m.to_agent_id) === me ? "you" : String(m.to_agent_id)}`;
    return { who: `Private note · ${by}${to}`, mine: false, kind: "note" };
  }
  if (m.role === "agent") {
    if (me !== null && m.from === me) return { who: "You", mine: true, kind: "agent" };
    // Another agent's reply: on the agents' side, marked as theirs, never like the customer's.
    return { who: `${String(m.from ?? "An agent")} (agent)`, mine: false, kind: "agent other" };
  }
  if (m.role === "bot") return { who: "Chatbot", mine: false, kind: "bot" };
  return { who: String(m.from ?? userId), mine: false, kind: "customer" };
}

/** Shows a message or a note (live, replayed, or from `history`), once, in seq order. */
function showMessage(m, { live }) {
  if (!m || typeof m !== "object") return;
  if (m.kind === "rating") {
    showRating(m);
    return;
  }
  if (!markSeen(seen, m.id)) return;
  const userId = String(m.user_id ?? m.from ?? "");
  if (!userId) return;
  const conv = conversationOf(userId);
  const { who, mine, kind } = authorOf(m, userId);
  const at = typeof m.timestamp === "number" ? m.timestamp * 1000 : undefined;
  const li = bubble({ who, mine, at, text: String(m.content ?? ""), kind });
  const files = attachmentsOf(m);
  if (files.length) li.append(attachmentList({ items: files, server: "", getToken: () => token }));
  if (m.id !== undefined) li.dataset.id = String(m.id);
  const fromUser = m.role === "user" && m.kind !== "note";
  if (Number.isSafeInteger(m.seq)) {
    placeBySeq(conv.log, li, m.seq);
    if (fromUser && m.seq > conv.newestTheirs) conv.newestTheirs = m.seq;
  } else append(conv, li);
  touch(conv, live && fromUser, at ?? Date.now());
  if (kind.startsWith("agent")) renderReceipts(conv);
  if (userId === selected) scheduleRead();
  if (live && fromUser) alertMessage(conv, String(m.content ?? ""));
}

/** A new message from a customer: an alert unless the agent is reading that conversation. */
function alertMessage(conv, text) {
  const reading = conv.userId === selected && document.visibilityState === "visible" &&
    document.hasFocus();
  if (reading) return;
  alerts.raise({
    title: `New message from ${conv.userId}`,
    body: text.length > 120 ? `${text.slice(0, 119)}…` : text,
    tag: `message:${conv.userId}`,
  });
}

function onMessage(m) {
  // Only live and replayed messages move the resume point (the core does that): `history` of
  // one conversation says nothing about the others.
  showMessage(m, { live: true });
  renderLists();
  saveView();
}

/**
 * A rating (`rating`, or `kind: "rating"` in `history`): a line in the conversation, once (by
 * its seq), and the score on the conversation.
 */
function showRating(r) {
  if (!r || typeof r !== "object" || r.user_id === undefined || typeof r.score !== "number") {
    return;
  }
  const conv = conversationOf(String(r.user_id));
  const comment = typeof r.comment === "string" ? r.comment : "";
  conv.rating = { score: r.score, comment };
  if (Number.isSafeInteger(r.seq) && markSeen(seen, `rating:${r.seq}`)) {
    const li = el(
      "li",
      "notice rating-line",
      `${conv.userId} rated this conversation ${r.score}/5${comment ? `: “${comment}”` : "."}`,
    );
    placeBySeq(conv.log, li, r.seq);
  }
  if (conv.userId === selected) renderState();
}

function onRating(payload) {
  showRating(payload);
  renderLists();
}

/** A private note (`note`): agents only; shown in its conversation in the note style. */
function onNote(payload) {
  if (!payload || typeof payload !== "object" || payload.user_id === undefined) return;
  showMessage({ ...payload, kind: "note", role: "agent", from: payload.agent_id }, {
    live: false,
  });
  renderLists();
}

/** "Read" under the agents' messages the customer has read (`read` from the user). */
function renderReceipts(conv) {
  for (const li of conv.log.querySelectorAll(".msg.agent[data-seq]")) {
    const read = Number(li.dataset.seq) <= conv.userRead;
    li.toggleAttribute("data-read", read);
    let state = li.querySelector(".state");
    if (!read) continue;
    if (!state) {
      state = el("div", "state");
      li.append(state);
    }
    if (state.textContent !== "read") state.textContent = "read";
  }
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
  const wasMine = conv.status === "assigned" && conv.assignee === me;
  conv.status = typeof payload.status === "string" ? payload.status : null;
  conv.assignee = payload.assignee === null || payload.assignee === undefined
    ? null
    : String(payload.assignee);
  // Remembered while it waits: if it comes back to the queue, this agent is asked first.
  if (wasMine && conv.status === "queued") conv.wasMine = true;
  if (conv.status !== "queued") {
    conv.wasMine = false;
    conv.releasedHere = false;
  }
  conv.queuePosition = typeof payload.queue_position === "number" ? payload.queue_position : null;
  conv.fresh = true;
  const context = contextText(payload.context);
  if (context) conv.context = context;
  if (typeof payload.user_read_seq === "number" && payload.user_read_seq > conv.userRead) {
    // How far the customer has read, for an agent who connected after they read.
    conv.userRead = payload.user_read_seq;
    renderReceipts(conv);
  }
  const rating = payload.rating;
  if (rating && typeof rating === "object" && typeof rating.score === "number") {
    conv.rating = {
      score: rating.score,
      comment: typeof rating.comment === "string" ? rating.comment : "",
    };
  }
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
  if (
    payload?.user_id !== undefined && String(payload.user_id) === selected &&
    els.actionHint.dataset.kind !== "error"
  ) clearHint();
  applyConversation(payload);
  renderLists();
  saveView();
}

/** Alerts for chats that joined the queue since it was last shown (none on the first page). */
function alertQueued(entries) {
  const ids = entries.map((q) => String(q.user_id));
  if (queueKnown !== null) {
    for (const id of ids) {
      if (!queueKnown.has(id)) {
        alerts.raise({
          title: "New chat waiting",
          body: `${id} is waiting for an agent`,
          tag: `queue:${id}`,
        });
      }
    }
  }
  queueKnown = new Set(ids);
}

function onQueue(payload) {
  if (!payload || !Array.isArray(payload.queue)) return;
  queue = payload.queue.filter((q) => q && typeof q === "object" && q.user_id !== undefined);
  // A server before `total` sent the whole queue.
  queueTotal = typeof payload.total === "number" ? payload.total : queue.length;
  alertQueued(queue);
  renderLists();
}

/** A change past the first page: the page stays as it is; only the total moves. */
function onQueueChanged(payload) {
  if (!payload || typeof payload.total !== "number") return;
  const added = Array.isArray(payload.added) ? payload.added : [];
  if (added.length && queueKnown !== null) {
    alerts.raise({
      title: "New chat waiting",
      body: `${payload.total} waiting for an agent`,
      tag: "queue",
    });
  }
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
  if (!payload || typeof payload !== "object") return;
  const conv = conversations.get(String(payload.user_id));
  if (!conv || typeof payload.seq !== "number") return;
  if (payload.role === "user") {
    // The customer read up to here: the agents' messages so far show "read".
    if (payload.seq > conv.userRead) {
      conv.userRead = payload.seq;
      renderReceipts(conv);
    }
    return;
  }
  // Another agent (or tab) read it: the badge goes when they read the newest user message.
  if (payload.seq >= conv.newestTheirs) {
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
    if (conv.userId === selected) hint(`Could not load the conversation: ${page.error}`, "error");
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
    hint(`Could not load earlier messages: ${page.error}`, "error");
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

/** Sends a lifecycle event for `userId`'s conversation and shows the outcome. */
async function act(event, payload, done, userId = selected) {
  const socket = connection.socket;
  if (userId === null || !socket?.connected) {
    hint("Not connected: wait for the connection to come back.", "error");
    return false;
  }
  clearHint();
  for (const b of els.actions.querySelectorAll("button")) b.disabled = true;
  const ack = await request(socket, event, { user_id: userId, ...payload });
  if (ack.ok) {
    if (ack.conversation) applyConversation(ack.conversation);
    if (userId === selected) hint(done, "ok");
    renderLists();
  } else if (userId === selected) {
    hint(`Could not ${event}: ${errorText(ack)}`, "error");
  }
  renderState();
  return ack.ok === true;
}

async function transfer() {
  const userId = selected;
  if (userId === null) return;
  const others = [...agents.entries()]
    .filter(([id, a]) => id !== me && a.status !== "offline")
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, a]) => ({ id, ...a }));
  const choice = await chooseTransfer({ userId, agents: others });
  if (!choice) return;
  await act(
    "transfer",
    { agent_id: choice.agentId, ...(choice.note ? { note: choice.note } : {}) },
    `Transferred to ${choice.agentId}.`,
    userId,
  );
}

/** Resolve and close end the conversation for the customer: asked first. */
async function resolve(returnToBot) {
  const userId = selected;
  if (userId === null) return;
  const ok = await confirmAction(
    returnToBot
      ? {
        title: `Return ${userId} to the bot?`,
        text: "The conversation leaves the agents; the chatbot answers this customer again.",
        confirm: "Resolve → bot",
      }
      : {
        title: `Close the conversation with ${userId}?`,
        text: "It ends for the customer; their next message opens a new conversation.",
        confirm: "Close it",
      },
  );
  if (!ok) return;
  await act(
    "resolve",
    { return_to_bot: returnToBot },
    returnToBot ? "Resolved: back with the bot." : "Conversation closed.",
    userId,
  );
}

async function release() {
  const userId = selected;
  if (userId === null) return;
  const conv = conversationOf(userId);
  if (await act("release", {}, "Released to the queue.", userId)) conv.releasedHere = true;
  renderState();
}

function showAvailability(status) {
  for (const input of els.availability.querySelectorAll("input")) {
    input.checked = input.value === status;
  }
  renderWaiting();
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
  renderWaiting();
}

// ---------- connection and sending ----------

const connection = createConnection({
  els,
  storageKey: TOKEN_KEY,
  roles: ["admin"],
  wrongRole: (role) =>
    role === "user"
      ? "This is a customer's token: the console needs an agent (admin) token."
      : `This is a '${role}' token: the console needs an agent (admin) token.`,
  describe: (value) => `Agent ${decodeToken(value)?.user_id ?? "?"}`,
  onToken: (value) => {
    showTokenIdentity(value);
    token = value;
    const claims = decodeToken(value);
    me = claims && claims.user_id !== undefined ? String(claims.user_id) : null;
    useIdentity(value);
  },
  cursor,
  pending: {
    seen,
    show: (li, payload) => {
      const conv = conversationOf(String(payload.user_id));
      conv.fresh = true;
      li.classList.add("agent");
      append(conv, li);
    },
    logOf: (payload) => conversations.get(String(payload.user_id))?.log,
  },
  loadHistory: reloadHistory,
  on: {
    connect: async () => {
      els.availability.disabled = false;
      renderState();
      // Tools this server has: the buttons of the others stay hidden.
      const routes = await serverRoutes("");
      $("attach-label").hidden = !routes.has("/api/v1/attachments");
      if (routes.has("/api/v1/canned_responses")) canned = await fetchCanned("", token);
      renderPlaceholder();
    },
    disconnect: () => {
      els.availability.disabled = true;
      renderState();
    },
    user_list: onUserList,
    user_connected: onUserConnected,
    user_disconnected: onUserDisconnected,
    message: onMessage,
    note: onNote,
    rating: onRating,
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

/** Whether the composer writes a private note rather than a reply. */
function noteMode() {
  return els.mode.querySelector("input:checked")?.value === "note";
}

function send(userId, content) {
  const conv = conversationOf(userId);
  if (noteMode()) {
    sendNote(userId, content);
    return;
  }
  outbox.send({ to: "user", user_id: userId, content });
  touch(conv, false);
  renderLists();
  saveView();
}

/** A private note: agents only, never the customer. Not kept in the outbox: it is answered now. */
async function sendNote(userId, content) {
  const socket = connection.socket;
  const ack = await request(socket, "note", { user_id: userId, content });
  if (!ack.ok) {
    els.message.value = content;
    hint(`Could not save the note: ${errorText(ack)}`, "error");
    return;
  }
  showMessage({
    id: ack.id,
    seq: ack.seq,
    user_id: userId,
    agent_id: me,
    content,
    kind: "note",
    role: "agent",
    timestamp: Math.floor(Date.now() / 1000),
  }, { live: false });
  renderLists();
}

/** A chosen file: uploaded, then sent as a reply carrying it. */
async function sendFile() {
  const file = els.attach.files?.[0];
  const userId = selected;
  els.attach.value = "";
  if (!file || userId === null) return;
  els.composerHint.textContent = `Sending ${file.name}…`;
  const result = await uploadAttachment({ server: "", token, file });
  if (!result.ok) {
    els.composerHint.textContent = uploadErrorText(result);
    return;
  }
  els.composerHint.textContent = "";
  // The file is the message; typed text, if any, goes with it.
  const content = els.message.value.trim();
  els.message.value = "";
  outbox.send({ to: "user", user_id: userId, content, attachments: [result.attachment.id] });
  touch(conversationOf(userId), false);
  renderLists();
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
  target: () => (noteMode() ? null : selected),
  shows: (p) => p.user_id === selected && String(p.from) !== me,
});
wireCanned({
  input: els.message,
  list: els.canned,
  responses: () => canned,
  fill: (text) => fillPlaceholders(text, { userId: selected, agentName: me }),
});
/** The reply box says what it writes, and that "/" finds saved replies when there are some. */
function renderPlaceholder() {
  els.message.placeholder = noteMode()
    ? "Private note: only agents see it"
    : canned.length
    ? "Reply… (/ for saved replies)"
    : "Reply…";
}

els.mode.addEventListener("change", () => {
  const note = noteMode();
  els.composer.classList.toggle("note-mode", note);
  renderPlaceholder();
  els.messageLabel.textContent = note
    ? `Private note on ${selected ?? "this conversation"}`
    : `Reply to ${selected ?? ""}`.trim();
});
els.claim.addEventListener("click", () => act("claim", {}, "Claimed."));
els.waitingClaim.addEventListener("click", async () => {
  const userId = els.waiting.dataset.user;
  if (!userId) return;
  select(userId);
  await act("claim", {}, "Claimed.", userId);
});
els.release.addEventListener("click", release);
els.resolve.addEventListener("click", () => resolve(true));
els.close.addEventListener("click", () => resolve(false));
els.transfer.addEventListener("click", transfer);
els.attach.addEventListener("change", sendFile);
els.availability.addEventListener("change", changeAvailability);
els.older.addEventListener("click", loadOlder);
document.addEventListener("visibilitychange", scheduleRead);
setInterval(refreshWaited, 5_000);

// The side lists fold (the disclosure pattern); on a phone the long ones start folded.
for (const toggle of document.querySelectorAll(".side .toggle")) {
  const body = $(toggle.getAttribute("aria-controls"));
  const set = (open) => {
    toggle.setAttribute("aria-expanded", String(open));
    body.hidden = !open;
  };
  if (PHONE.matches && (body.id === "online-body" || body.id === "agents-body")) set(false);
  toggle.addEventListener("click", () => set(toggle.getAttribute("aria-expanded") !== "true"));
}

renderLists();
renderAgents();

prefillToken(els, TOKEN_KEY, connection, showTokenIdentity);
