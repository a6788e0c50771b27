// The end-user chat page. Everything from the network is shown with textContent, never as HTML.

import {
  $,
  appendToLog,
  bubble,
  contextText,
  createConnection,
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

const TOKEN_KEY = "livechat.user.token";

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

// ---------- helpers ----------

function showTokenIdentity(token) {
  showIdentity(els.identity, token, {
    signedInAs: "Signed in as",
    roleNote: (role) =>
      role !== "user" ? `this is a '${role}' token; agents should use the agent page.` : "",
  });
}

// ---------- the log ----------

function append(node) {
  appendToLog(els.log, node);
  els.empty.hidden = true;
}

function showMessage(m) {
  if (!m || typeof m !== "object") return;
  if (!markSeen(seen, m.id)) return;
  const mine = m.role === "user";
  const who = mine ? "You" : `Agent ${m.from ?? ""}`.trim();
  const time = typeof m.timestamp === "number" ? formatTime(m.timestamp) : "";
  append(bubble({ who, mine, time, text: String(m.content ?? "") }));
}

function showNotice(text, kind = "") {
  append(el("li", kind ? `notice ${kind}` : "notice", text));
}

// ---------- connection ----------

const connection = createConnection({
  els,
  storageKey: TOKEN_KEY,
  onToken: showTokenIdentity,
  onError: (text) => showNotice(`The server closed the connection: ${text}`, "system"),
  listen: (s) => {
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
  },
});

// ---------- sending ----------

function send(content) {
  const pending = pendingBubble(content);
  append(pending.li);
  emitMessage(connection.socket, { to: "admin", content }, pending, seen);
}

// ---------- wiring ----------

wireConnectForm(els, connection, showTokenIdentity);
wireComposer(els, connection, send);
prefillToken(els, TOKEN_KEY, connection, showTokenIdentity);
