import assert from "node:assert/strict";
import { KvEventStore } from "../../../adapters/store/mod.ts";
import { storeContract } from "./_contract.ts";
import { InvalidKeyError } from "../../../src/errors.ts";
import { Metrics } from "../../../src/metrics.ts";
import type { StoredEvent } from "../../../src/ports.ts";
import { fullDiskKv, RecordingLogger } from "../../_fakes.ts";

async function all(events: AsyncIterable<StoredEvent>): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

storeContract("KvEventStore (:memory:)", () => KvEventStore.open(":memory:"));

Deno.test("KvEventStore: events survive closing and reopening the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await KvEventStore.open(`${dir}/events.kv`);
    await first.append("acme", 0, [{ type: "A", at: 1, data: { n: 1 } }, {
      type: "B",
      at: 2,
      data: {},
    }]);
    first.close();
    const second = await KvEventStore.open(`${dir}/events.kv`);
    assert.equal(await second.version("acme"), 2);
    const seqs: number[] = [];
    for await (const e of second.read("acme")) seqs.push(e.seq);
    assert.deepEqual(seqs, [1, 2]);
    assert.equal(await second.append("acme", 2, [{ type: "C", at: 3, data: {} }]), 3);
    second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KvEventStore: two handles on one file catch each other's stale writes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await KvEventStore.open(`${dir}/events.kv`);
    const b = await KvEventStore.open(`${dir}/events.kv`);
    assert.equal(await a.version("acme"), 0);
    assert.equal(await b.version("acme"), 0);
    await a.append("acme", 0, [{ type: "A", at: 1, data: {} }]);
    await assert.rejects(b.append("acme", 0, [{ type: "B", at: 1, data: {} }]), {
      name: "VersionConflictError",
    });
    assert.equal(await b.append("acme", 1, [{ type: "B", at: 1, data: {} }]), 2);
    a.close();
    b.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KvEventStore: concurrent appends to many streams share commits, and a stale one fails alone", async () => {
  const store = await KvEventStore.open(":memory:");
  try {
    await store.append("s3", 0, [{ type: "A", at: 1, data: {} }]);
    const appends = Array.from(
      { length: 50 },
      (_, i) =>
        store.append(`s${i}`, i === 3 ? 0 : 0, [{ type: "A", at: 1, data: { i } }, {
          type: "B",
          at: 1,
          data: {},
        }]),
    );
    const results = await Promise.allSettled(appends);
    results.forEach((r, i) => {
      if (i === 3) assert.equal(r.status === "rejected" && r.reason.name, "VersionConflictError");
      else assert.deepEqual(r, { status: "fulfilled", value: 2 });
    });
    for (let i = 0; i < 50; i++) assert.equal(await store.version(`s${i}`), i === 3 ? 1 : 2);
    const seqs: number[] = [];
    for await (const e of store.read("s7")) seqs.push(e.seq);
    assert.deepEqual(seqs, [1, 2]);
  } finally {
    store.close();
  }
});

// A message in `user`'s history: the history rule indexes it under `history:<user>`.
const tagged = (n: number, user: string) => ({
  type: "MessageSent",
  at: n,
  data: { n, userId: user },
});
const seqsOf = async (store: KvEventStore, user: string, options = { limit: 100 }) =>
  (await store.readHistory("acme", user, options)).map((e) => e.seq);
const indexKeys = async (store: KvEventStore) => {
  const keys: unknown[] = [];
  for await (const { key } of store.kv.list({ prefix: ["tag", "acme"] })) keys.push(key.slice(2));
  return keys;
};

Deno.test("KvEventStore: the tag index is written after the append, and reads agree before and after", async () => {
  const store = await KvEventStore.open(":memory:");
  try {
    await store.append("acme", 0, [tagged(1, "ann"), tagged(2, "ben"), tagged(3, "ann")]);
    assert.deepEqual(await indexKeys(store), []); // not on the chat path
    assert.deepEqual(await seqsOf(store, "ann"), [1, 3]);
    await store.flushIndex();
    assert.deepEqual(await indexKeys(store), [["history:ann", 1], ["history:ann", 3], [
      "history:ben",
      2,
    ]]);
    assert.equal((await store.kv.get(["indexed", "acme"])).value, 3);
    // Part indexed, part past the checkpoint: one answer, oldest first, no duplicates.
    await store.append("acme", 3, [tagged(4, "ann"), { type: "X", at: 5, data: {} }]);
    await store.append("acme", 5, [tagged(6, "ann")]);
    assert.deepEqual(await seqsOf(store, "ann"), [1, 3, 4, 6]);
    assert.deepEqual(await seqsOf(store, "ann", { limit: 3 }), [3, 4, 6]);
    assert.deepEqual(await seqsOf(store, "ann", { before: 6, limit: 2 } as never), [3, 4]);
    await store.flushIndex();
    assert.equal((await store.kv.get(["indexed", "acme"])).value, 6);
    assert.deepEqual(await seqsOf(store, "ann", { limit: 3 }), [3, 4, 6]);
    // Older pages, at and below the checkpoint, come from the index alone.
    for (const before of [7, 6, 4, 2, 1]) {
      assert.deepEqual(
        await seqsOf(store, "ann", { before, limit: 10 } as never),
        [1, 3, 4, 6].filter((seq) => seq < before),
        `before ${before}`,
      );
    }
  } finally {
    store.close();
  }
});

Deno.test("KvEventStore: tags left unindexed by a stopped process are found, and indexed by the next", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await KvEventStore.open(`${dir}/events.kv`);
    await first.append("acme", 0, [tagged(1, "ann"), tagged(2, "ben")]);
    first.close(); // stops before its index was written
    const second = await KvEventStore.open(`${dir}/events.kv`);
    assert.deepEqual(await seqsOf(second, "ann"), [1]);
    await second.append("acme", 2, [tagged(3, "ann")]);
    await second.flushIndex();
    assert.deepEqual(await indexKeys(second), [["history:ann", 1], ["history:ann", 3], [
      "history:ben",
      2,
    ]]);
    assert.equal((await second.kv.get(["indexed", "acme"])).value, 3);
    second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KvEventStore: a writer indexes another writer's events that fell between its own", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await KvEventStore.open(`${dir}/events.kv`);
    const b = await KvEventStore.open(`${dir}/events.kv`);
    await a.append("acme", 0, [tagged(1, "ann")]);
    assert.equal(await b.version("acme"), 1);
    await b.append("acme", 1, [tagged(2, "ben")]);
    b.close(); // b never writes its index
    await assert.rejects(a.append("acme", 1, [tagged(2, "ann")]), {
      name: "VersionConflictError",
    });
    await a.append("acme", 2, [tagged(3, "ann")]);
    await a.flushIndex();
    assert.deepEqual(await indexKeys(a), [["history:ann", 1], ["history:ann", 3], [
      "history:ben",
      2,
    ]]);
    assert.equal((await a.kv.get(["indexed", "acme"])).value, 3);
    a.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KvEventStore: snapshots past one atomic operation's size round-trip, and leave no stale chunks", async () => {
  const store = await KvEventStore.open(":memory:");
  const chunkKeys = async () => {
    const keys: unknown[] = [];
    for await (const { key } of store.kv.list({ prefix: ["snap", "acme"] })) keys.push(key[2]);
    return keys;
  };
  try {
    const huge = { rows: Array.from({ length: 12_000 }, (_, i) => `row ${i} `.repeat(12)) };
    assert.ok(JSON.stringify(huge).length > 1_000_000);
    await store.saveSnapshot("acme", 10, huge);
    assert.deepEqual(await store.loadSnapshot("acme"), { version: 10, snapshot: huge });
    await store.saveSnapshot("acme", 20, { small: true });
    assert.deepEqual(await chunkKeys(), [20]);
    await store.saveSnapshot("acme", 30, huge);
    assert.deepEqual(await store.loadSnapshot("acme"), { version: 30, snapshot: huge });
    assert.ok((await chunkKeys()).every((v) => v === 30));
  } finally {
    store.close();
  }
});

Deno.test("KvEventStore: snapshots saved at once are written one after another, the last kept", async () => {
  const store = await KvEventStore.open(":memory:");
  try {
    const saves = [1, 2, 3, 4, 5].map((v) =>
      store.saveSnapshot("acme", v * 10, { v, pad: "x".repeat(100_000) })
    );
    await Promise.all([...saves, store.saveSnapshot("globex", 7, { g: true })]);
    assert.equal((await store.loadSnapshot("acme"))?.version, 50);
    assert.deepEqual(await store.loadSnapshot("globex"), { version: 7, snapshot: { g: true } });
    const left: unknown[] = [];
    for await (const { key } of store.kv.list({ prefix: ["snap", "acme"] })) left.push(key[2]);
    assert.ok(left.every((v) => v === 50), `stale chunks: ${left}`);
  } finally {
    store.close();
  }
});

Deno.test("KvEventStore: a database of the previous layout (tags indexed in each append) keeps its history", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // What the previous version wrote: events without tags, the index, the head; no format.
    const kv = await Deno.openKv(`${dir}/events.kv`);
    const event = (n: number) =>
      new TextEncoder().encode(JSON.stringify({ type: "M", at: n, v: 1, data: { n } }));
    await kv.atomic()
      .set(["ev", "acme", 1], event(1)).set(["tag", "acme", "history:ann", 1], 1)
      .set(["ev", "acme", 2], event(2)).set(["tag", "acme", "history:ben", 2], 2)
      .set(["ev", "acme", 3], event(3)).set(["tag", "acme", "history:ann", 3], 3)
      .set(["head", "acme"], 3).commit();
    kv.close();
    const store = await KvEventStore.open(`${dir}/events.kv`);
    assert.deepEqual(await seqsOf(store, "ann"), [1, 3]);
    assert.deepEqual(await seqsOf(store, "ann", { before: 3, limit: 5 } as never), [1]);
    assert.equal((await store.kv.get(["indexed", "acme"])).value, 3);
    await store.append("acme", 3, [tagged(4, "ann")]);
    assert.deepEqual(await seqsOf(store, "ann"), [1, 3, 4]);
    store.close();
    // Marked once: opening again changes nothing, and the unindexed tail is still found.
    const again = await KvEventStore.open(`${dir}/events.kv`);
    assert.equal((await again.kv.get(["indexed", "acme"])).value, 3);
    assert.deepEqual(await seqsOf(again, "ann"), [1, 3, 4]);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KvEventStore: index writes and appends stay under an atomic operation's 80 KiB of keys", async () => {
  const store = await KvEventStore.open(":memory:");
  try {
    const company = crypto.randomUUID();
    let version = 0;
    // Each index key as long as with the tags the actor used to write (`history:<uuid>`).
    const users = Array.from({ length: 950 }, () => crypto.randomUUID());
    for (let i = 0; i < users.length; i += 50) {
      const batch = users.slice(i, i + 50).map((user, j) => ({ ...tagged(i + j, user) }));
      version = await store.append(company, version, batch);
    }
    await store.flushIndex();
    assert.equal((await store.kv.get(["indexed", company])).value, 950);
    let indexed = 0;
    for await (const _ of store.kv.list({ prefix: ["tag", company] })) indexed++;
    assert.equal(indexed, 950);
    // Long company ids: an append whose keys alone pass the limit is refused as too large.
    const long = "c".repeat(1000);
    const many = Array.from({ length: 100 }, (_, i) => ({ type: "M", at: i, data: {} }));
    await assert.rejects(store.append(long, 0, many), { name: "AppendTooLargeError" });
    assert.equal(await store.append(long, 0, many.slice(0, 50)), 50);
  } finally {
    store.close();
  }
});

Deno.test("KvEventStore: upgrading a previous-layout database of many companies respects the operation limits", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kv = await Deno.openKv(`${dir}/events.kv`);
    const companies = Array.from({ length: 1_200 }, (_, i) => `company-${i}`);
    for (let i = 0; i < companies.length; i += 400) {
      const op = kv.atomic();
      for (const c of companies.slice(i, i + 400)) op.set(["head", c], 7);
      await op.commit();
    }
    // A stream that follows the new layout already keeps its own checkpoint.
    await kv.set(["indexed", "company-5"], 3);
    kv.close();
    const store = await KvEventStore.open(`${dir}/events.kv`);
    const marked = await store.kv.getMany<number[]>(
      ["company-0", "company-5", "company-1199"].map((c) => ["indexed", c]),
    );
    assert.deepEqual(marked.map((e) => e.value), [7, 3, 7]);
    assert.equal((await store.kv.get(["format"])).value, 2);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KvEventStore: an append past an operation's payload, keys counted, is refused as too large", async () => {
  const store = await KvEventStore.open(":memory:");
  try {
    // 198 values of about 4 KB fit in 800,000 bytes; with their keys they do not.
    const company = "c".repeat(200);
    const text = "x".repeat(4_000);
    const many = Array.from({ length: 198 }, (_, i) => ({ type: "M", at: i, data: { text } }));
    await assert.rejects(store.append(company, 0, many), { name: "AppendTooLargeError" });
    assert.equal(await store.append(company, 0, many.slice(0, 99)), 99);
    // Ids with NUL bytes take more room in keys than their length says.
    const nul = "\u0000".repeat(500);
    const small = Array.from({ length: 80 }, (_, i) => ({ type: "M", at: i, data: {} }));
    await assert.rejects(store.append(nul, 0, small), { name: "AppendTooLargeError" });
    assert.equal(await store.append(nul, 0, small.slice(0, 40)), 40);
  } finally {
    store.close();
  }
});

Deno.test("KvEventStore: a stream id, user id or checkpoint name that is not well-formed Unicode is refused, never merged with another", async () => {
  const store = await KvEventStore.open(":memory:");
  try {
    // Deno KV keeps "X\ud800" under the key of "X\ufffd": two companies would share one log.
    await assert.rejects(store.append("X\ud800", 0, [tagged(1, "ann")]), InvalidKeyError);
    await assert.rejects(store.version("X\ud801"), /not well-formed Unicode/);
    await assert.rejects(store.read("X\ud800")[Symbol.asyncIterator]().next(), InvalidKeyError);
    await assert.rejects(store.readHistory("acme", "x\ud800", { limit: 1 }), InvalidKeyError);
    // A message of the user "x\udc00" would be indexed under that user's key.
    await assert.rejects(store.append("acme", 0, [tagged(1, "x\udc00")]), InvalidKeyError);
    await assert.rejects(store.saveSnapshot("X\ud800", 1, {}), InvalidKeyError);
    await assert.rejects(store.checkpoint("webhooks:X\ud800"), InvalidKeyError);
    assert.equal(await store.append("X\ufffd", 0, [tagged(1, "ann")]), 1);
    assert.equal(await store.version("X\ufffd"), 1);
    assert.deepEqual(await store.streams()[Symbol.asyncIterator]().next(), {
      value: "X\ufffd",
      done: false,
    });
  } finally {
    store.close();
  }
});

/**
 * Writes messages the way a process before the id rule could: straight to the KV layout, each
 * with the index tag of its user (`history:<userId>`) kept in its value until indexed.
 */
async function writeRaw(
  store: KvEventStore,
  stream: string,
  events: ReturnType<typeof tagged>[],
): Promise<void> {
  const op = store.kv.atomic();
  events.forEach((e, i) => {
    const value = { v: 1, ...e, tags: [`history:${e.data.userId}`] };
    op.set(["ev", stream, i + 1], new TextEncoder().encode(JSON.stringify(value)));
  });
  await op.set(["head", stream], events.length).commit();
}

Deno.test("KvEventStore: index entries that can never be keys (a lone surrogate, 3,000 characters) are skipped and logged, and the rest is indexed", async () => {
  const log = new RecordingLogger();
  const metrics = new Metrics();
  const store = await KvEventStore.open(":memory:", { log, metrics });
  try {
    await writeRaw(store, "acme", [
      tagged(1, "alice"),
      tagged(2, "x\ud800"),
      tagged(3, "u".repeat(3000)),
      tagged(4, "alice"),
    ]);
    await store.append("acme", 4, [tagged(5, "alice")]);
    await store.flushIndex(); // it used to retry the 3,000-character key every 100 ms, forever
    assert.equal((await store.kv.get(["indexed", "acme"])).value, 5);
    assert.deepEqual(await seqsOf(store, "alice"), [1, 4, 5]);
    // Once indexed, "x\ud800" would have come back as the history of the user "x\ufffd".
    assert.deepEqual(await seqsOf(store, "x\ufffd"), []);
    const skipped = log.lines.filter((l) => l.msg === "index.entry_skipped");
    assert.deepEqual(skipped.map((l) => [l.level, l.fields.company, l.fields.seq]), [
      ["error", "acme", 2],
      ["error", "acme", 3],
    ]);
    assert.match(metrics.render(), /^chat_index_entries_skipped_total 2$/m);
    assert.deepEqual((await all(store.read("acme"))).map((e) => e.seq), [1, 2, 3, 4, 5]);
  } finally {
    store.close();
  }
});

Deno.test("KvEventStore: a stream whose index write keeps failing is parked with a growing wait; the other streams are indexed", async () => {
  const log = new RecordingLogger();
  const metrics = new Metrics();
  const store = await KvEventStore.open(":memory:", { log, metrics, indexRetryMs: [10, 40] });
  // Every operation that writes an index entry of "bad" fails, until cured.
  let failing = true;
  const atomic = store.kv.atomic.bind(store.kv);
  store.kv.atomic = () => {
    const op = atomic();
    const set = op.set.bind(op);
    const commit = op.commit.bind(op);
    let poisoned = false;
    op.set = (key, value) => {
      poisoned ||= key[0] === "tag" && key[1] === "bad";
      return set(key, value);
    };
    op.commit = () => (failing && poisoned ? Promise.reject(new Error("disk says no")) : commit());
    return op;
  };
  try {
    // When each failure was logged.
    const failures: number[] = [];
    for (let n = 1; n <= 4; n++) {
      log.next("index.write_failed", n).then(() => failures.push(performance.now()));
    }
    await Promise.all([
      store.append("good", 0, [tagged(1, "ann")]),
      store.append("bad", 0, [tagged(1, "ben")]),
    ]);
    await log.next("index.write_failed", 4);
    // Written alone once the shared operation failed.
    assert.equal((await store.kv.get(["indexed", "good"])).value, 1);
    assert.equal((await store.kv.get(["indexed", "bad"])).value, null);
    const waits = log.lines.filter((l) => l.msg === "index.write_failed")
      .map((l) => l.fields.retry_ms);
    assert.deepEqual(waits.slice(0, 4), [10, 20, 40, 40], "doubling, capped");
    assert.ok(failures[3] - failures[2] >= 30, `waited ${failures[3] - failures[2]} ms`);
    assert.equal(log.lines.find((l) => l.msg === "index.write_failed")!.fields.company, "bad");
    assert.match(metrics.render(), /^chat_index_write_failures_total [4-9]$/m);
    // Its history stays whole meanwhile, read past the checkpoint.
    const ben = await store.readHistory("bad", "ben", { limit: 10 });
    assert.deepEqual(ben.map((e) => e.seq), [1]);
    failing = false;
    await log.next("index.write_recovered");
    assert.equal((await store.kv.get(["indexed", "bad"])).value, 1);
    await store.flushIndex();
  } finally {
    store.close();
  }
});

Deno.test("KvEventStore: a new database opens on a full disk, reads, refuses appends, and writes its format marker before the first append once space returns", async () => {
  const dir = await Deno.makeTempDir();
  const full = { value: true };
  try {
    const store = await KvEventStore.open(`${dir}/events.kv`, {
      openKv: async (path) => fullDiskKv(await Deno.openKv(path), full),
    });
    assert.equal(await store.version("acme"), 0);
    await assert.rejects(store.append("acme", 0, [tagged(1, "t")]), /database or disk is full/);
    assert.equal((await store.kv.get(["format"])).value, null, "not marked yet");
    full.value = false;
    assert.equal(await store.append("acme", 0, [tagged(1, "t")]), 1);
    assert.notEqual((await store.kv.get(["format"])).value, null, "marked by the append");
    await store.flushIndex();
    assert.deepEqual(await seqsOf(store, "t", { limit: 10 }), [1]);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KvEventStore: a database that does not open (a full disk) opens once its reserve of disk space is given back; without a reserve the error stands", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/events.kv`;
  try {
    const first = await KvEventStore.open(path);
    assert.equal((await Deno.stat(`${path}.reserve`)).size, 1 << 20, "laid down when opened");
    await first.append("acme", 0, [tagged(1, "ann")]);
    first.close();

    // SQLite answers "disk I/O error" when it has no room for its shared-memory file.
    let refusals = 0;
    const failsOnce = async (p: string) => {
      if (refusals++ === 0) throw new Error("disk I/O error");
      return await Deno.openKv(p);
    };
    const log = new RecordingLogger();
    const second = await KvEventStore.open(path, { openKv: failsOnce, log });
    assert.equal(await second.version("acme"), 1);
    assert.equal((await log.next("store.reserve_released")).path, path);
    second.close();

    await Deno.remove(`${path}.reserve`);
    refusals = 0;
    await assert.rejects(KvEventStore.open(path, { openKv: failsOnce }), /disk I\/O error/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KvEventStore: a database from before the due-work index counts every stream as due until opening builds the index", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/events.kv`;
    const first = await KvEventStore.open(path);
    for (const stream of ["acme", "globex"]) {
      await first.append(stream, 0, [{ type: "A", at: 1, data: {} }]);
    }
    first.close();
    // As an earlier version left it: streams, and no index.
    const raw = await Deno.openKv(path);
    await raw.delete(["due_index"]);
    raw.close();
    const due = async (store: KvEventStore) => {
      const found: string[] = [];
      for await (const stream of store.dueStreams()) found.push(stream);
      return found.sort();
    };
    // A full disk refuses to build the index: every stream is due meanwhile.
    const full = { value: true };
    const refusing = await KvEventStore.open(path, {
      openKv: async (p) => fullDiskKv(await Deno.openKv(p), full),
    });
    assert.deepEqual(await due(refusing), ["acme", "globex"], "no index: every stream is due");
    refusing.close();

    const second = await KvEventStore.open(path);
    assert.deepEqual(await due(second), ["acme", "globex"], "each marked by the upgrade");
    await second.clearDue("acme");
    assert.deepEqual(await due(second), ["globex"], "the index, not every stream");
    second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KvEventStore: a head that cannot be read while companies commit together refuses only those appends; nothing is left unanswered and the store goes on", async () => {
  let failHeads = false;
  const store = await KvEventStore.open(":memory:", {
    openKv: async (path) => {
      const kv = await Deno.openKv(path);
      return new Proxy(kv, {
        get(target, key) {
          const value = Reflect.get(target, key);
          if (key === "get") {
            return (k: Deno.KvKey, ...rest: unknown[]) =>
              failHeads && k[0] === "head" && k[1] !== "A"
                ? Promise.reject(new Error("disk I/O error"))
                : (value as (...a: unknown[]) => unknown).call(target, k, ...rest);
          }
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    },
  });
  try {
    failHeads = true;
    const event = { type: "X", at: 1, data: {} };
    // A commits alone; B and C queue behind it and would share one atomic operation.
    const outcomes = await Promise.allSettled([
      store.append("A", 0, [event]),
      store.append("B", 0, [event]),
      store.append("C", 0, [event]),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), ["fulfilled", "rejected", "rejected"]);
    failHeads = false;
    assert.equal(await store.append("B", 0, [event]), 1);
  } finally {
    store.close();
  }
});
