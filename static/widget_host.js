// The demo host page's bootstrap (external: the CSP allows no inline script). The visitor's token
// comes from the address (`#token=…`, or `?token=…` as older links have it), with the demo bot's
// token beside it (`bot=…`) when the landing page's "Try it" opened the page: the demo's chatbot
// (demo_bot.js) then answers first. Both are kept in this tab's sessionStorage and taken out of
// the address bar, so a reload still has them but the address does not show them.
import { createDemoBot } from "./demo_bot.js";

const KEY = "acme-shop.livechat.token";
const BOT_KEY = "acme-shop.livechat.bot";
const note = document.getElementById("widget-note");

/** The tokens from the address (removed from it), else this tab's kept ones. */
function tokens() {
  const params = new URLSearchParams(location.search);
  const hash = new URLSearchParams(location.hash.slice(1));
  const user = (hash.get("token") ?? params.get("token"))?.trim() || "";
  const bot = (hash.get("bot") ?? params.get("bot"))?.trim() || "";
  if (!user) {
    try {
      return {
        user: sessionStorage.getItem(KEY) || "",
        bot: sessionStorage.getItem(BOT_KEY) || "",
      };
    } catch {
      return { user: "", bot: "" };
    }
  }
  try {
    sessionStorage.setItem(KEY, user);
    if (bot) sessionStorage.setItem(BOT_KEY, bot);
    else sessionStorage.removeItem(BOT_KEY);
  } catch {
    // Not kept: a reload then needs the tokens in the address again.
  }
  for (const name of ["token", "bot"]) {
    params.delete(name);
    hash.delete(name);
  }
  const query = params.toString();
  const fragment = hash.toString();
  history.replaceState(
    null,
    "",
    `${location.pathname}${query ? `?${query}` : ""}${fragment ? `#${fragment}` : ""}`,
  );
  return { user, bot };
}

/** A JWT's claims, to address the demo bot's calls (the server checks the token itself). */
function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")));
  } catch {
    return {};
  }
}

const { user, bot } = tokens();
if (!globalThis.LiveChat) {
  note.textContent = "The chat widget (/widget.js) did not load.";
  note.hidden = false;
} else if (!user) {
  note.textContent =
    "No chat token: open this page from the engine's landing page (“Try it”), or add #token=<a user JWT> to its address.";
  note.hidden = false;
} else {
  const visitor = claims(user);
  const assistant = bot
    ? createDemoBot({
      botToken: bot,
      companyId: String(visitor.company_id),
      userId: String(visitor.user_id),
    })
    : undefined;
  globalThis.LiveChat.init({ token: user, assistant });
}
