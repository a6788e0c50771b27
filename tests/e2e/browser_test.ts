/**
 * The pages in a real browser: a user and an agent in two browser contexts go through
 * handoff → queued → claimed → chat both ways → resolve → back to the bot; a reload
 * mid-chat loses nothing; markup in a message is shown as text and runs nothing.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { startEngine } from "../adapters/socketio/_harness.ts";
import { launch, skipBrowser } from "./_browser.ts";

const XSS = "<img src=x onerror=alert(1)>";

async function connected(page: Page) {
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 15_000 });
}

Deno.test({
  name: "browser: user page and agent console go through handoff, claim, chat, reload and resolve",
  ignore: skipBrowser,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const engine = await startEngine();
    const browser = await launch();
    const dialogs: string[] = [];
    try {
      const bot = await engine.token("acme", "chatbot", "bot");
      const put = await fetch(`${engine.url}/api/v1/settings`, {
        method: "PUT",
        headers: { authorization: `Bearer ${bot}`, "content-type": "application/json" },
        body: JSON.stringify({ assignment: "manual" }),
      });
      assert.equal(put.status, 200);
      await put.body?.cancel();

      const agentContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const userContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const agent = await agentContext.newPage();
      const user = await userContext.newPage();
      const errors: string[] = [];
      for (const page of [agent, user]) {
        page.on("dialog", (d) => {
          dialogs.push(d.message());
          d.dismiss();
        });
        page.on("pageerror", (e) => errors.push(String(e)));
        page.on("console", (m) => {
          if (m.type() === "error") errors.push(m.text());
        });
      }
      // `?token=` in a page's address still works, as older links have it.
      await agent.goto(
        `${engine.url}/admin.html?token=${await engine.token("acme", "bob", "admin")}`,
      );
      await connected(agent);
      await user.goto(
        `${engine.url}/user.html#token=${await engine.token("acme", "alice", "user")}`,
      );
      await connected(user);

      // Handoff: the user waits in the queue, the agent sees the conversation.
      const handoff = await fetch(`${engine.url}/transfer_to_agent`, {
        method: "POST",
        headers: { authorization: `Bearer ${bot}`, "content-type": "application/json" },
        body: JSON.stringify({
          user_id: "alice",
          company_id: "acme",
          context: "Asked twice for a refund",
        }),
      });
      assert.equal(handoff.status, 200);
      await handoff.body?.cancel();
      await user.locator("#conversation-status", { hasText: /number 1 in the queue/i }).waitFor();
      await agent.locator('#conversations button[data-user="alice"]').first().click();
      await agent.locator("#context", { hasText: "Asked twice for a refund" }).waitFor();

      // Claim: the user is told who they are chatting with.
      await agent.locator("#claim").click();
      await user.locator("#conversation-status", { hasText: /chatting with bob/i }).waitFor();

      // Chat both ways, including markup that must stay text.
      await user.locator("#message").fill("Hello from the browser");
      await agent.locator("#typing", { hasText: "alice is typing" }).waitFor();
      await user.locator("#message").press("Enter");
      await agent.locator("#logs .msg .text", { hasText: "Hello from the browser" }).waitFor();
      await agent.locator("#message").fill("Hi Alice, I can help");
      await user.locator("#typing", { hasText: "bob is typing" }).waitFor();
      await agent.locator("#message").press("Enter");
      await user.locator("#log .msg .text", { hasText: "Hi Alice, I can help" }).waitFor();
      await user.locator("#message").fill(XSS);
      await user.locator("#message").press("Enter");
      await agent.locator("#logs .msg .text", { hasText: XSS }).waitFor();
      assert.equal(await agent.locator("#logs img").count(), 0);
      assert.equal(await user.locator("#log img").count(), 0);
      assert.equal(await user.locator("#log .msg .text", { hasText: XSS }).textContent(), XSS);

      // While the user's page is away, the agent writes; a reload then shows everything once.
      await user.goto("about:blank");
      await agent.locator("#message").fill("Written while you reloaded");
      await agent.locator("#message").press("Enter");
      await agent.locator("#logs .msg .text", { hasText: "Written while you reloaded" }).waitFor();
      await user.goBack();
      await connected(user);
      await user.locator("#log .msg .text", { hasText: "Written while you reloaded" }).waitFor();
      const texts = await user.locator("#log .msg .text").allTextContents();
      for (
        const t of [
          "Hello from the browser",
          "Hi Alice, I can help",
          XSS,
          "Written while you reloaded",
        ]
      ) {
        assert.equal(
          texts.filter((x) => x === t).length,
          1,
          `"${t}" shows once after the reload: ${JSON.stringify(texts)}`,
        );
      }

      // Resolve back to the bot (after confirming).
      await agent.locator("#resolve").click();
      await agent.locator("#confirm-go").click();
      await user.locator("#conversation-status", { hasText: /back with the assistant/i }).waitFor();

      assert.deepEqual(dialogs, [], "no script ran from a message");
      assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
    } finally {
      await browser.close();
      await engine.close();
    }
  },
});

Deno.test({
  name:
    "browser: the embeddable widget chats with an agent, survives a reload, and shows markup as text",
  ignore: skipBrowser,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const engine = await startEngine();
    const browser = await launch();
    const dialogs: string[] = [];
    try {
      const agent = await engine.connect("acme", "bob", "admin");
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        d.dismiss();
      });
      await page.goto(
        `${engine.url}/widget.html#token=${await engine.token("acme", "alice", "user")}`,
      );
      await page.locator('[data-livechat="bubble"]').click();
      const input = page.locator('[data-livechat="input"]');
      await input.fill("Hello from the widget");
      await page.locator('[data-livechat="send"]').click();
      const first = await agent.nextWhere<{ content: string }>(
        "message",
        (m) => m.content === "Hello from the widget",
      );
      assert.equal(first.content, "Hello from the widget");
      await page.locator('[data-livechat="status"]', { hasText: /chatting with bob/i }).waitFor();

      await agent.request("message", { to: "user", user_id: "alice", content: XSS });
      const theirs = page.locator('[data-livechat="message"][data-role="agent"] .text', {
        hasText: XSS,
      });
      await theirs.waitFor();
      assert.equal(await theirs.textContent(), XSS);
      assert.equal(await page.locator('[data-livechat="messages"] img').count(), 0);

      // A reload keeps everything, each once; what the agent wrote meanwhile arrives too.
      await page.goto("about:blank");
      await agent.request("message", {
        to: "user",
        user_id: "alice",
        content: "while you were away",
      });
      await page.goBack();
      await page.locator('[data-livechat="bubble"]').click();
      await page.locator('[data-livechat="message"] .text', { hasText: "while you were away" })
        .waitFor();
      const texts = await page.locator('[data-livechat="message"] .text').allTextContents();
      for (const t of ["Hello from the widget", XSS, "while you were away"]) {
        assert.equal(
          texts.filter((x) => x === t).length,
          1,
          `"${t}" once: ${JSON.stringify(texts)}`,
        );
      }
      assert.deepEqual(dialogs, []);
    } finally {
      await browser.close();
      await engine.close();
    }
  },
});

Deno.test({
  name:
    "browser: the widget and the user page page back through history, and a refused message keeps its Retry across a reload",
  ignore: skipBrowser,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const engine = await startEngine();
    const browser = await launch();
    try {
      const alice = await engine.connect("acme", "alice", "user");
      const agent = await engine.connect("acme", "bob", "admin");
      const first = await alice.request("message", { to: "admin", content: "first of all" });
      assert.equal(first.ok, true);
      for (let i = 1; i <= 60; i++) {
        const ack = await agent.request("message", {
          to: "user",
          user_id: "alice",
          content: `answer ${i}`,
        });
        assert.equal(ack.ok, true);
      }
      alice.socket.disconnect();
      const token = await engine.token("acme", "alice", "user");

      // The widget: the newest page, then the older one on demand.
      const widget = await browser.newPage();
      await widget.goto(`${engine.url}/widget.html#token=${token}`);
      await widget.locator('[data-livechat="bubble"]').click();
      const widgetTexts = widget.locator('[data-livechat="message"] .text');
      await widget.locator('[data-livechat="message"] .text', { hasText: "answer 60" }).waitFor();
      assert.equal(await widgetTexts.count(), 50);
      await widget.locator('[data-livechat="older"]').click();
      await widget.locator('[data-livechat="message"] .text', { hasText: "first of all" })
        .waitFor();
      assert.equal(await widgetTexts.count(), 61);
      assert.equal(await widget.locator('[data-livechat="older"]').isHidden(), true);

      // Too long: refused by the server, shown with Retry, and still there after a reload.
      const long = "x".repeat(8001);
      await widget.locator('[data-livechat="input"]').fill(long);
      await widget.locator('[data-livechat="send"]').click();
      await widget.locator('.msg.failed [data-livechat="retry"]').waitFor();
      assert.match(
        (await widget.locator(".msg.failed .state").textContent())!,
        /^Not sent: .+ Retry$/,
      );
      await widget.reload();
      await widget.locator('[data-livechat="bubble"]').click();
      await widget.locator('.msg.failed [data-livechat="retry"]').waitFor();
      assert.equal(await widget.locator(".msg.failed").count(), 1);

      // The user page: the same paging.
      const user = await browser.newPage();
      await user.goto(`${engine.url}/user.html#token=${token}`);
      await connected(user);
      await user.locator("#log .msg .text", { hasText: "answer 60" }).waitFor();
      assert.equal(await user.locator("#log .msg").count(), 50);
      await user.locator("#older").click();
      await user.locator("#log .msg .text", { hasText: "first of all" }).waitFor();
      assert.equal(await user.locator("#log .msg").count(), 61);
    } finally {
      await browser.close();
      await engine.close();
    }
  },
});
