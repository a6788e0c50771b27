import assert from "node:assert/strict";
import { createEngine } from "../../adapters/engine.ts";
import { MemoryEventStore } from "../../adapters/store/mod.ts";
import { FlakyStore } from "../_fakes.ts";

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
