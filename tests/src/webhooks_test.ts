import assert from "node:assert/strict";
import { MemoryEventStore } from "../../adapters/store/mod.ts";
import type { CompanyState } from "../../domain/mod.ts";
import { ActorSystem } from "../../src/company_actor.ts";
import type { Logger } from "../../src/log.ts";
import { checkWebhookTarget, WebhookDispatcher, webhookTargetProblem } from "../../src/webhooks.ts";
import { FakeClock, RecordingPublisher } from "../_fakes.ts";

/** A logger that hands each line to whoever waits for its message. */
function watchingLogger() {
  const waiters: { msg: string; resolve: (fields: Record<string, unknown>) => void }[] = [];
  const line = (msg: string, fields: Record<string, unknown> = {}) => {
    const i = waiters.findIndex((w) => w.msg === msg);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(fields);
  };
  const log: Logger = { debug: line, info: line, warn: line, error: line };
  const next = (msg: string) =>
    new Promise<Record<string, unknown>>((resolve) => waiters.push({ msg, resolve }));
  return { log, next };
}

Deno.test("webhookTargetProblem() refuses internal literals and names, accepts public ones", () => {
  for (
    const url of [
      "http://127.0.0.1:9/",
      "http://169.254.169.254/",
      "http://LOCALHOST./x",
      "http://metadata.google.internal/",
      "http://[::ffff:7f00:1]/",
      "http://017700000001/", // 127.0.0.1 in octal
    ]
  ) {
    assert.match(webhookTargetProblem(url) ?? "", /loopback, private/, url);
  }
  assert.equal(webhookTargetProblem("ftp://bot.example/"), "must be an http(s) URL");
  assert.equal(webhookTargetProblem("https://bot.example/hooks"), null);
  assert.equal(webhookTargetProblem("https://[2606:4700::1111]/hooks"), null);
});

Deno.test("checkWebhookTarget() refuses a host that resolves to any internal address", async () => {
  const dns = (answers: Record<string, string[]>) => (host: string) =>
    Promise.resolve(answers[host] ?? []);
  const resolve = dns({
    "rebind.example": ["93.184.215.14", "10.0.0.5"],
    "good.example": ["93.184.215.14", "2606:4700::1111"],
    "v6.example": ["::1"],
  });
  assert.match(
    (await checkWebhookTarget("https://rebind.example/h", resolve))!,
    /resolves to 10\.0\.0\.5/,
  );
  assert.match((await checkWebhookTarget("https://v6.example/h", resolve))!, /resolves to ::1/);
  assert.match((await checkWebhookTarget("https://nx.example/h", resolve))!, /does not resolve/);
  assert.equal(await checkWebhookTarget("https://good.example/h", resolve), null);
  assert.equal(await checkWebhookTarget("https://93.184.215.14/h", resolve), null);
});

Deno.test("WebhookDispatcher: a host resolving to a private address is never called; the attempt fails and is retried", async () => {
  const clock = new FakeClock();
  const store = new MemoryEventStore();
  const { log, next } = watchingLogger();
  const called: string[] = [];
  const sent = Promise.withResolvers<void>();
  let address = "10.0.0.5";
  const webhooks = new WebhookDispatcher({
    store,
    log,
    stateOf: (id): CompanyState => system.actor(id).state,
    fetch: (input) => {
      called.push(String(input));
      sent.resolve();
      return Promise.resolve(new Response("ok"));
    },
    resolveHost: () => Promise.resolve([address]),
    clock,
    baseDelayMs: 500,
    maxDelayMs: 1000,
  });
  const system: ActorSystem = new ActorSystem({
    store,
    publisher: new RecordingPublisher(),
    clock,
    observer: webhooks,
  });
  try {
    const settings = await system.dispatch("acme", {
      type: "ChangeSettings",
      data: { changes: { webhookUrl: "https://hooks.example/in" }, at: clock.now() },
    });
    assert.ok(settings.ok);
    const refused = next("webhook.refused_target");
    await system.dispatch("acme", {
      type: "TransferToAgent",
      data: { userId: "alice", context: "", conversationId: "c-1", at: clock.now() },
    });
    assert.match(String((await refused).reason), /resolves to 10\.0\.0\.5/);
    assert.equal(await clock.armed(), 500, "a refusal is a failed attempt, retried after a wait");
    const again = next("webhook.refused_target");
    clock.advance(500);
    assert.equal((await again).attempt, 2);
    assert.equal(await clock.armed(), 1000, "the wait doubles");
    assert.deepEqual(called, [], "nothing was sent to the private address");

    address = "93.184.215.14";
    clock.advance(1000);
    await sent.promise;
    assert.deepEqual(called, ["https://hooks.example/in"]);
  } finally {
    await system.stop();
    await webhooks.stop();
  }
});
