/**
 * The pages as a team sees them all day, in Chromium: the reply box stays on screen in a long
 * conversation, the token panel folds once connected, a phone shows the conversation first
 * with folding lists, the message logs are keyboard-scrollable lists, tokens never travel in a
 * WebSocket address, axe-core finds nothing serious, and screenshots at desktop and phone
 * widths land in test-results/screenshots/ (issue 15, problems 3, 9 and 10).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { SCREENSHOTS } from "./_browser.ts";
import {
  axeFindings,
  browserTest,
  connected,
  DESKTOP,
  type Engine,
  handOff,
  openAs,
  PHONE,
  pick,
  settings,
  watchedPage,
  withBrowser,
  withToken,
} from "./_pages.ts";

/** A long conversation: alice handed over, assigned to bob, 40 messages each way. */
async function longConversation(engine: Engine) {
  await settings(engine, "acme", { assignment: "manual" });
  const alice = await engine.connect("acme", "alice", "user");
  const bob = await engine.connect("acme", "bob", "admin");
  await handOff(engine, "acme", "alice", "Asked twice for a refund of order 1234");
  assert.equal((await bob.request<{ ok: boolean }>("claim", { user_id: "alice" })).ok, true);
  for (let i = 1; i <= 20; i++) {
    await alice.request("message", { to: "admin", content: `Question ${i} from alice` });
    await bob.request("message", { to: "user", user_id: "alice", content: `Answer ${i} from bob` });
  }
  alice.socket.disconnect();
  bob.socket.disconnect();
}

/** The bottom of an element's box, in the viewport. */
async function bottomOf(page: Page, selector: string) {
  const box = await page.locator(selector).boundingBox();
  assert.ok(box, `${selector} is laid out`);
  return box.y + box.height;
}

browserTest(
  "browser: in a long conversation the reply box stays on screen and the token panel folds (console and user page)",
  () =>
    withBrowser(async (engine, browser) => {
      await longConversation(engine);
      const agent = await openAs(browser, engine, "/admin.html", "bob", "admin");
      assert.equal(await agent.page.locator("#connect-form").isHidden(), true, "token form folded");
      assert.match((await agent.page.locator("#session-who").textContent())!, /bob/);
      await pick(agent.page, "alice");
      await agent.page.locator("#logs .msg .text", { hasText: "Answer 20 from bob" }).waitFor();
      // The log scrolls inside; the page does not grow past the window.
      assert.ok(await bottomOf(agent.page, "#message") <= DESKTOP.height, "reply box on screen");
      assert.ok(await bottomOf(agent.page, "#send") <= DESKTOP.height, "send button on screen");
      const log = agent.page.locator("#logs .log:not([hidden])");
      const sizes = await log.evaluate((l) => ({ scroll: l.scrollHeight, client: l.clientHeight }));
      assert.ok(sizes.scroll > sizes.client, "the log scrolls inside itself");
      // "Change token" brings the form back.
      await agent.page.locator("#change-token").click();
      assert.equal(await agent.page.locator("#connect-form").isVisible(), true);

      const user = await openAs(browser, engine, "/user.html", "alice", "user");
      await user.page.locator("#log .msg .text", { hasText: "Answer 20 from bob" }).waitFor();
      assert.equal(await user.page.locator("#connect-form").isHidden(), true);
      assert.ok(await bottomOf(user.page, "#message") <= DESKTOP.height, "message box on screen");
      assert.deepEqual([...agent.errors, ...user.errors], []);
    }),
);

browserTest(
  "browser: no page puts a token in a WebSocket address or keeps it in its own address",
  () =>
    withBrowser(async (engine, browser) => {
      const pages = [
        ["/admin.html", await engine.token("acme", "bob", "admin")],
        ["/user.html", await engine.token("acme", "alice", "user")],
        ["/widget.html", await engine.token("acme", "carol", "user")],
      ] as const;
      for (const [path, token] of pages) {
        // Both ways a page takes a token: `#token=` and the older `?token=`.
        for (const url of [withToken(engine, path, token), `${engine.url}${path}?token=${token}`]) {
          const w = await watchedPage(browser);
          await w.page.goto(url);
          if (path === "/widget.html") {
            await w.page.locator('[data-livechat="status"][data-state="connected"]')
              .waitFor({ state: "attached" });
          } else await connected(w.page);
          assert.ok(w.sockets.length > 0, `${path} opened a WebSocket`);
          for (const address of w.sockets) {
            assert.doesNotMatch(address, /token=|eyJ/, `${path}: ${address}`);
          }
          assert.doesNotMatch(w.page.url(), /token=/, `${path} took the token out of its address`);
          await w.context.close();
        }
      }
    }),
);

browserTest(
  "browser: on a phone the console shows the conversation first and folds its lists; the landing page's code fits",
  () =>
    withBrowser(async (engine, browser) => {
      await longConversation(engine);
      const agent = await openAs(browser, engine, "/admin.html", "bob", "admin", {
        viewport: PHONE,
      });
      const top = async (selector: string) => (await agent.page.locator(selector).boundingBox())!.y;
      assert.ok(await top("#conversation") < await top(".sidebar"), "the conversation comes first");
      // The long lists start folded; a heading's button unfolds one.
      const online = agent.page.locator('[aria-controls="online-body"]');
      assert.equal(await online.getAttribute("aria-expanded"), "false");
      assert.equal(await agent.page.locator("#online-body").isHidden(), true);
      await online.click();
      assert.equal(await agent.page.locator("#online-body").isVisible(), true);
      // Picking a conversation brings it into view with its reply box.
      await pick(agent.page, "alice");
      await agent.page.locator("#logs .msg .text", { hasText: "Answer 20 from bob" }).waitFor();
      assert.equal(await agent.page.locator("#message").isVisible(), true);
      const box = (await agent.page.locator("#message").boundingBox())!;
      assert.ok(box.y >= 0 && box.y + box.height <= PHONE.height, "reply box in the viewport");

      const landing = await watchedPage(browser, { viewport: PHONE });
      await landing.page.goto(`${engine.url}/`);
      for (const pre of await landing.page.locator("pre").all()) {
        const fits = await pre.evaluate((p) => p.scrollWidth <= p.clientWidth);
        assert.ok(fits, `a code block is not clipped: ${await pre.textContent()}`);
      }
    }),
);

browserTest(
  "browser: the message logs are lists the keyboard scrolls, and axe-core finds nothing serious on the widget, the console and the user page",
  () =>
    withBrowser(async (engine, browser) => {
      await longConversation(engine);
      const agent = await openAs(browser, engine, "/admin.html", "bob", "admin");
      await pick(agent.page, "alice");
      await agent.page.locator("#logs .msg .text", { hasText: "Answer 20 from bob" }).waitFor();
      const user = await openAs(browser, engine, "/user.html", "alice", "user");
      await user.page.locator("#log .msg .text", { hasText: "Answer 20 from bob" }).waitFor();

      for (
        const [page, selector] of [[agent.page, "#logs .log:not([hidden])"], [
          user.page,
          "#log",
        ]] as const
      ) {
        const log = page.locator(selector);
        assert.equal(await log.evaluate((l) => l.tagName), "OL");
        assert.equal(await log.getAttribute("role"), null, "no role that hides the list");
        assert.equal(await log.getAttribute("tabindex"), "0");
        // Focused, it scrolls by keyboard.
        await log.focus();
        const before = await log.evaluate((l) => l.scrollTop);
        await page.keyboard.press("Home");
        // The browser scrolls after the key event is handled: wait for it (or time out).
        await page.waitForFunction(
          `(document.querySelector(${
            JSON.stringify(selector)
          })?.scrollTop ?? ${before}) < ${before}`,
          undefined,
          { timeout: 5000 },
        ).catch(() => {});
        const after = await log.evaluate((l) => l.scrollTop);
        assert.ok(after < before, `${selector} scrolls with the keyboard (${before} → ${after})`);
      }

      const widget = await openAs(browser, engine, "/widget.html", "alice", "user");
      await widget.page.locator('[data-livechat="message"] .text', { hasText: "Answer 20" })
        .waitFor();

      for (
        const [name, page] of [["console", agent.page], ["user page", user.page], [
          "widget",
          widget.page,
        ]] as const
      ) {
        const findings = await axeFindings(page);
        assert.deepEqual(findings, [], `${name}: ${JSON.stringify(findings, null, 2)}`);
      }
    }),
);

browserTest(
  "browser: screenshots of the console and the widget at desktop and phone widths",
  () =>
    withBrowser(async (engine, browser) => {
      await longConversation(engine);
      await engine.connect("acme", "carol", "admin");
      await handOff(
        engine,
        "acme",
        "a-visitor-with-a-rather-long-name-from-the-newsletter-campaign",
        "Wants to change the delivery address",
      );
      await Deno.mkdir(SCREENSHOTS, { recursive: true });
      for (const [size, viewport] of [["desktop", DESKTOP], ["mobile", PHONE]] as const) {
        const agent = await openAs(browser, engine, "/admin.html", "bob", "admin", { viewport });
        await pick(agent.page, "alice");
        await agent.page.locator("#logs .msg .text", { hasText: "Answer 20 from bob" }).waitFor();
        await agent.page.screenshot({ path: `${SCREENSHOTS}admin-${size}.png` });
        if (size === "mobile") {
          await agent.page.screenshot({
            path: `${SCREENSHOTS}admin-${size}-full.png`,
            fullPage: true,
          });
        }

        const widget = await openAs(browser, engine, "/widget.html", "alice", "user", { viewport });
        await widget.page.locator('[data-livechat="message"] .text', { hasText: "Answer 20" })
          .waitFor();
        await widget.page.screenshot({ path: `${SCREENSHOTS}widget-${size}.png` });

        const user = await openAs(browser, engine, "/user.html", "alice", "user", { viewport });
        await user.page.locator("#log .msg .text", { hasText: "Answer 20 from bob" }).waitFor();
        await user.page.screenshot({ path: `${SCREENSHOTS}user-${size}.png` });
        for (const w of [agent, widget, user]) {
          assert.deepEqual(w.errors, []);
          await w.context.close();
        }
      }
    }),
);
