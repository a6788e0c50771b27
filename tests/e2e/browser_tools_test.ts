/**
 * The tools of a support team's day in Chromium, across two agents and a user (issue 15):
 * private notes (and a transfer's note), saved replies, an image and a PDF attachment, the
 * satisfaction rating, the widget's away state, and an agent's own status in a second tab.
 *
 * They need the server's side of these tools (`note`, `rate`, `availability`, the attachments
 * and canned responses routes); on a server without them they skip, saying so.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Browser } from "playwright-core";
import { startEngine } from "../adapters/socketio/_harness.ts";
import { SCREENSHOTS, skipBrowser } from "./_browser.ts";
import {
  browserTest,
  DESKTOP,
  type Engine,
  handOff,
  openAs,
  PHONE,
  pick,
  settings,
  W,
  withBrowser,
} from "./_pages.ts";

/** Whether this server has the tools' routes (its OpenAPI document lists them). */
async function serverHasTools(): Promise<boolean> {
  const engine = await startEngine();
  try {
    const doc = await (await fetch(`${engine.url}/openapi.json`)).json();
    const paths = Object.keys(doc.paths ?? {});
    return paths.includes("/api/v1/attachments") && paths.includes("/api/v1/canned_responses");
  } finally {
    await engine.close();
  }
}

const TOOLS = skipBrowser ? false : await serverHasTools();
if (!skipBrowser && !TOOLS) {
  console.warn(
    "Browser tests of notes, saved replies, attachments, ratings and availability skipped: " +
      "this server has no /api/v1/attachments or /api/v1/canned_responses route yet.",
  );
}

const toolsTest = (name: string, fn: () => Promise<void>) => browserTest(name, fn, !TOOLS);

/** A 1×1 PNG and a minimal PDF, as a browser would pick them. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);
const PDF = Buffer.from(
  "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n",
);

/** alice handed over and assigned to bob (manual assignment), carol online too. */
async function aliceWithBob(engine: Engine) {
  await settings(engine, "acme", { assignment: "manual" });
  const alice = await engine.connect("acme", "alice", "user");
  await handOff(engine, "acme", "alice", "Refund for order 1234");
  alice.socket.disconnect();
  const bob = await engine.connect("acme", "bob", "admin");
  assert.equal((await bob.request<{ ok: boolean }>("claim", { user_id: "alice" })).ok, true);
  bob.socket.disconnect();
}

/** alice assigned to bob: bob's console on her conversation, her widget open. */
async function bobAndAlice(engine: Engine, browser: Browser) {
  await aliceWithBob(engine);
  const bob = await openAs(browser, engine, "/admin.html", "bob", "admin");
  await pick(bob.page, "alice");
  const user = await openAs(browser, engine, "/widget.html", "alice", "user");
  return { bob, user };
}

toolsTest(
  "browser tools: a private note reaches the other agent and never the user; a transfer's note reaches the receiving agent",
  () =>
    withBrowser(async (engine, browser) => {
      await aliceWithBob(engine);
      const bob = await openAs(browser, engine, "/admin.html", "bob", "admin");
      const carol = await openAs(browser, engine, "/admin.html", "carol", "admin");
      const user = await openAs(browser, engine, "/widget.html", "alice", "user");
      await pick(bob.page, "alice");
      await pick(carol.page, "alice");

      await bob.page.locator('#mode input[value="note"]').check();
      await bob.page.locator("#message").fill("Finance approved the refund");
      await bob.page.locator("#message").press("Enter");
      await bob.page.locator("#logs .msg.note", { hasText: "Finance approved" }).waitFor();
      const note = carol.page.locator("#logs .msg.note", { hasText: "Finance approved" });
      await note.waitFor();
      assert.match((await note.locator(".who").textContent())!, /Private note · bob/);

      // A reply after the note: once the user has it, the note would have come before it.
      await bob.page.locator('#mode input[value="reply"]').check();
      await bob.page.locator("#message").fill("Your refund is on its way");
      await bob.page.locator("#message").press("Enter");
      await user.page.locator(`${W.message} .text`, { hasText: "refund is on its way" }).waitFor();
      assert.equal(await user.page.getByText("Finance approved").count(), 0);

      await bob.page.locator("#transfer").click();
      await bob.page.locator("#transfer-dialog[open]").waitFor();
      await bob.page.locator('#transfer-agents input[value="carol"]').check();
      await bob.page.locator("#transfer-note").fill("VIP customer, be quick");
      await bob.page.locator("#transfer-go").click();
      const handed = carol.page.locator("#logs .msg.note", { hasText: "VIP customer" });
      await handed.waitFor();
      assert.match((await handed.locator(".who").textContent())!, /bob → you/);
      await Deno.mkdir(SCREENSHOTS, { recursive: true });
      await carol.page.screenshot({ path: `${SCREENSHOTS}admin-notes-desktop.png` });
      assert.equal(await user.page.getByText("VIP customer").count(), 0);
      assert.deepEqual([...bob.errors, ...carol.errors, ...user.errors], []);
    }),
);

toolsTest(
  "browser tools: typing / and a shortcut inserts a saved reply with the user's id and the agent's name",
  () =>
    withBrowser(async (engine, browser) => {
      await aliceWithBob(engine);
      const bot = await engine.token("acme", "chatbot", "bot");
      const put = await fetch(`${engine.url}/api/v1/canned_responses`, {
        method: "PUT",
        headers: { authorization: `Bearer ${bot}`, "content-type": "application/json" },
        body: JSON.stringify({
          canned_responses: [
            {
              shortcut: "refund",
              title: "Refund policy",
              text: "Hi {{user_id}}, {{agent_name}} here: refunds take 5 days.",
            },
            { shortcut: "bye", title: "Goodbye", text: "Have a nice day!" },
          ],
        }),
      });
      assert.equal(put.status, 200, await put.text());
      const bob = await openAs(browser, engine, "/admin.html", "bob", "admin");
      await pick(bob.page, "alice");
      const user = await openAs(browser, engine, "/widget.html", "alice", "user");

      await bob.page.locator("#message").pressSequentially("/ref");
      const option = bob.page.locator('#canned [role="option"]', { hasText: "/refund" });
      await option.waitFor();
      assert.equal(await bob.page.locator('#canned [role="option"]').count(), 1);
      assert.equal(await bob.page.locator("#message").getAttribute("aria-expanded"), "true");
      await bob.page.locator("#message").press("Enter");
      assert.equal(
        await bob.page.locator("#message").inputValue(),
        "Hi alice, bob here: refunds take 5 days.",
      );
      await bob.page.locator("#message").press("Enter");
      await user.page.locator(`${W.message} .text`, { hasText: "refunds take 5 days" }).waitFor();
      assert.deepEqual([...bob.errors, ...user.errors], []);
    }),
);

toolsTest(
  "browser tools: an image from the user shows inline in the console, a PDF from the agent downloads in the widget",
  () =>
    withBrowser(async (engine, browser) => {
      const { bob, user } = await bobAndAlice(engine, browser);

      await user.page.locator('[data-livechat="attach"]').waitFor();
      await user.page.locator('[data-livechat="file"]').setInputFiles({
        name: "broken-box.png",
        mimeType: "image/png",
        buffer: PNG,
      });
      const image = bob.page.locator('#logs img.attachment-image[alt="broken-box.png"]');
      await image.waitFor();
      await bob.page.waitForFunction(
        (img) =>
          (img as { complete: boolean; naturalWidth: number }).complete &&
          (img as { naturalWidth: number }).naturalWidth === 1,
        await image.elementHandle(),
      );
      assert.match((await image.getAttribute("src"))!, /^blob:/);
      await Deno.mkdir(SCREENSHOTS, { recursive: true });
      await bob.page.screenshot({ path: `${SCREENSHOTS}admin-attachment-desktop.png` });

      await bob.page.locator("#attach-label").waitFor();
      await bob.page.locator("#attach").setInputFiles({
        name: "invoice.pdf",
        mimeType: "application/pdf",
        buffer: PDF,
      });
      const link = user.page.locator(".attachment-file", { hasText: "invoice.pdf" });
      await link.waitFor();
      assert.equal(await user.page.locator('img[alt="invoice.pdf"]').count(), 0, "not inline");
      const [download] = await Promise.all([user.page.waitForEvent("download"), link.click()]);
      assert.equal(download.suggestedFilename(), "invoice.pdf");
      assert.deepEqual([...bob.errors, ...user.errors], []);
    }),
);

toolsTest(
  "browser tools: after the agent resolves, the widget asks for a rating and the agents see it",
  () =>
    withBrowser(async (engine, browser) => {
      const { bob, user } = await bobAndAlice(engine, browser);
      await user.page.locator(W.status, { hasText: /chatting with bob/i }).waitFor();

      await bob.page.locator("#close").click();
      await bob.page.locator("#confirm-go").click();
      const csat = user.page.locator('[data-livechat="csat"]');
      await csat.waitFor();
      await csat.locator('input[value="4"]').check({ force: true });
      await csat.locator('[data-livechat="csat-comment"]').fill("Quick and kind");
      await Deno.mkdir(SCREENSHOTS, { recursive: true });
      await user.page.screenshot({ path: `${SCREENSHOTS}widget-rating-desktop.png` });
      await csat.locator('[data-livechat="csat-send"]').click();
      await user.page.locator('[data-livechat="csat-done"]').waitFor();

      await bob.page.locator("#conversation-rating", { hasText: "Rated 4/5: “Quick and kind”" })
        .waitFor();
      await bob.page.locator("#logs .rating-line", { hasText: "rated this conversation 4/5" })
        .waitFor();
      assert.deepEqual([...bob.errors, ...user.errors], []);
    }),
);

toolsTest(
  "browser tools: with no agent available the widget says so and still takes the message; an agent's second tab shows its own status",
  () =>
    withBrowser(async (engine, browser) => {
      // Manual assignment: frank's message waits in the queue, whoever is online.
      await settings(engine, "acme", { assignment: "manual" });
      const user = await openAs(browser, engine, "/widget.html", "frank", "user");
      const away = user.page.locator('[data-livechat="away"]');
      await away.waitFor();
      assert.match((await away.textContent())!, /No one is available/);
      await user.page.setViewportSize(PHONE);
      await Deno.mkdir(SCREENSHOTS, { recursive: true });
      await user.page.screenshot({ path: `${SCREENSHOTS}widget-away-mobile.png` });
      await user.page.setViewportSize(DESKTOP);
      await user.page.locator(W.input).fill("Is anyone there?");
      await user.page.locator(W.send).click();
      await user.page.locator(`${W.message}[data-role="user"][data-seq]`).waitFor();

      // An agent comes: the away state goes; it comes back when they set Away.
      const bob = await openAs(browser, engine, "/admin.html", "bob", "admin");
      await away.waitFor({ state: "hidden" });
      await bob.page.locator('#availability input[value="away"]').check();
      await away.waitFor();

      // A second tab of bob's shows the status chosen in the first, and bob in the list.
      const second = await openAs(browser, engine, "/admin.html", "bob", "admin");
      await second.page.locator('#availability input[value="away"]:checked').waitFor();
      await second.page.locator('#agents li[data-status="away"]', { hasText: "bob (you)" })
        .waitFor();
      assert.deepEqual([...bob.errors, ...user.errors, ...second.errors], []);
    }),
);
