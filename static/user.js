// The end-user chat page. Everything from the network is shown with textContent, never as HTML.

const TOKEN_KEY = "livechat.user.token";
const ACK_TIMEOUT_MS = 15_000;

const $ = (id) => document.getElementById(id);
const els = {
  status: $("status"),
  connectForm: $("connect-form"),
  token: $("token"),
  connect: $("connect"),
  disconnect: $("disconnect"),
  identity: $("identity"),
  log: $("log"),
  empty: $("empty"),
  composer: $("composer"),
  message: $("message"),
  composerHint: $("composer-hint"),
};

/** Ids of messages already shown, so a message that arrives twice is shown once. */
const seen = new Set();
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
  const parts = [`Signed in as ${claims.user_id ?? "?"}`, `company ${claims.company_id ?? "?"}`];
  if (typeof claims.exp === "number") {
    parts.push(`expires ${new Date(claims.exp * 1000).toLocaleString()}`);
  }
  let text = parts.join(" · ");
  if (claims.role && claims.role !== "user") {
    text += ` — this is a '${claims.role}' token; agents should use the agent page.`;
  }
  els.identity.textContent = text;
}

// ---------- the log ----------

function nearBottom() {
  const log = els.log;
  return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
}

function append(node) {
  const stick = nearBottom();
  els.log.append(node);
  els.empty.hidden = true;
  if (stick) els.log.scrollTop = els.log.scrollHeight;
}

/** A message bubble; returns its parts so a pending one can be updated. */
function bubble({ who, mine, time, text }) {
  const li = el("li", mine ? "msg mine" : "msg");
  const meta = el("div", "meta");
  meta.append(el("span", "who", who), el("time", "when", time));
  const body = el("p", "text", text);
  li.append(meta, body);
  return li;
}

function showMessage(m) {
  if (!m || typeof m !== "object") return;
  if (m.id !== undefined) {
    if (seen.has(m.id)) return;
    seen.add(m.id);
  }
  const mine = m.role === "user";
  const who = mine ? "You" : `Agent ${m.from ?? ""}`.trim();
  const time = typeof m.timestamp === "number" ? formatTime(m.timestamp) : "";
  append(bubble({ who, mine, time, text: String(m.content ?? "") }));
}

function showNotice(text, kind = "") {
  append(el("li", kind ? `notice ${kind}` : "notice", text));
}

// ---------- connection ----------

function updateButtons() {
  const live = socket !== null && socket.active;
  els.disconnect.disabled = !live;
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
    if (s.active) {
      // A transport problem: Socket.IO retries by itself.
      setStatus("connecting", `Cannot reach the server, retrying… (${err.message})`);
    } else {
      // The server refused the handshake (bad or expired token): no retry.
      setStatus("refused", `Refused: ${err.message}`);
    }
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
    showNotice(`The server closed the connection: ${text}`, "system");
  });
  s.io.on("reconnect", () => showNotice("Reconnected.", "system"));

  s.on("message", showMessage);
  s.on("chatbot_context", (payload) => {
    const context = contextText(payload?.context);
    showNotice(
      context
        ? `An agent has been asked to help. Context: ${context}`
        : "An agent has been asked to help.",
    );
  });
  updateButtons();
}

function disconnect() {
  if (!socket) return;
  socket.disconnect();
  setStatus("disconnected", "Disconnected");
  updateButtons();
}

// ---------- sending ----------

function send(content) {
  const li = bubble({
    who: "You",
    mine: true,
    time: new Date().toLocaleTimeString(),
    text: content,
  });
  const state = el("div", "state", "sending…");
  li.append(state);
  append(li);

  socket.timeout(ACK_TIMEOUT_MS).emit("message", { to: "admin", content }, (err, ack) => {
    if (err) {
      li.classList.add("failed");
      state.textContent = "No answer from the server; the message may not have been sent.";
      return;
    }
    if (ack && ack.ok) {
      if (ack.id !== undefined) {
        if (seen.has(ack.id)) {
          // Already shown from another path: keep one copy.
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
  });
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
  const content = els.message.value;
  if (!content.trim()) return;
  if (!socket || !socket.connected) {
    els.composerHint.textContent = "Not connected: connect first, the message was not sent.";
    return;
  }
  els.composerHint.textContent = "";
  els.message.value = "";
  send(content);
  els.message.focus();
});

// Prefill the token: `?token=` in the address wins, then this tab's session.
{
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get("token");
  const token = fromUrl ?? sessionStorage.getItem(TOKEN_KEY) ?? "";
  els.token.value = token;
  if (token) showIdentity(token);
  if (fromUrl) {
    // Keep the token out of the address bar and history once it is read.
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
    connect();
  }
}
