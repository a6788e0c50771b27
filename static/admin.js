// The agent console. Everything from the network is shown with textContent, never as HTML.

const TOKEN_KEY = "livechat.admin.token";
const ACK_TIMEOUT_MS = 15_000;

const $ = (id) => document.getElementById(id);
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
/** @type {any} */
let socket = null;

// ---------- helpers ----------

function setStatus(state, text) {
  els.status.dataset.state = state;
  els.status.textContent = text;
}

/** The JWT's payload, for display only (the server does the real check). */
function decodeToken(token) {
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

function formatTime(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString();
}

function contextText(context) {
  if (typeof context === "string") return context;
  if (context === undefined || context === null) return "";
  try {
    return JSON.stringify(context, null, 2);
  } catch {
    return String(context);
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showIdentity(token) {
  const claims = decodeToken(token);
  if (!claims) {
    els.identity.textContent = token.trim() ? "This does not look like a JWT." : "";
    return;
  }
  const parts = [
    `Signed in as agent ${claims.user_id ?? "?"}`,
    `company ${claims.company_id ?? "?"}`,
  ];
  if (typeof claims.exp === "number") {
    parts.push(`expires ${new Date(claims.exp * 1000).toLocaleString()}`);
  }
  let text = parts.join(" · ");
  if (claims.role && claims.role !== "admin" && claims.role !== "agent") {
    text += ` — this is a '${claims.role}' token; this page needs an admin (agent) token.`;
  }
  els.identity.textContent = text;
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
  const log = conv.log;
  const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  log.append(node);
  if (stick && !log.hidden) log.scrollTop = log.scrollHeight;
}

function bubble({ who, mine, time, text }) {
  const li = el("li", mine ? "msg mine" : "msg");
  const meta = el("div", "meta");
  meta.append(el("span", "who", who), el("time", "when", time));
  li.append(meta, el("p", "text", text));
  return li;
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
  if (m.id !== undefined) {
    if (seen.has(m.id)) return;
    seen.add(m.id);
  }
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
    setStatus("error", "Paste a token first");
    els.token.focus();
    return;
  }
  if (typeof globalThis.io !== "function") {
    setStatus("error", "The Socket.IO client did not load");
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  showIdentity(token);
  const claims = decodeToken(token);
  me = claims && claims.user_id !== undefined ? String(claims.user_id) : null;
  teardown();

  setStatus("connecting", "Connecting…");
  const s = globalThis.io(location.origin, {
    auth: { token },
    query: { token },
    transports: ["websocket", "polling"],
  });
  socket = s;

  s.on("connect", () => {
    setStatus("connected", "Connected");
    updateButtons();
  });
  s.on("connect_error", (err) => {
    if (s.active) setStatus("connecting", `Cannot reach the server, retrying… (${err.message})`);
    else setStatus("refused", `Refused: ${err.message}`);
    updateButtons();
  });
  s.on("disconnect", () => {
    if (s.active) setStatus("connecting", "Disconnected — reconnecting…");
    else if (els.status.dataset.state !== "error") setStatus("disconnected", "Disconnected");
    updateButtons();
  });
  s.on("error", (e) => {
    const text = e && typeof e === "object" && "message" in e ? String(e.message) : String(e);
    setStatus("error", `Disconnected: ${text}`);
  });

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
  updateButtons();
}

function disconnect() {
  if (!socket) return;
  socket.disconnect();
  setStatus("disconnected", "Disconnected");
  updateButtons();
}

// ---------- sending ----------

function send(userId, content) {
  const conv = conversationOf(userId);
  const li = bubble({
    who: "You",
    mine: true,
    time: new Date().toLocaleTimeString(),
    text: content,
  });
  const state = el("div", "state", "sending…");
  li.append(state);
  append(conv, li);
  touch(conv, false);
  renderLists();

  socket.timeout(ACK_TIMEOUT_MS).emit(
    "message",
    { to: "user", user_id: userId, content },
    (err, ack) => {
      if (err) {
        li.classList.add("failed");
        state.textContent = "No answer from the server; the message may not have been sent.";
        return;
      }
      if (ack && ack.ok) {
        if (ack.id !== undefined) {
          if (seen.has(ack.id)) {
            li.remove();
            return;
          }
          seen.add(ack.id);
        }
        state.textContent = "sent";
        return;
      }
      li.classList.add("failed");
      const error = ack && ack.error ? ack.error : {};
      state.textContent = `Not sent: ${error.message ?? error.code ?? "unknown error"}`;
    },
  );
}

// ---------- wiring ----------

els.connectForm.addEventListener("submit", (event) => {
  event.preventDefault();
  connect();
});
els.disconnect.addEventListener("click", disconnect);
els.token.addEventListener("input", () => showIdentity(els.token.value));

els.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  if (selected === null) return;
  const content = els.message.value;
  if (!content.trim()) return;
  if (!socket || !socket.connected) {
    els.composerHint.textContent = "Not connected: connect first, the message was not sent.";
    return;
  }
  els.composerHint.textContent = "";
  els.message.value = "";
  send(selected, content);
  els.message.focus();
});

renderLists();

// Prefill the token: `?token=` in the address wins, then this tab's session.
{
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get("token");
  const token = fromUrl ?? sessionStorage.getItem(TOKEN_KEY) ?? "";
  els.token.value = token;
  if (token) showIdentity(token);
  if (fromUrl) {
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
    connect();
  }
}
