/**
 * A support team's day in Chromium, one test per broken spot of issue 15: the try-it demo's
 * chatbot story (4), refusals and expiry in people's words (6), the console's hints, other
 * agents' replies, read receipts, alerts, long names and one time format (7), and the
 * console's transfer dialog, confirmations, error style and the prompt for a waiting chat (8).
 */
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { FakeClock } from "../_fakes.ts";
import { token } from "../_tokens.ts";
import {
  browserTest,
  connected,
  handOff,
  openAs,
  pick,
  settings,
  timeTexts,
  W,
  watchedPage,
  withBrowser,
  withToken,
} from "./_pages.ts";

/** A computed style of the element (evaluated in the page, whose globals Deno's types lack). */
function style(locator: Locator, property: string): Promise<string> {
  type Window = { getComputedStyle(e: unknown): Record<string, string> };
  return locator.evaluate(
    (e, p) => (globalThis as unknown as Window).getComputedStyle(e)[p],
    property,
  );
}

async function say(page: Page, text: string) {
  await page.locator(W.input).fill(text);
  await page.locator(W.send).click();
}

browserTest(
  "browser: the try-it demo tells one story: the chatbot answers, hands over when asked, and takes the visitor back",
  () =>
    withBrowser(async (engine, browser) => {
      const landing = await watchedPage(browser);
      await landing.page.goto(`${engine.url}/`);
      await landing.page.locator("#demo-start").click();
      await landing.page.locator("#demo-ready").waitFor();
      const href = async (id: string) =>
        new URL((await landing.page.locator(id).getAttribute("href"))!, engine.url).href;
      const agentUrl = await href("#demo-agent");
      const visitorUrl = await href("#demo-visitor");
      assert.doesNotMatch(agentUrl, /\?token=/, "tokens ride after #, not in the query");

      const agent = await watchedPage(browser);
      await agent.page.goto(agentUrl);
      await connected(agent.page);
      const visitor = await watchedPage(browser);
      await visitor.page.goto(visitorUrl);
      await visitor.page.locator(W.bubble).click();
      await visitor.page.locator(W.status, { hasText: /chatting with the assistant/i }).waitFor();

      // 1. The chatbot answers by itself; nobody is queued for it.
      await say(visitor.page, "How long does shipping take?");
      await visitor.page.locator(`${W.message}[data-role="bot"] .text`, { hasText: /ship/ })
        .waitFor();
      assert.equal(await agent.page.locator("#queue-count").textContent(), "(0)");
      assert.equal(await agent.page.locator("#conversations .empty").count(), 1);

      // 2. Asked for a person, it hands over: the agent gets the chat with what was said.
      await say(visitor.page, "Can I talk to a human, please?");
      await visitor.page.locator(W.status, { hasText: /chatting with agent-demo/i }).waitFor();
      await agent.page.locator("#conversations button").first().click();
      await agent.page.locator("#context", { hasText: /asked for a person/ }).waitFor();
      await agent.page.locator("#logs .msg.customer .text", { hasText: "How long does shipping" })
        .waitFor();
      await agent.page.locator("#logs .msg.bot .text", { hasText: /ship/ }).waitFor();
      assert.match((await agent.page.locator("#conversation-state").textContent())!, /to you/);

      // 3. The agent answers, then hands the visitor back to the chatbot.
      await agent.page.locator("#message").fill("Hi, I'm a person. How can I help?");
      await agent.page.locator("#message").press("Enter");
      await visitor.page.locator(`${W.message}[data-role="agent"] .text`, { hasText: "a person" })
        .waitFor();
      await agent.page.locator("#resolve").click();
      await agent.page.locator("#confirm-go").click();
      await visitor.page.locator(W.status, { hasText: /back with the assistant/i }).waitFor();
      await visitor.page.locator('[data-livechat="csat"]').waitFor();

      // 4. The chatbot answers again; the next message does not go back to a person.
      await say(visitor.page, "Thanks!");
      await visitor.page.locator(`${W.message}[data-role="bot"] .text`, { hasText: /welcome/ })
        .waitFor();
      assert.equal(await agent.page.locator("#queue-count").textContent(), "(0)");
      assert.match(
        (await agent.page.locator("#conversation-state").textContent())!,
        /with the bot/,
      );
      assert.deepEqual([...agent.errors, ...visitor.errors, ...landing.errors], []);
    }, { demo: true }),
);

browserTest(
  "browser: refusals and an expired session are told in plain words, and an unsent message says why instead of retrying forever",
  async () => {
    const clock = new FakeClock(Date.now());
    await withBrowser(async (engine, browser) => {
      const past = Math.floor(Date.now() / 1000) - 60;
      const expired = await token({
        company_id: "acme",
        user_id: "alice",
        role: "user",
        exp: past,
      });

      // A token that expired before the page opened: the user page says so, in words.
      const user = await watchedPage(browser);
      await user.page.goto(withToken(engine, "/user.html", expired));
      await user.page.locator('#status[data-state="refused"]').waitFor();
      const refused = (await user.page.locator("#status").textContent())!;
      assert.equal(refused, "This token has expired. Paste a new one.");
      assert.equal(await user.page.locator("#connect-form").isVisible(), true);

      // A broken token in the widget: no developer text reaches the visitor.
      const widget = await watchedPage(browser);
      await widget.page.goto(withToken(engine, "/widget.html", "abc.def.ghi"));
      await widget.page.locator(`${W.status}[data-state="refused"]`).waitFor({ state: "attached" });
      const said = (await widget.page.locator(W.status).textContent())!;
      assert.doesNotMatch(said, /malformed|token|:/i);
      assert.match(said, /could not start/);

      // The session expires while the pages are open: each says so, and a message written then
      // is kept with the reason, not "retrying" for ever.
      const exp = Math.floor(clock.now() / 1000) + 60;
      const short = (user: string) =>
        token({ company_id: "acme", user_id: user, role: "user", exp });
      const live = await watchedPage(browser);
      await live.page.goto(withToken(engine, "/widget.html", await short("dora")));
      await live.page.locator(W.bubble).click();
      await live.page.locator(`${W.status}[data-state="connected"]`).waitFor();
      const page = await watchedPage(browser);
      await page.page.goto(withToken(engine, "/user.html", await short("erin")));
      await connected(page.page);
      clock.advance(61_000);
      await live.page.locator(W.status, { hasText: "Your chat session has expired" }).waitFor();
      await page.page.locator("#status", { hasText: "This token has expired" }).waitFor();
      await say(live.page, "Are you still there?");
      await live.page.locator(`${W.message} [data-livechat="state"]`, {
        hasText: "Not sent: your session expired. Reload the page to send it.",
      }).waitFor();
      // The user page, whose form takes a new token, keeps the text and says why it waits.
      await page.page.locator("#message").fill("Hello?");
      await page.page.locator("#message").press("Enter");
      await page.page.locator("#composer-hint", {
        hasText: "Not sent. This token has expired. Paste a new one.",
      }).waitFor();
      assert.equal(await page.page.locator("#message").inputValue(), "Hello?");
      for (const p of [live.page, page.page]) {
        assert.equal(await p.getByText(/retrying/).count(), 0, "nothing says it is retrying");
      }
    }, { clock });
  },
);

browserTest(
  "browser: a token of the wrong role is refused with a clear message before connecting",
  () =>
    withBrowser(async (engine, browser) => {
      const user = await watchedPage(browser);
      await user.page.goto(
        withToken(engine, "/user.html", await engine.token("acme", "bob", "admin")),
      );
      await user.page.locator('#status[data-state="refused"]').waitFor();
      assert.match(
        (await user.page.locator("#status").textContent())!,
        /agent's token: agents use the agent console/,
      );
      const agent = await watchedPage(browser);
      await agent.page.goto(
        withToken(engine, "/admin.html", await engine.token("acme", "al", "user")),
      );
      await agent.page.locator('#status[data-state="refused"]').waitFor();
      assert.match((await agent.page.locator("#status").textContent())!, /customer's token/);
      assert.deepEqual([...user.sockets, ...agent.sockets], [], "neither page connected");
    }),
);

browserTest(
  "browser: the console clears a stale reconnecting hint, marks other agents' replies, shows read receipts, uses one time format, and keeps long names whole",
  () =>
    withBrowser(async (engine, browser) => {
      await settings(engine, "acme", { assignment: "manual" });
      const carol = await engine.connect("acme", "carol", "admin");
      const alice = await engine.connect("acme", "alice", "user");
      await handOff(engine, "acme", "alice", "Refund");
      assert.equal((await carol.request<{ ok: boolean }>("claim", { user_id: "alice" })).ok, true);
      await carol.request("message", { to: "user", user_id: "alice", content: "Carol here" });
      await alice.request("message", { to: "admin", content: "Thanks Carol" });
      alice.socket.disconnect();

      const bob = await openAs(browser, engine, "/admin.html", "bob", "admin");
      await pick(bob.page, "alice");
      const other = bob.page.locator("#logs .msg.agent.other", { hasText: "Carol here" });
      await other.waitFor();
      const customer = bob.page.locator("#logs .msg.customer", { hasText: "Thanks Carol" });
      assert.equal(await other.locator(".who").textContent(), "carol (agent)");
      const look = async (l: typeof other) => ({
        bg: await style(l, "backgroundColor"),
        side: await style(l, "alignSelf"),
      });
      const [o, c] = [await look(other), await look(customer)];
      assert.notEqual(o.bg, c.bg, "another agent's reply is not coloured like the customer's");
      assert.equal(o.side, "flex-end");
      assert.equal(c.side, "flex-start");

      // Bob takes over and writes; the customer reads it on the user page: bob sees "read".
      await carol.request("transfer", { user_id: "alice", agent_id: "bob" });
      await bob.page.locator("#conversation-state", { hasText: "assigned to you" }).waitFor();
      await bob.page.locator("#message").fill("Bob now, hello");
      await bob.page.locator("#message").press("Enter");
      const user = await openAs(browser, engine, "/user.html", "alice", "user");
      await user.page.locator("#log .msg .text", { hasText: "Bob now, hello" }).waitFor();
      const read = bob.page.locator("#logs .msg.agent[data-read]", { hasText: "Bob now, hello" });
      await read.waitFor();
      assert.equal(await read.locator(".state").textContent(), "read");

      // One time format everywhere, with the whole date on hover.
      const widget = await openAs(browser, engine, "/widget.html", "alice", "user");
      await widget.page.locator(`${W.message} .text`, { hasText: "Bob now" }).waitFor();
      const times = [
        ...await timeTexts(bob.page),
        ...await timeTexts(user.page),
        ...await timeTexts(widget.page),
      ];
      assert.ok(times.length >= 6);
      for (const t of times) assert.match(t, /^\d{1,2}:\d{2}( [AP]M)?$/, `time "${t}"`);
      assert.equal(await bob.page.locator("time:not([title])").count(), 0);

      // The user page loses its connection while a message is written: the "reconnecting" hint
      // goes once the connection is back, and the message is delivered.
      await user.context.setOffline(true);
      for (const s of engine.server.io.sockets.sockets.values()) {
        if (s.data?.principal?.userId === "alice") s.conn.close();
      }
      await user.page.locator("#status", { hasText: /reconnecting|reach/i }).waitFor();
      await user.page.locator("#message").fill("Sent while offline");
      await user.page.locator("#message").press("Enter");
      await user.page.locator("#composer-hint", { hasText: "Reconnecting" }).waitFor();
      await user.context.setOffline(false);
      await connected(user.page);
      await bob.page.locator("#logs .msg .text", { hasText: "Sent while offline" }).waitFor();
      assert.equal(await user.page.locator("#composer-hint").textContent(), "");

      // A long visitor name: whole in the title and on hover, cut to fit in the lists.
      const long = `visitor-${"from-the-spring-newsletter-campaign-".repeat(3)}end`;
      await handOff(engine, "acme", long, "Long name");
      const row = bob.page.locator(`#queue button[data-user="${long}"]`);
      await row.waitFor();
      assert.equal(await row.getAttribute("title"), long);
      assert.equal(await row.locator(".name").textContent(), long);
      assert.ok(await row.locator(".name").evaluate((n) => n.scrollWidth > n.clientWidth));
      await row.click();
      assert.equal(
        await bob.page.locator("#conversation-title").textContent(),
        `Conversation with ${long}`,
      );
      // Chromium itself logs a send on a socket this test cut ("WebSocket is already in
      // CLOSING or CLOSED state"), depending on timing, on whichever page sent last: the only
      // error a page may have.
      const cut = /^WebSocket is already in CLOSING or CLOSED state/;
      const errors = [...bob.errors, ...user.errors, ...widget.errors].filter((e) => !cut.test(e));
      assert.deepEqual(errors, []);
    }),
);

/** Records desktop notifications and sounds instead of making them (the agent looks away). */
const ALERT_STUBS = `
  window.__notes = [];
  window.__tones = 0;
  window.Notification = class {
    static permission = "granted";
    static requestPermission() { return Promise.resolve("granted"); }
    constructor(title, options) { window.__notes.push({ title, body: options && options.body }); }
    addEventListener() {}
    close() {}
  };
  window.AudioContext = class {
    constructor() { this.currentTime = 0; this.destination = {}; }
    createOscillator() {
      return { frequency: {}, connect: (g) => g, start() { window.__tones += 1; }, stop() {} };
    }
    createGain() {
      return {
        gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} },
        connect: (d) => d,
      };
    }
  };
  document.hasFocus = () => false;
`;

browserTest(
  "browser: a new queued chat and a new message raise a sound, a desktop notification and the tab title",
  () =>
    withBrowser(async (engine, browser) => {
      await settings(engine, "acme", { assignment: "manual" });
      const bob = await openAs(browser, engine, "/admin.html", "bob", "admin", {
        init: ALERT_STUBS,
      });
      await bob.page.locator("#queue-title button").click(); // a gesture: sound may play
      await bob.page.locator("#queue-title button").click();

      await handOff(engine, "acme", "dave", "Where is my order?");
      await bob.page.waitForFunction('document.title.startsWith("1 waiting")');
      const notes = () =>
        bob.page.evaluate(() => (globalThis as unknown as { __notes: unknown[] }).__notes);
      await bob.page.waitForFunction(() =>
        (globalThis as unknown as { __notes: unknown[] }).__notes.length > 0
      );
      assert.deepEqual((await notes())[0], {
        title: "New chat waiting",
        body: "dave is waiting for an agent",
      });
      assert.ok(
        await bob.page.evaluate(() => (globalThis as unknown as { __tones: number }).__tones) > 0,
      );
      assert.match((await bob.page.locator("#alerts").textContent())!, /dave is waiting/);

      const dave = await engine.connect("acme", "dave", "user");
      await dave.request("message", { to: "admin", content: "Order 42, please" });
      await bob.page.waitForFunction(() =>
        (globalThis as unknown as { __notes: { title: string }[] }).__notes
          .some((n) => n.title === "New message from dave")
      );
      await bob.page.waitForFunction("/^\\(\\d+\\) 1 waiting/.test(document.title)");
      assert.deepEqual(bob.errors, []);
    }),
);

browserTest(
  "browser: transfer picks an online agent in a dialog, close and resolve ask first, errors look like errors, and a waiting chat prompts a free agent",
  () =>
    withBrowser(async (engine, browser) => {
      await settings(engine, "acme", { assignment: "manual", agent_grace_seconds: 0 });
      const carol = await engine.connect("acme", "carol", "admin");
      await engine.connect("acme", "alice", "user");
      await handOff(engine, "acme", "alice", "Refund");
      const bobToken = await engine.token("acme", "bob", "admin");
      const bob = await watchedPage(browser);
      await bob.page.goto(withToken(engine, "/admin.html", bobToken));
      await connected(bob.page);

      // Free, with a chat waiting: the console asks to claim it.
      await bob.page.locator("#waiting-prompt", { hasText: "alice" }).waitFor();
      await bob.page.locator("#waiting-claim").click();
      await bob.page.locator("#conversation-state", { hasText: "assigned to you" }).waitFor();
      await bob.page.locator("#waiting-prompt").waitFor({ state: "hidden" });

      // Close asks first; cancelling changes nothing.
      await bob.page.locator("#close").click();
      await bob.page.locator("#confirm-dialog[open]").waitFor();
      assert.match((await bob.page.locator("#confirm-title").textContent())!, /Close/);
      await bob.page.locator("#confirm-cancel").click();
      await bob.page.locator("#confirm-dialog").waitFor({ state: "hidden" });
      assert.match((await bob.page.locator("#conversation-state").textContent())!, /to you/);

      // Transfer: a dialog lists the online agents; one that left meanwhile is an error.
      await bob.page.locator("#transfer").click();
      await bob.page.locator("#transfer-dialog[open]").waitFor();
      const choice = bob.page.locator('#transfer-agents input[value="carol"]');
      assert.equal(await choice.isChecked(), true);
      assert.match((await bob.page.locator("#transfer-agents").textContent())!, /available/);
      await carol.close();
      await bob.page.locator("#transfer-note").fill("VIP, be nice");
      await bob.page.locator("#transfer-go").click();
      const hint = bob.page.locator('#action-hint[data-kind="error"]');
      await hint.waitFor();
      assert.match((await hint.textContent())!, /^Could not transfer/);
      const color = await style(hint, "color");
      assert.equal(color, "rgb(179, 38, 30)", "an error is red");

      // Carol is back: the transfer goes through, with its note.
      const carol2 = await engine.connect("acme", "carol", "admin");
      await bob.page.locator('#agents li[data-status="available"]', { hasText: "carol" }).waitFor();
      await bob.page.locator("#transfer").click();
      await bob.page.locator("#transfer-note").fill("VIP, be nice");
      await bob.page.locator("#transfer-go").click();
      await bob.page.locator('#action-hint[data-kind="ok"]', { hasText: "Transferred to carol" })
        .waitFor();
      await carol2.nextWhere<{ assignee: string }>("conversation", (c) => c.assignee === "carol");

      // Back to bob, then resolve: asked first, then done.
      await carol2.request("transfer", { user_id: "alice", agent_id: "bob" });
      await bob.page.locator("#conversation-state", { hasText: "assigned to you" }).waitFor();
      await bob.page.locator("#resolve").click();
      await bob.page.locator("#confirm-go").click();
      await bob.page.locator("#conversation-state", { hasText: "with the bot" }).waitFor();
      assert.deepEqual(bob.dialogs, [], "no prompt() or confirm()");
      assert.deepEqual(bob.errors, []);
    }),
);
