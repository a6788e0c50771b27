// The embeddable end-user chat widget, as a site embeds it: one classic script, no CDN.
//
//   <script src="https://ENGINE/widget.js" data-token="JWT" async></script>
//
// or, from the host page's own script once this one has loaded:
//
//   window.LiveChat.init({ token: "JWT", server: "https://ENGINE" }); // server: optional
//
// It draws a chat bubble and a panel inside an open Shadow DOM root (its CSS lives there, so the
// host page's styles neither reach it nor are touched by it), loads the Socket.IO client from
// the engine itself if the page has none, and speaks the engine's socket protocol as the user.
// Everything from the network is inserted as text (textContent), never as HTML.
//
// Nothing is lost across reconnects and reloads: every (re)connection sends `auth.last_seq`
// (the greatest message seq seen, kept in sessionStorage) so the server replays what was missed;
// `history` refills the list after a reload; unacknowledged messages are kept and resent with
// their `client_id`, which the server answers with the first send's id, never recording twice.
// That part is the client core shared with the pages (../chat_core.js).
//
// This is the source: `deno task build:static` bundles it with the core into ../widget.js (a
// classic script, since other sites load it with a plain <script src>), and a test fails when
// that file is stale. Edit here, then build.
//
// One file of about 1,000 lines, on purpose: the widget is a single closure per instance (its
// shadow root, state and handlers), bundled with chat_core.js into the one classic script that
// sites embed; splitting the closure would pass its state between modules for no reader's gain.

import {
  attachmentList,
  attachmentsOf,
  uploadAttachment,
  uploadErrorText,
} from "../attachments.js";
import {
  createOutbox,
  createSeqCursor,
  decodeToken,
  fetchHistory,
  formatTime,
  fullTime,
  isSeq,
  loadJson,
  oldestSeq,
  openConnection,
  refusalText,
  request,
  saveJson,
  serverRoutes,
  tokenRole,
  userErrorText,
} from "../chat_core.js";

/** The user stopped typing after this long without a keystroke. */
const TYPING_IDLE_MS = 3000;
/** While the user keeps typing, `typing: true` is repeated at most this often. */
const TYPING_REFRESH_MS = 4000;
/** An agent's typing indicator disappears if not refreshed within this long. */
const REMOTE_TYPING_MS = 8000;
/** The script that runs now: its origin is the default server. */
const currentScript = document.currentScript;

const defaultServer = (() => {
  try {
    return new URL(currentScript?.src || location.href, location.href).origin;
  } catch {
    return location.origin;
  }
})();

// ---------- small helpers ----------

/** An element with attributes and optional text (always as text). */
function h(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === undefined || value === null) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  if (text !== undefined) node.textContent = String(text);
  return node;
}

/** A decorative 24×24 icon of one path, `size` pixels wide, built without innerHTML. */
function svgIcon(size, pathAttrs) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const attrs = { viewBox: "0 0 24 24", width: size, height: size, "aria-hidden": "true" };
  for (const [k, v] of Object.entries({ ...attrs, focusable: "false" })) svg.setAttribute(k, v);
  const path = document.createElementNS(ns, "path");
  for (const [k, v] of Object.entries(pathAttrs)) path.setAttribute(k, v);
  svg.append(path);
  return svg;
}

/** The chat bubble icon (a speech balloon). */
function icon() {
  return svgIcon("28", {
    fill: "currentColor",
    d: "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z",
  });
}

/** A paper clip (the "send a file" button). */
function clipIcon() {
  return svgIcon("20", {
    fill: "none",
    stroke: "currentColor",
    "stroke-width": "2",
    "stroke-linecap": "round",
    d: "M21 11.5l-8.5 8.5a5 5 0 0 1-7-7L14 4.5a3.5 3.5 0 0 1 5 5L10.5 18a2 2 0 0 1-3-3L15 7.5",
  });
}

// ---------- the Socket.IO client ----------

let ioLoading = null;

/** `window.io`, loading `${server}/socket.io/socket.io.js` first if the page has none. */
function loadSocketIo(server) {
  if (typeof globalThis.io === "function") return Promise.resolve(globalThis.io);
  if (ioLoading) return ioLoading;
  ioLoading = new Promise((resolve, reject) => {
    const tag = document.createElement("script");
    tag.src = `${server}/socket.io/socket.io.js`;
    tag.async = true;
    // A page with an AMD loader would get the client as a module instead of `window.io`.
    const amd = typeof globalThis.define === "function" ? globalThis.define.amd : undefined;
    const setAmd = (value) => {
      try {
        globalThis.define.amd = value;
      } catch {
        // A frozen loader: the client may then register as a module only.
      }
    };
    if (amd) setAmd(undefined);
    const done = () => {
      if (amd) setAmd(amd);
    };
    tag.addEventListener("load", () => {
      done();
      if (typeof globalThis.io === "function") resolve(globalThis.io);
      else {
        ioLoading = null;
        reject(new Error("the Socket.IO client did not define window.io"));
      }
    });
    tag.addEventListener("error", () => {
      done();
      ioLoading = null;
      tag.remove();
      reject(new Error("the Socket.IO client could not be loaded"));
    });
    (document.head || document.documentElement).append(tag);
  });
  return ioLoading;
}

// ---------- styles (inside the shadow root only) ----------

const CSS = `
:host { all: initial; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.root {
--accent: #2457c5; --accent-dark: #1b4397; --text: #1d2330; --muted: #5b6475;
--border: #d8dce3; --bg: #f5f6f8; --bad: #b3261e;
font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
font-size: 15px; line-height: 1.4; color: var(--text); text-align: left;
letter-spacing: normal; word-spacing: normal; text-transform: none; font-weight: 400;
}
button, textarea { font: inherit; color: inherit; margin: 0; }
button { cursor: pointer; }
:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
.sr-only {
position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
.bubble {
position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
width: 58px; height: 58px; padding: 0; border: 0; border-radius: 50%;
display: flex; align-items: center; justify-content: center;
background: var(--accent); color: #fff; box-shadow: 0 6px 20px rgba(0, 0, 0, 0.25);
}
.bubble:hover { background: var(--accent-dark); }
.bubble .close-icon { font-size: 30px; line-height: 1; }
.badge {
position: absolute; top: -3px; right: -3px; min-width: 22px; height: 22px; padding: 0 6px;
border-radius: 11px; background: var(--bad); color: #fff; font-size: 12px; font-weight: 700;
line-height: 22px; text-align: center; border: 2px solid #fff;
}
.panel {
position: fixed; right: 20px; bottom: 90px; z-index: 2147483001;
width: 370px; max-width: calc(100vw - 40px);
height: 560px; max-height: calc(100vh - 110px);
display: flex; flex-direction: column; overflow: hidden;
background: #fff; border-radius: 14px; border: 1px solid var(--border);
box-shadow: 0 14px 44px rgba(0, 0, 0, 0.28);
}
.head {
display: flex; align-items: flex-start; gap: 8px; padding: 12px 12px 10px 16px;
background: var(--accent); color: #fff;
}
.head .titles { flex: 1; min-width: 0; }
.head h2 { margin: 0; font-size: 16px; font-weight: 700; }
.status { margin: 2px 0 0; font-size: 13px; }
.status .connection::before {
content: ""; display: inline-block; width: 8px; height: 8px; margin-right: 6px;
border-radius: 50%; background: #c9ced8; vertical-align: 1px;
}
.status[data-state="connected"] .connection::before { background: #5ee08a; }
.status[data-state="connecting"] .connection::before,
.status[data-state="reconnecting"] .connection::before { background: #ffd166; }
.status[data-state="refused"] .connection::before,
.status[data-state="error"] .connection::before,
.status[data-state="disconnected"] .connection::before { background: #ff8a80; }
.status .conversation { display: block; font-weight: 600; }
.status .conversation:empty { display: none; }
.close {
flex: none; width: 36px; height: 36px; border: 0; border-radius: 8px; padding: 0;
background: transparent; color: #fff; font-size: 24px; line-height: 1;
}
.close:hover { background: rgba(255, 255, 255, 0.18); }
.body { flex: 1; min-height: 0; display: flex; flex-direction: column; background: var(--bg); }
.older {
align-self: center; margin: 8px 0 0; padding: 4px 10px; font-size: 13px;
background: #fff; color: var(--accent); border: 1px solid var(--border); border-radius: 14px;
}
.log {
flex: 1; min-height: 0; overflow-y: auto; margin: 0; padding: 12px;
list-style: none; display: flex; flex-direction: column; gap: 8px;
}
.empty { margin: auto 16px; text-align: center; color: var(--muted); font-size: 14px; }
.msg { position: relative; max-width: 84%; padding: 7px 11px 5px; border-radius: 14px; }
.msg.theirs {
align-self: flex-start; background: #fff; border: 1px solid var(--border);
border-bottom-left-radius: 4px;
}
.msg.mine {
align-self: flex-end; background: var(--accent); color: #fff; border: 1px solid var(--accent);
border-bottom-right-radius: 4px;
}
.msg.mine.unsent, .msg.mine.failed, .msg.mine.sending {
background: #fff6dc; color: var(--text); border-color: #e8c65a;
}
.msg.mine.failed { border-color: var(--bad); }
.who { display: block; font-size: 12px; font-weight: 700; color: var(--muted); }
.text { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.text:empty { display: none; }
.meta {
display: flex; flex-wrap: wrap; justify-content: flex-end; align-items: center; gap: 6px;
margin-top: 2px; font-size: 11px; opacity: 0.85;
}
.msg.failed .meta { opacity: 1; }
.state:empty { display: none; }
.retry {
padding: 1px 8px; font-size: 12px; border-radius: 10px;
background: #fff; color: var(--bad); border: 1px solid var(--bad);
}
.notice {
align-self: center; max-width: 90%; text-align: center; font-size: 12px; color: var(--muted);
}
.typing { min-height: 20px; padding: 0 14px 2px; font-size: 12px; color: var(--muted); }
.composer {
display: flex; align-items: flex-end; gap: 8px; padding: 10px;
border-top: 1px solid var(--border); background: #fff;
}
.composer textarea {
flex: 1; min-width: 0; min-height: 40px; max-height: 120px; resize: none;
padding: 9px 11px; border: 1px solid #b3bac6; border-radius: 10px; background: #fff;
}
.composer textarea:focus { border-color: var(--accent); outline: 2px solid var(--accent); }
.send {
flex: none; height: 40px; padding: 0 16px; border: 0; border-radius: 10px;
background: var(--accent); color: #fff; font-weight: 600;
}
.send:hover { background: var(--accent-dark); }
.hint { margin: 0; padding: 0 12px 8px; font-size: 12px; color: var(--bad); background: #fff; }
.away {
margin: 8px 12px 0; padding: 8px 10px; font-size: 13px; border-radius: 10px;
background: #eef3ff; border: 1px solid #9db4e8; color: var(--text);
}
.attach {
flex: none; width: 40px; height: 40px; border-radius: 10px; border: 1px solid #b3bac6;
display: flex; align-items: center; justify-content: center; background: #fff; cursor: pointer;
color: var(--muted);
}
.attach:focus-within { outline: 3px solid #f2a900; outline-offset: 2px; }
.attachments { list-style: none; margin: 4px 0 0; padding: 0; display: grid; gap: 4px; }
.attachment-image { display: block; max-width: 100%; max-height: 180px; border-radius: 8px; }
.msg.mine .attachment-file { color: #fff; }
.attachment-file { color: var(--accent); overflow-wrap: anywhere; }
.csat {
align-self: stretch; background: #fff; border: 1px solid var(--border); border-radius: 12px;
padding: 10px 12px; font-size: 14px;
}
.csat fieldset { border: 0; margin: 0; padding: 0; }
.csat legend { font-weight: 700; padding: 0; margin-bottom: 6px; }
.csat .scores { display: flex; gap: 4px; }
.csat .scores label {
flex: 1; text-align: center; padding: 6px 0; border: 1px solid #b3bac6; border-radius: 8px;
cursor: pointer;
}
.csat .scores input { position: absolute; opacity: 0; width: 1px; height: 1px; }
.csat .scores label:has(input:checked) { background: var(--accent); color: #fff; border-color: var(--accent); }
.csat .scores label:has(input:focus-visible) { outline: 3px solid #f2a900; outline-offset: 2px; }
.csat textarea {
width: 100%; margin-top: 8px; min-height: 48px; padding: 6px 8px; border: 1px solid #b3bac6;
border-radius: 8px; resize: vertical;
}
.csat .row { display: flex; justify-content: flex-end; gap: 6px; margin-top: 8px; }
.csat button {
padding: 5px 12px; border-radius: 8px; border: 1px solid var(--accent); background: var(--accent);
color: #fff; font-weight: 600;
}
.csat button.later { background: #fff; color: var(--accent); }
.csat p { margin: 0; }
.hint:empty { display: none; }
@media (max-width: 480px) {
.panel {
  inset: 0; right: 0; bottom: 0; width: 100%; max-width: none; height: 100%;
  max-height: none; border: 0; border-radius: 0;
}
.bubble { right: 16px; bottom: 16px; }
.root.open .bubble { display: none; }
.msg { max-width: 90%; }
}
@media (prefers-reduced-motion: no-preference) {
.panel:not([hidden]) { animation: livechat-in 0.16s ease-out; }
@keyframes livechat-in { from { opacity: 0; transform: translateY(8px); } }
}
`;

// ---------- one widget ----------

function createWidget(options) {
  const token = String(options.token);
  const server = String(options.server || defaultServer).replace(/\/+$/, "");
  const title = typeof options.title === "string" && options.title ? options.title : "Chat with us";
  const claims = decodeToken(token) ?? {};
  const who = `${encodeURIComponent(String(claims.company_id ?? "?"))}/${
    encodeURIComponent(String(claims.user_id ?? token.slice(-16)))
  }`;
  const keys = {
    lastSeq: `livechat.widget.${who}.last_seq`,
    outbox: `livechat.widget.${who}.outbox`,
    view: `livechat.widget.${who}.view`,
  };

  /** Message elements by id, so a message that arrives twice is shown once. */
  const seen = new Set();
  /** The greatest message seq seen: sent as `auth.last_seq` on every (re)connection. */
  const cursor = createSeqCursor();
  cursor.use(keys.lastSeq);
  /** Whether this conversation was ever with an agent (for "back with the assistant"). */
  const view = { handedOff: false, ...loadJson(keys.view, {}) };
  let conversation = null;
  let socket = null;
  let destroyed = false;
  let isOpen = false;
  let unread = 0;
  /** The greatest seq of an agent's or the bot's message shown, and the greatest reported read. */
  let newestTheirs = 0;
  let readSent = 0;
  /** The greatest seq an agent has read. */
  let agentRead = 0;
  /** Whether an agent is online, as `availability` last said (undefined: not said). */
  let agentsOnline;
  /**
   * The host page's chatbot, if it gave one (`assistant(text)` resolving `{ messages }`): it
   * answers while no agent holds the conversation, and hands over by itself.
   */
  const assistant = typeof options.assistant === "function" ? options.assistant : null;
  let historyDone = false;
  const timers = { read: 0, typingIdle: 0, remoteTyping: 0, reconnectLoad: 0 };
  let typingActive = false;
  let typingSentAt = 0;

  // ----- DOM -----
  const host = h("div", { "data-livechat": "root" });
  const shadow = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = CSS;
  try {
    // Also as a constructed sheet: a host page whose CSP blocks <style> still gets the styles.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } catch {
    // Older browsers: the <style> element alone.
  }
  const root = h("div", { class: "root" });

  const bubbleLabel = h("span", { class: "sr-only" }, "Open chat");
  const bubbleIcon = icon();
  const bubbleClose = h(
    "span",
    { class: "close-icon", "aria-hidden": "true", hidden: true },
    "×",
  );
  const badge = h("span", { class: "badge", "aria-hidden": "true", hidden: true });
  const bubble = h("button", {
    type: "button",
    class: "bubble",
    "data-livechat": "bubble",
    "aria-expanded": "false",
    "aria-controls": "livechat-panel",
  });
  bubble.append(bubbleIcon, bubbleClose, bubbleLabel, badge);

  const panel = h("div", {
    id: "livechat-panel",
    class: "panel",
    role: "dialog",
    "aria-label": title,
    "data-livechat": "panel",
    hidden: true,
  });
  const head = h("div", { class: "head" });
  const titles = h("div", { class: "titles" });
  const heading = h("h2", {}, title);
  const status = h("p", {
    class: "status",
    role: "status",
    "data-livechat": "status",
    "data-state": "connecting",
  });
  const connectionText = h("span", { class: "connection", "data-livechat": "connection" });
  const conversationText = h("span", {
    class: "conversation",
    "data-livechat": "conversation",
  });
  status.append(connectionText, conversationText);
  titles.append(heading, status);
  const closeButton = h("button", {
    type: "button",
    class: "close",
    "aria-label": "Close chat",
    "data-livechat": "close",
  }, "×");
  head.append(titles, closeButton);

  const body = h("div", { class: "body" });
  const older = h("button", {
    type: "button",
    class: "older",
    "data-livechat": "older",
    hidden: true,
  }, "Show earlier messages");
  const log = h("ol", {
    class: "log",
    "aria-live": "polite",
    "aria-relevant": "additions",
    "aria-label": "Messages",
    "data-livechat": "messages",
    tabindex: "0",
  });
  const empty = h("li", { class: "empty", "data-livechat": "empty" }, "Ask us anything.");
  log.append(empty);
  const typing = h("p", { class: "typing", "data-livechat": "typing", "aria-live": "polite" });
  const away = h("p", { class: "away", "data-livechat": "away", role: "status", hidden: true });
  body.append(away, older, log, typing);

  const composer = h("form", { class: "composer", "data-livechat": "composer" });
  const label = h("label", { for: "livechat-input", class: "sr-only" }, "Your message");
  const input = h("textarea", {
    id: "livechat-input",
    rows: "1",
    placeholder: "Write a message…",
    autocomplete: "off",
    "data-livechat": "input",
    "aria-describedby": "livechat-hint",
  });
  const send = h("button", { type: "submit", class: "send", "data-livechat": "send" }, "Send");
  // Shown once the server is known to take files (see `serverRoutes`).
  const attach = h("label", {
    class: "attach",
    "data-livechat": "attach",
    title: "Send a file",
    hidden: true,
  });
  const fileInput = h("input", {
    type: "file",
    class: "sr-only",
    "data-livechat": "file",
    "aria-label": "Send a file",
  });
  attach.append(fileInput, clipIcon());
  composer.append(label, input, attach, send);
  const hint = h("p", { id: "livechat-hint", class: "hint", "data-livechat": "hint" });

  panel.append(head, body, composer, hint);
  root.append(bubble, panel);
  shadow.append(style, root);

  // ----- connection state -----

  function setConnection(state, text) {
    status.setAttribute("data-state", state);
    connectionText.textContent = text;
  }

  // ----- the list -----

  /** Order in the list: a message's seq; a notice sits after what was seen; unsent ones last. */
  function orderOf(node) {
    const n = Number(node.dataset.order);
    return Number.isFinite(n) ? n : Infinity;
  }

  function place(node, order) {
    node.dataset.order = order === Infinity ? "" : String(order);
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    let before = null;
    for (const child of log.children) {
      if (child === empty || child === node) continue;
      if (orderOf(child) > order) {
        before = child;
        break;
      }
    }
    if (before) log.insertBefore(node, before);
    else log.append(node);
    empty.hidden = true;
    if (nearBottom || node.classList.contains("mine")) log.scrollTop = log.scrollHeight;
  }

  function messageNode({ mine, role, from, text, at, files = [] }) {
    const li = h("li", {
      class: `msg ${mine ? "mine" : "theirs"}`,
      "data-livechat": "message",
      "data-role": role,
    });
    const name = mine ? "You" : role === "bot" ? "Assistant" : String(from || "Agent");
    li.append(h("span", { class: mine ? "who sr-only" : "who" }, name));
    li.append(h("p", { class: "text" }, text));
    if (files.length) li.append(attachmentList({ items: files, server, getToken: () => token }));
    const meta = h("span", { class: "meta" });
    const time = h("time", { datetime: at.toISOString(), title: fullTime(at) }, formatTime(at));
    const state = h("span", { class: "state", "data-livechat": "state" });
    meta.append(time, state);
    li.append(meta);
    return { li, state };
  }

  /** Shows a message (live, replayed or from `history`) once, in seq order. */
  function showMessage(m) {
    if (!m || typeof m !== "object" || m.id === undefined || m.id === null) return false;
    const id = String(m.id);
    if (seen.has(id)) return false;
    const role = m.role === "user" || m.role === "bot" ? m.role : "agent";
    const mine = role === "user";
    const at = new Date(typeof m.timestamp === "number" ? m.timestamp * 1000 : Date.now());
    const { li } = messageNode({
      mine,
      role,
      from: m.from,
      text: String(m.content ?? ""),
      at,
      files: attachmentsOf(m),
    });
    li.setAttribute("data-id", id);
    if (isSeq(m.seq)) li.setAttribute("data-seq", String(m.seq));
    seen.add(id);
    place(li, isSeq(m.seq) ? m.seq : Infinity);
    if (!mine && isSeq(m.seq) && m.seq > newestTheirs) newestTheirs = m.seq;
    if (mine) renderReceipts();
    return true;
  }

  function notice(text) {
    const li = h("li", { class: "notice", "data-livechat": "notice" }, text);
    place(li, (cursor.value ?? 0) + 0.5);
  }

  /** "Read" (or "Sent") under the user's own latest acknowledged message only. */
  function renderReceipts() {
    const mine = [...log.querySelectorAll(".msg.mine[data-seq]:not(.unsent):not(.failed)")];
    let latest = null;
    for (const li of mine) {
      if (!latest || Number(li.dataset.seq) > Number(latest.dataset.seq)) latest = li;
    }
    for (const li of mine) {
      const state = li.querySelector(".state");
      if (!state) continue;
      const text = li !== latest ? "" : Number(li.dataset.seq) <= agentRead ? "Read" : "Sent";
      if (state.textContent !== text) state.textContent = text;
      li.toggleAttribute("data-read", text === "Read");
    }
  }

  // ----- server events -----

  function onMessage(m) {
    if (!m || typeof m !== "object") return;
    const shown = showMessage(m);
    if (m.role !== "user") {
      hideRemoteTyping();
      if (shown && !isOpen && isSeq(m.seq) && m.seq > readSent) setUnread(unread + 1);
    }
    scheduleRead();
  }

  function conversationLine() {
    const away = agentsOnline === false;
    if (!conversation) return assistant ? "You are chatting with the assistant" : "";
    switch (conversation.status) {
      case "queued":
        if (away) return "Waiting for an agent";
        return typeof conversation.queue_position === "number"
          ? `You are number ${conversation.queue_position} in the queue`
          : "Waiting for an agent";
      case "assigned":
        return `You are chatting with ${conversation.assignee || "an agent"}`;
      case "bot":
        return view.handedOff
          ? "You're back with the assistant"
          : assistant
          ? "You are chatting with the assistant"
          : "";
      case "resolved":
        return assistant ? "You are chatting with the assistant" : "Conversation closed";
      default:
        return "";
    }
  }

  function renderConversation() {
    conversationText.textContent = conversationLine();
    if (conversation) conversationText.setAttribute("data-status", conversation.status);
    // Nobody to answer now: said plainly, and the message is still taken.
    const isAway = agentsOnline === false && !assistantOwns() &&
      conversation?.status !== "assigned";
    away.hidden = !isAway;
    away.textContent = isAway
      ? "No one is available right now. Leave a message: it is kept, and an agent answers as soon as one is back."
      : "";
  }

  /** `availability { agents_online }`: whether an agent can answer now. */
  function onAvailability(p) {
    if (!p || typeof p !== "object" || typeof p.agents_online !== "boolean") return;
    agentsOnline = p.agents_online;
    renderConversation();
  }

  function setConversation(next) {
    const before = conversation;
    conversation = next;
    // A change seen live also goes into the list, so it reads in order with the messages.
    if (before && (before.status !== next.status || before.assignee !== next.assignee)) {
      if (next.status === "assigned") {
        notice(`${next.assignee || "An agent"} joined the conversation`);
      } else if (next.status === "bot" && view.handedOff) {
        notice("You're back with the assistant");
      } else if (next.status === "resolved") notice("Conversation closed");
      // An agent's part ended: ask how it went (once per conversation).
      const withAgent = before.status === "assigned" || before.status === "queued";
      if (withAgent && (next.status === "bot" || next.status === "resolved")) {
        askRating(next.conversation_id ?? before.conversation_id);
      }
    }
    if (next.status === "queued" || next.status === "assigned") view.handedOff = true;
    if (next.status === "resolved") view.handedOff = false;
    saveJson(keys.view, view);
    renderConversation();
  }

  function onConversation(p) {
    if (!p || typeof p !== "object") return;
    setConversation({
      status: String(p.status ?? ""),
      assignee: typeof p.assignee === "string" && p.assignee ? p.assignee : null,
      queue_position: typeof p.queue_position === "number" ? p.queue_position : null,
      conversation_id: typeof p.conversation_id === "string" ? p.conversation_id : null,
    });
  }

  // ----- satisfaction (CSAT) -----

  /**
   * A 1–5 rating and an optional comment, asked in the list once an agent's part of
   * `conversationId` ended: `rate { score, comment? }`, once per conversation.
   */
  function askRating(conversationId) {
    const key = conversationId ?? "current";
    if (view.rated?.includes(key) || log.querySelector(".csat")) return;
    const li = h("li", { class: "csat", "data-livechat": "csat" });
    const form = h("form");
    const field = h("fieldset");
    field.append(h("legend", {}, "How did we do?"));
    const scores = h("div", { class: "scores" });
    for (let n = 1; n <= 5; n++) {
      const label = h("label", { title: `${n} out of 5` });
      const radio = h("input", {
        type: "radio",
        name: "livechat-score",
        value: String(n),
        "aria-label": `${n} out of 5`,
      });
      label.append(radio, h("span", { "aria-hidden": "true" }, String(n)));
      scores.append(label);
    }
    field.append(scores);
    const comment = h("textarea", {
      "aria-label": "A comment (optional)",
      placeholder: "A comment (optional)",
      maxlength: "1000",
      "data-livechat": "csat-comment",
    });
    const row = h("div", { class: "row" });
    const later = h("button", { type: "button", class: "later" }, "Not now");
    const sendRating = h("button", { type: "submit", "data-livechat": "csat-send" }, "Send");
    row.append(later, sendRating);
    const note = h("p", { role: "status" });
    form.append(field, comment, row, note);
    li.append(form);
    place(li, (cursor.value ?? 0) + 0.75);
    const done = (text) => {
      view.rated = [...(view.rated ?? []), key].slice(-20);
      saveJson(keys.view, view);
      li.replaceChildren(h("p", { "data-livechat": "csat-done" }, text));
    };
    later.addEventListener("click", () => li.remove());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const picked = form.querySelector("input:checked");
      if (!picked) {
        note.textContent = "Pick a score from 1 to 5.";
        return;
      }
      sendRating.disabled = true;
      const text = comment.value.trim();
      const ack = await request(socket, "rate", {
        score: Number(picked.value),
        ...(text ? { comment: text } : {}),
      });
      sendRating.disabled = false;
      if (ack.ok || ack.error?.code === "conflict") done("Thank you for your feedback!");
      else note.textContent = "Your rating could not be sent. Try again in a moment.";
    });
  }

  function onQueue(p) {
    const position = p && typeof p === "object" ? p.position : undefined;
    // null: out of the queue; the `conversation` event that goes with it says why.
    if (typeof position !== "number") return;
    setConversation({
      assignee: null,
      ...conversation,
      status: "queued",
      queue_position: position,
    });
  }

  function onTyping(p) {
    if (!p || typeof p !== "object" || p.role === "user") return;
    if (p.typing !== true) {
      hideRemoteTyping();
      return;
    }
    typing.textContent = `${p.from ? String(p.from) : "An agent"} is typing…`;
    clearTimeout(timers.remoteTyping);
    timers.remoteTyping = setTimeout(hideRemoteTyping, REMOTE_TYPING_MS);
  }

  function hideRemoteTyping() {
    clearTimeout(timers.remoteTyping);
    if (typing.textContent) typing.textContent = "";
  }

  // ----- the assistant (the host page's chatbot) -----

  /** Whether the assistant answers now: there is one, and no agent holds the conversation. */
  function assistantOwns() {
    if (!assistant) return false;
    const status = conversation?.status;
    return status === undefined || status === "bot" || status === "resolved" || status === "";
  }

  /**
   * A message for the assistant: shown at once, then replaced by what the assistant recorded
   * (`messages`, with ids and seqs, so the log has them once). It may hand over (`handoff`):
   * the conversation is then queued for agents, as the server tells.
   */
  async function askAssistant(content) {
    const local = messageNode({ mine: true, role: "user", text: content, at: new Date() });
    local.li.classList.add("sending");
    local.state.textContent = "Sending…";
    place(local.li, Infinity);
    typing.textContent = "The assistant is typing…";
    let answer;
    try {
      answer = await assistant(content);
    } catch {
      answer = null;
    }
    if (typing.textContent === "The assistant is typing…") typing.textContent = "";
    if (destroyed) return;
    if (!answer || !Array.isArray(answer.messages)) {
      local.li.classList.remove("sending");
      local.li.classList.add("failed");
      local.state.textContent = "Not sent: the assistant is not answering. Try again.";
      return;
    }
    local.li.remove();
    for (const m of answer.messages) {
      showMessage(m);
      if (m && typeof m === "object") cursor.observe(m.seq);
    }
    renderReceipts();
  }

  function onRead(p) {
    if (!p || typeof p !== "object") return;
    if ((p.role === "agent" || p.role === "admin") && isSeq(p.seq) && p.seq > agentRead) {
      agentRead = p.seq;
      renderReceipts();
    }
    // This user read elsewhere (another tab): nothing unread here either.
    if (p.role === "user" && isSeq(p.seq) && p.seq > readSent) readSent = p.seq;
  }

  // ----- history -----

  async function loadHistory() {
    const page = await fetchHistory(socket, {});
    if (destroyed || !page.ok) return;
    for (const m of page.messages) {
      showMessage(m);
      if (m && typeof m === "object") cursor.observe(m.seq);
    }
    if (!historyDone) older.hidden = !page.more;
    scheduleRead();
  }

  async function loadOlder() {
    const before = oldestSeq(log);
    if (before === undefined) return;
    older.disabled = true;
    const page = await fetchHistory(socket, { before });
    older.disabled = false;
    if (destroyed) return;
    if (!page.ok) {
      hint.textContent = `Could not load earlier messages: ${page.error}`;
      return;
    }
    const top = log.scrollHeight - log.scrollTop;
    for (const m of page.messages) showMessage(m);
    log.scrollTop = log.scrollHeight - top;
    if (!page.more) {
      historyDone = true;
      older.hidden = true;
    }
  }

  // ----- reads and unread -----

  function setUnread(n) {
    unread = n;
    badge.textContent = n > 99 ? "99+" : String(n);
    badge.hidden = n === 0;
    bubbleLabel.textContent = isOpen
      ? "Close chat"
      : n > 0
      ? `Open chat, ${n} unread message${n === 1 ? "" : "s"}`
      : "Open chat";
  }

  /** Reports what the user has seen: only while the panel is open and the page visible. */
  function scheduleRead() {
    clearTimeout(timers.read);
    timers.read = setTimeout(() => {
      if (!isOpen || document.visibilityState !== "visible") return;
      if (!socket || !socket.connected || newestTheirs <= readSent) return;
      const seq = newestTheirs;
      readSent = seq;
      request(socket, "read", { seq }).then((ack) => {
        if (!ack.ok && ack.error?.code !== "not_found" && readSent === seq) readSent = 0;
      });
    }, 300);
  }

  const onVisibility = () => scheduleRead();
  document.addEventListener("visibilitychange", onVisibility);

  // ----- sending -----

  const STATE_TEXT = { sending: "Sending…", unsent: "Not sent yet — retrying", sent: "" };
  /** Files uploaded for messages not acknowledged yet, by attachment id (to draw them). */
  const uploaded = new Map();

  /** Unacknowledged messages, resent with their `client_id` (see `createOutbox`). */
  const outbox = createOutbox({
    getSocket: () => socket,
    seen,
    render(payload, at) {
      const ids = Array.isArray(payload.attachments) ? payload.attachments : [];
      const node = messageNode({
        mine: true,
        role: "user",
        text: String(payload.content ?? ""),
        at: new Date(at),
        files: attachmentsOf({ attachments: ids.map((id) => uploaded.get(id) ?? id) }),
      });
      node.li.setAttribute("data-client-id", payload.client_id);
      place(node.li, Infinity);
      return node;
    },
    onChange(entry) {
      const { view: { li, state }, status } = entry;
      for (const name of ["sending", "unsent", "failed"]) {
        li.classList.toggle(name, status === name || (name === "unsent" && status === "stopped"));
      }
      li.setAttribute("data-state", status);
      li.setAttribute("aria-busy", status === "sending" ? "true" : "false");
      if (status === "stopped") {
        // The connection ended for good: no endless "retrying"; it goes with the next session.
        state.replaceChildren(
          entry.error === "expired"
            ? "Not sent: your session expired. Reload the page to send it."
            : "Not sent: the chat is disconnected. Reload the page to send it.",
        );
        return;
      }
      if (status !== "failed") {
        state.replaceChildren(STATE_TEXT[status]);
        return;
      }
      state.replaceChildren(`Not sent: ${userErrorText({ error: { code: entry.code } })} `);
      const retry = h("button", {
        type: "button",
        class: "retry",
        "data-livechat": "retry",
        "aria-label": "Retry sending this message",
      }, "Retry");
      retry.addEventListener("click", () => {
        outbox.retry(entry);
        input.focus();
      });
      state.append(retry);
    },
    onSent({ view: { li } }, ack, shownAlready) {
      if (shownAlready) {
        li.remove();
      } else {
        if (ack.id !== undefined && ack.id !== null) li.setAttribute("data-id", String(ack.id));
        if (isSeq(ack.seq)) {
          li.setAttribute("data-seq", String(ack.seq));
          cursor.observe(ack.seq);
          place(li, ack.seq);
        }
      }
      renderReceipts();
    },
  });

  // Messages a reload interrupted: shown at once, sent again (same client_id) when connected.
  // The widget kept `content` before it shared the pages' outbox (which keeps the `payload`):
  // such entries are read once more. This can go once no tab holds one.
  const kept = loadJson(keys.outbox, []);
  if (Array.isArray(kept) && kept.some((k) => k && !k.payload && typeof k.content === "string")) {
    saveJson(
      keys.outbox,
      kept.map((k) =>
        k && !k.payload && typeof k.content === "string"
          ? { ...k, payload: { to: "admin", content: k.content } }
          : k
      ),
    );
  }
  outbox.use(keys.outbox);

  function submit() {
    const content = input.value;
    if (!content.trim()) {
      hint.textContent = "Write a message first.";
      input.focus();
      return;
    }
    hint.textContent = "";
    input.value = "";
    autosize();
    stopTyping();
    if (assistantOwns()) askAssistant(content);
    else outbox.send({ to: "admin", content });
    log.scrollTop = log.scrollHeight;
    input.focus();
  }

  /** A chosen file: uploaded, then sent as a message carrying it. */
  async function sendFile() {
    const file = fileInput.files?.[0];
    fileInput.value = "";
    if (!file) return;
    hint.textContent = `Sending ${file.name}…`;
    const result = await uploadAttachment({ server, token, file });
    if (destroyed) return;
    if (!result.ok) {
      hint.textContent = uploadErrorText(result);
      return;
    }
    hint.textContent = "";
    uploaded.set(result.attachment.id, result.attachment);
    // The file is the message; typed text, if any, goes with it.
    const content = input.value.trim();
    input.value = "";
    autosize();
    outbox.send({ to: "admin", content, attachments: [result.attachment.id] });
    log.scrollTop = log.scrollHeight;
  }

  // ----- typing -----

  function emitTyping(value) {
    if (socket && socket.connected) socket.volatile.emit("typing", { typing: value });
  }

  function stopTyping() {
    clearTimeout(timers.typingIdle);
    if (!typingActive) return;
    typingActive = false;
    emitTyping(false);
  }

  function onInput() {
    autosize();
    if (hint.textContent === "Write a message first.") hint.textContent = "";
    if (!input.value.trim()) {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (!typingActive || now - typingSentAt >= TYPING_REFRESH_MS) {
      typingActive = true;
      typingSentAt = now;
      emitTyping(true);
    }
    clearTimeout(timers.typingIdle);
    timers.typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function autosize() {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight + 2, 120)}px`;
  }

  // ----- open / close -----

  function open() {
    if (destroyed || isOpen) return;
    isOpen = true;
    panel.hidden = false;
    root.classList.add("open");
    bubble.setAttribute("aria-expanded", "true");
    bubbleIcon.style.display = "none";
    bubbleClose.hidden = false;
    setUnread(0);
    log.scrollTop = log.scrollHeight;
    input.focus();
    scheduleRead();
  }

  function close() {
    if (destroyed || !isOpen) return;
    const hadFocus = shadow.activeElement !== null && shadow.activeElement !== bubble;
    isOpen = false;
    panel.hidden = true;
    root.classList.remove("open");
    bubble.setAttribute("aria-expanded", "false");
    bubbleIcon.style.display = "";
    bubbleClose.hidden = true;
    setUnread(0);
    stopTyping();
    if (hadFocus) bubble.focus();
  }

  bubble.addEventListener("click", () => (isOpen ? close() : open()));
  closeButton.addEventListener("click", () => {
    close();
    bubble.focus();
  });
  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen) {
      event.preventDefault();
      event.stopPropagation();
      close();
      bubble.focus();
    }
  });
  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", onInput);
  fileInput.addEventListener("change", sendFile);
  input.addEventListener("blur", stopTyping);
  older.addEventListener("click", loadOlder);

  // ----- connection -----

  function onStatus(state, { reason, everConnected }) {
    switch (state) {
      case "connected":
        return setConnection("connected", "Connected");
      case "unreachable":
        if (reason !== "unreachable") {
          return setConnection("reconnecting", refusalText(reason, "visitor"));
        }
        return everConnected
          ? setConnection("reconnecting", "Reconnecting…")
          : setConnection("connecting", "Connecting…");
      case "refused":
        return setConnection("refused", refusalText(reason, "visitor"));
      case "reconnecting":
        return setConnection("reconnecting", "Reconnecting…");
      case "disconnected":
        if (status.getAttribute("data-state") === "refused") return;
        return setConnection(
          "disconnected",
          reason === "io client disconnect" ? "Disconnected" : "Disconnected by the server",
        );
      case "error":
        return setConnection("refused", refusalText(reason, "visitor"));
    }
  }

  function connect() {
    const role = tokenRole(token);
    if (role !== null && role !== "user") {
      // An agent's or bot's token would half-work here: refused, and the site's developer told.
      console.warn(`LiveChat: the widget needs a user token; this one is a '${role}' token`);
      setConnection("refused", refusalText("invalid_claim", "visitor"));
      return;
    }
    setConnection("connecting", "Connecting…");
    loadSocketIo(server).then((io) => {
      if (destroyed) return;
      socket = openConnection({
        io,
        url: server,
        token,
        options: { forceNew: true, reconnectionDelayMax: 10000 },
        cursor,
        outbox,
        loadHistory,
        onStatus,
        on: {
          connect: () => {
            scheduleRead();
            serverRoutes(server).then((routes) => {
              attach.hidden = !routes.has("/api/v1/attachments");
            });
          },
          disconnect: () => {
            hideRemoteTyping();
            typingActive = false;
          },
          message: onMessage,
          conversation: onConversation,
          queue: onQueue,
          typing: onTyping,
          read: onRead,
          availability: onAvailability,
        },
      });
    }).catch((error) => {
      if (destroyed) return;
      console.warn(`LiveChat: ${error.message}`);
      setConnection("error", "The chat is unavailable right now. Trying again…");
      timers.reconnectLoad = setTimeout(connect, 10000);
    });
  }

  function mount() {
    if (destroyed) return;
    document.body.append(host);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
  setUnread(0);
  renderConversation();
  connect();

  function destroy() {
    if (destroyed) return;
    stopTyping();
    destroyed = true;
    for (const t of Object.values(timers)) clearTimeout(t);
    outbox.close();
    document.removeEventListener("visibilitychange", onVisibility);
    document.removeEventListener("DOMContentLoaded", mount);
    if (socket) {
      socket.removeAllListeners();
      socket.disconnect();
      socket = null;
    }
    host.remove();
  }

  return { open, close, destroy };
}

// ---------- the public API ----------

let widget = null;

const LiveChat = {
  /**
   * Starts the widget (again, if it ran): `{ token, server?, title?, assistant? }`.
   * `assistant(text)`, the site's own chatbot, answers while no agent holds the conversation
   * and resolves `{ messages }` (as the server's `message` payloads, with id and seq: what it
   * recorded with `POST /api/v1/conversations/:user_id/messages`); it hands over with
   * `POST /transfer_to_agent` itself. See static/demo_bot.js.
   */
  init(options) {
    if (!options || typeof options.token !== "string" || !options.token.trim()) {
      console.warn("LiveChat.init: a token (the user's JWT) is required");
      return LiveChat;
    }
    if (widget) widget.destroy();
    widget = createWidget({ ...options, token: options.token.trim() });
    return LiveChat;
  },
  open() {
    widget?.open();
  },
  close() {
    widget?.close();
  },
  destroy() {
    widget?.destroy();
    widget = null;
  },
};

/** Starts the widget from this script tag's `data-token` (and `data-server`), if it has one. */
function startFromTag(api) {
  const token = currentScript?.getAttribute("data-token");
  if (token) api.init({ token, server: currentScript.getAttribute("data-server") || undefined });
}

const existing = globalThis.LiveChat;
if (existing && typeof existing.init === "function") {
  // Loaded twice: the first copy serves; a data-token on this tag still starts it.
  startFromTag(existing);
} else {
  globalThis.LiveChat = LiveChat;
  startFromTag(LiveChat);
}
