/**
 * What the browser tests share: an engine and a Chromium per test, pages that record their
 * errors, dialogs, WebSocket addresses and (when asked) alerts, the token in the address as the
 * pages take it, and an axe-core run.
 */
import assert from "node:assert/strict";
import axe from "axe-core";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startEngine } from "../adapters/socketio/_harness.ts";
import { launch, skipBrowser } from "./_browser.ts";

export type Engine = Awaited<ReturnType<typeof startEngine>>;

/** A browser test: skipped without Chromium (outside CI), resources left to `withBrowser`. */
export function browserTest(name: string, fn: () => Promise<void>, ignore = skipBrowser) {
  Deno.test({ name, ignore, sanitizeResources: false, sanitizeOps: false, fn });
}

/** The widget's parts, inside its shadow root (Playwright's CSS locators pierce it). */
export const W = {
  bubble: '[data-livechat="bubble"]',
  status: '[data-livechat="status"]',
  input: '[data-livechat="input"]',
  send: '[data-livechat="send"]',
  message: '[data-livechat="message"]',
};

/** Desktop and phone viewports (the screenshots use both). */
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** What a page did that a test checks afterwards. */
export interface Watched {
  page: Page;
  /** Uncaught errors and console errors. */
  errors: string[];
  /** alert/confirm/prompt dialogs (the pages must open none). */
  dialogs: string[];
  /** Every WebSocket address the page opened. */
  sockets: string[];
}

/** A new page in a new context that records errors, dialogs and WebSocket addresses. */
export async function watchedPage(
  browser: Browser,
  options: { viewport?: { width: number; height: number }; init?: string } = {},
): Promise<Watched & { context: BrowserContext }> {
  const context = await browser.newContext({ viewport: options.viewport ?? DESKTOP });
  if (options.init) await context.addInitScript({ content: options.init });
  const page = await context.newPage();
  const watched = {
    page,
    context,
    errors: [] as string[],
    dialogs: [] as string[],
    sockets: [] as string[],
  };
  page.on("dialog", (d) => {
    watched.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss();
  });
  page.on("pageerror", (e) => watched.errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") watched.errors.push(m.text());
  });
  page.on("websocket", (ws) => watched.sockets.push(ws.url()));
  return watched;
}

/** A page's address with the token after `#` (how the landing page links them). */
export function withToken(engine: Engine, path: string, token: string, extra = {}): string {
  return `${engine.url}${path}#${new URLSearchParams({ token, ...extra })}`;
}

/** Waits for a page's status badge to say connected. */
export async function connected(page: Page) {
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 15_000 });
}

/**
 * A watched page of `path` signed in as `user` of acme with `role`, once connected (the
 * widget's panel opened).
 */
export async function openAs(
  browser: Browser,
  engine: Engine,
  path: string,
  user: string,
  role: string,
  options: Parameters<typeof watchedPage>[1] = {},
) {
  const w = await watchedPage(browser, options);
  await w.page.goto(withToken(engine, path, await engine.token("acme", user, role)));
  if (path === "/widget.html") {
    await w.page.locator(W.bubble).click();
    await w.page.locator(`${W.status}[data-state="connected"]`).waitFor();
  } else await connected(w.page);
  return w;
}

/** Opens `user`'s conversation in a console. */
export async function pick(page: Page, user: string) {
  await page.locator(`#conversations button[data-user="${user}"]`).click();
}

/** Starts an engine and a Chromium, runs `fn`, and closes both whatever happens. */
export async function withBrowser(
  fn: (engine: Engine, browser: Browser) => Promise<void>,
  limits: Parameters<typeof startEngine>[1] = {},
) {
  const engine = await startEngine(undefined, limits);
  const browser = await launch();
  try {
    await fn(engine, browser);
  } finally {
    await browser.close();
    await engine.close();
  }
}

/** Changes the company's settings with its bot token. */
export async function settings(engine: Engine, company: string, body: Record<string, unknown>) {
  const bot = await engine.token(company, "chatbot", "bot");
  const response = await fetch(`${engine.url}/api/v1/settings`, {
    method: "PUT",
    headers: { authorization: `Bearer ${bot}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.text());
}

/** The chatbot hands `user` over, with `context`. */
export async function handOff(engine: Engine, company: string, user: string, context = "") {
  const bot = await engine.token(company, "chatbot", "bot");
  const response = await fetch(`${engine.url}/transfer_to_agent`, {
    method: "POST",
    headers: { authorization: `Bearer ${bot}`, "content-type": "application/json" },
    body: JSON.stringify({ user_id: user, company_id: company, context }),
  });
  assert.equal(response.status, 200, await response.text());
}

/** One axe-core finding, as the tests report it. */
export interface AxeFinding {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core on the page as it is now (open shadow roots included) and returns the serious
 * and critical findings. axe is evaluated through the DevTools protocol, which the page's CSP
 * does not govern, so the page runs under its real policy.
 */
export async function axeFindings(page: Page): Promise<AxeFinding[]> {
  const source = (axe as unknown as { source: string }).source;
  await page.evaluate(source);
  // A string: it runs in the page, whose globals (document, axe) Deno's types do not know.
  return await page.evaluate(`(async () => {
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(" ")),
      }));
  })()`);
}

/** Every `<time>` text on the page and in the widget's shadow root. */
export function timeTexts(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const roots = [document];
    for (const host of document.querySelectorAll("[data-livechat]")) {
      if (host.shadowRoot) roots.push(host.shadowRoot);
    }
    return roots.flatMap((r) => [...r.querySelectorAll("time")].map((t) => t.textContent ?? ""));
  })()`);
}
