/** The socket edge's one error path: what a handler throws becomes the ack's error. */
import assert from "node:assert/strict";
import { MemoryEventStore } from "../../../adapters/store/mod.ts";
import type { StoredEvent } from "../../../src/ports.ts";
import { RecordingLogger } from "../../_fakes.ts";
import { startEngine } from "./_harness.ts";

Deno.test("socket errors: a handler's unexpected throw is answered 'internal' without its details, and logged with company and event", async () => {
  const log = new RecordingLogger();
  const ids = { next: (): string => JSON.parse("{") }; // a bug: it throws
  const engine = await startEngine(undefined, { ids, log });
  try {
    const alice = await engine.connect("acme", "alice", "user");
    const ack = await alice.request("message", { content: "hi" });
    assert.deepEqual(ack, {
      ok: false,
      error: {
        code: "internal",
        message: "The server met an unexpected error; nothing more is said here",
      },
    });
    const bug = await log.next("socket.bug");
    assert.deepEqual([bug.company, bug.event], ["acme", "message"]);
    assert.match(String(bug.error), /SyntaxError/);
    assert.equal(JSON.stringify(ack).includes("SyntaxError"), false);
    const after = await alice.request<{ error?: { code: string } }>("status", { status: "away" });
    assert.equal(after.error?.code, "forbidden", "and the socket keeps answering");
  } finally {
    await engine.close();
  }
});

Deno.test("socket errors: a store that fails a read is answered 'unavailable', not 'internal'", async () => {
  const log = new RecordingLogger();
  const store = new MemoryEventStore();
  store.readHistory = (): Promise<StoredEvent[]> => Promise.reject(new Error("disk on fire"));
  const engine = await startEngine(store, { log });
  try {
    const alice = await engine.connect("acme", "alice", "user");
    assert.deepEqual(await alice.request("history", {}), {
      ok: false,
      error: { code: "unavailable", message: "The server could not complete the request" },
    });
    const failed = await log.next("socket.handler_failed");
    assert.deepEqual([failed.company, failed.event], ["acme", "history"]);
    assert.match(String(failed.error), /disk on fire/);
  } finally {
    await engine.close();
  }
});

Deno.test("socket errors: a resume while the company's log cannot be read is refused with 'unavailable' and the server keeps serving", async () => {
  const store = new MemoryEventStore();
  // deno-lint-ignore require-yield
  store.read = async function* (): AsyncIterable<StoredEvent> {
    throw new Error("disk on fire");
  };
  const engine = await startEngine(store, { connectRate: 100 });
  try {
    const token = await engine.token("acme", "bob", "admin");
    const resuming = engine.raw({ auth: { token, last_seq: 0 } });
    const refused = await resuming.next<{ code: string }>("error");
    assert.equal(refused.code, "unavailable");
    assert.deepEqual(await (await fetch(`${engine.url}/healthz`)).json(), { ok: true });
  } finally {
    await engine.close();
  }
});
