import assert from "node:assert/strict";
import { createEngine } from "../../adapters/engine.ts";
import { KvEventStore, MemoryEventStore } from "../../adapters/store/mod.ts";
import { FlakyStore, RecordingLogger } from "../_fakes.ts";

Deno.test("createEngine: closing writes the deferred history index and closes the KV file it opened", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const engine = await createEngine({ kvPath: `${dir}/events.kv` });
    assert.equal(await engine.start(), 0);
    await engine.storage.append("acme", 0, [
      { type: "MessageSent", at: 1, data: { userId: "ann", text: "hi" } },
    ]);
    await engine.close();
    // The file is released (opening it again works) and its index is written.
    const kv = await Deno.openKv(`${dir}/events.kv`);
    try {
      assert.equal((await kv.get(["indexed", "acme"])).value, 1);
      assert.equal((await kv.get(["tag", "acme", "history:ann", 1])).value, 1);
    } finally {
      kv.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createEngine: storage it was given is flushed on close but left open", async () => {
  const store = new FlakyStore(new MemoryEventStore());
  let flushed = 0;
  let closed = 0;
  store.flushIndex = () => (flushed++, Promise.resolve());
  store.close = () => void closed++;
  const engine = await createEngine({ storage: store });
  await engine.start();
  await engine.close();
  assert.deepEqual({ flushed, closed }, { flushed: 1, closed: 0 });
});

Deno.test("createEngine(): a company that cannot load at start-up is logged and skipped; the others start", async () => {
  const store = await KvEventStore.open(":memory:");
  const log = new RecordingLogger();
  // A healthy company, and one holding an event of a schema version from a newer engine.
  await store.append("good", 0, [{ type: "SettingsChanged", at: 1, v: 1, data: {} }]);
  await store.markDue("good");
  await store.kv.set(
    ["ev", "bad", 1],
    new TextEncoder().encode(JSON.stringify({ type: "SettingsChanged", at: 1, v: 99, data: {} })),
  );
  await store.kv.set(["head", "bad"], 1);
  await store.markDue("bad");
  const engine = await createEngine({ storage: store, log });
  try {
    await engine.start();
    assert.equal(engine.system.awake("good"), true);
    assert.equal((await log.next("actor.recover_failed")).company, "bad");
  } finally {
    await engine.close();
    store.close();
  }
});
