/**
 * The contract every store adapter passes, port by port: one suite per port (`EventLog`,
 * `HistoryIndex`, `SnapshotStore`, `CheckpointStore`, `DueWork`), run against each adapter.
 */
import assert from "node:assert/strict";
import { VersionConflictError } from "../../../src/errors.ts";
import type {
  CheckpointStore,
  DueWork,
  EventLog,
  HistoryIndex,
  NewEvent,
  SnapshotStore,
  Storage,
} from "../../../src/ports.ts";

/** Everything an async iterable yields. */
export async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}

/** `n` events with seqs from `from` on (as appended there), each in `userId`'s history if given. */
export function events(n: number, from = 1, userId?: string): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    type: "MessageSent",
    at: 1_764_043_200_000 + from + i,
    v: 1,
    data: { text: `m${from + i}`, nested: { list: [from + i] }, ...(userId ? { userId } : {}) },
  }));
}

/** A store made fresh for one test and released after it (a store may close asynchronously). */
type Open<P> = () => Promise<P & { close(): void | Promise<void> }>;

/** Registers `title` as a test of `port` that runs on a fresh store. */
function tester<P>(name: string, port: string, open: Open<P>) {
  return (title: string, fn: (store: P & { close(): void | Promise<void> }) => Promise<void>) =>
    Deno.test(`${name} ${port}: ${title}`, async () => {
      const store = await open();
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    });
}

/** Registers the contract tests of every port for a store made fresh by `open`. */
export function storeContract(name: string, open: () => Promise<Storage>): void {
  eventLogContract(name, open);
  historyIndexContract(name, open);
  snapshotContract(name, open);
  checkpointContract(name, open);
  dueWorkContract(name, open);
}

/** The event log: versions, conditional appends, reads, streams. */
export function eventLogContract(name: string, open: Open<EventLog>): void {
  const test = tester(name, "EventLog", open);

  test("an empty stream has version 0 and reads nothing", async (store) => {
    assert.equal(await store.version("acme"), 0);
    assert.deepEqual(await all(store.read("acme")), []);
  });

  test("append() assigns consecutive seqs and read() returns the events in order", async (store) => {
    assert.equal(await store.append("acme", 0, events(3)), 3);
    assert.equal(await store.append("acme", 3, events(2, 4)), 5);
    const read = await all(store.read("acme"));
    assert.deepEqual(read.map((e) => e.seq), [1, 2, 3, 4, 5]);
    assert.deepEqual(read[3], {
      seq: 4,
      type: "MessageSent",
      at: 1_764_043_200_004,
      v: 1,
      data: { text: "m4", nested: { list: [4] } },
    });
    assert.equal(await store.version("acme"), 5);
  });

  test("read() from a seq returns only the later events, and honours a limit", async (store) => {
    await store.append("acme", 0, events(10));
    assert.deepEqual((await all(store.read("acme", { after: 7 }))).map((e) => e.seq), [8, 9, 10]);
    assert.deepEqual((await all(store.read("acme", { after: 2, limit: 3 }))).map((e) => e.seq), [
      3,
      4,
      5,
    ]);
    assert.deepEqual(await all(store.read("acme", { after: 10 })), []);
  });

  test("append() at a stale version throws VersionConflictError and writes nothing", async (store) => {
    await store.append("acme", 0, events(2));
    await assert.rejects(store.append("acme", 1, events(1, 3)), (error: unknown) => {
      assert.ok(error instanceof VersionConflictError);
      assert.equal(error.name, "VersionConflictError");
      assert.equal(error.expected, 1);
      assert.equal(error.actual, 2);
      return true;
    });
    await assert.rejects(store.append("acme", 0, events(1)), VersionConflictError);
    assert.equal(await store.version("acme"), 2);
    assert.equal((await all(store.read("acme"))).length, 2);
  });

  test("concurrent writers at the same version: exactly one wins", async (store) => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.append("acme", 0, events(2, i * 10))),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results) {
      if (r.status === "rejected") assert.ok(r.reason instanceof VersionConflictError);
    }
    const read = await all(store.read("acme"));
    assert.deepEqual(read.map((e) => e.seq), [1, 2]);
  });

  test("a batch is all-or-nothing: one too large leaves the stream untouched", async (store) => {
    await store.append("acme", 0, events(1));
    const huge = [...events(5, 2), {
      type: "Big",
      at: 0,
      v: 1,
      data: { blob: "x".repeat(70_000) },
    }];
    await assert.rejects(store.append("acme", 1, huge));
    assert.equal(await store.version("acme"), 1);
    assert.deepEqual((await all(store.read("acme"))).map((e) => e.seq), [1]);
    assert.equal(await store.append("acme", 1, events(2, 2)), 3);
  });

  test("streams are independent", async (store) => {
    await store.append("acme", 0, events(2));
    await store.append("globex", 0, events(1));
    assert.equal(await store.version("acme"), 2);
    assert.equal(await store.version("globex"), 1);
    assert.deepEqual((await all(store.read("globex"))).map((e) => e.data), [{
      text: "m1",
      nested: { list: [1] },
    }]);
  });

  test("a stored event does not share objects with what the caller passed", async (store) => {
    const batch = events(1);
    await store.append("acme", 0, batch);
    (batch[0].data as { text: string }).text = "changed";
    assert.deepEqual((await all(store.read("acme")))[0].data, {
      text: "m1",
      nested: { list: [1] },
    });
  });

  test("streams() lists every stream with events", async (store) => {
    await store.append("acme", 0, events(1));
    await store.append("globex", 0, events(2));
    const names: string[] = [];
    for await (const name of store.streams()) names.push(name);
    assert.deepEqual(names.sort(), ["acme", "globex"]);
  });
}

/** The history index: each user's messages, found by the index's own rule. */
export function historyIndexContract(name: string, open: Open<EventLog & HistoryIndex>): void {
  const test = tester(name, "HistoryIndex", open);
  const message = (n: number, userId: string): NewEvent => ({
    type: "MessageSent",
    at: n,
    v: 1,
    data: { text: `m${n}`, userId },
  });

  test("readHistory() finds the last messages of a user before a seq, oldest first", async (store) => {
    await store.append("acme", 0, [message(1, "ann"), message(2, "ben"), message(3, "ann")]);
    // Not a message: in nobody's history, though it names ann.
    const queued = { type: "ConversationQueued", at: 5, v: 1, data: { userId: "ann" } };
    await store.append("acme", 3, [message(4, "ann"), queued, message(6, "ann")]);
    await store.append("globex", 0, [message(1, "ann")]);
    const seqs = async (options: { before?: number; limit: number }) =>
      (await store.readHistory("acme", "ann", options)).map((e) => e.seq);
    const check = async () => {
      assert.deepEqual(await seqs({ limit: 10 }), [1, 3, 4, 6]);
      assert.deepEqual(await seqs({ limit: 2 }), [4, 6]);
      assert.deepEqual(await seqs({ before: 4, limit: 10 }), [1, 3]);
      assert.deepEqual(await seqs({ before: 1, limit: 10 }), []);
      const [first] = await store.readHistory("acme", "ben", { limit: 5 });
      assert.deepEqual(first.data, { text: "m2", userId: "ben" });
      assert.equal("tags" in first, false);
      assert.deepEqual(
        (await store.readHistory("globex", "ann", { limit: 5 })).map((e) => e.seq),
        [1],
      );
    };
    await check();
    // A deferred index answers the same once it is written.
    await store.flushIndex();
    await check();
  });
}

/** Snapshots: the latest per stream. */
export function snapshotContract(name: string, open: Open<SnapshotStore>): void {
  const test = tester(name, "SnapshotStore", open);

  test("snapshots round-trip, even past one value's size, and the latest replaces the last", async (store) => {
    assert.equal(await store.loadSnapshot("acme"), null);
    const big = {
      rows: Array.from({ length: 4000 }, (_, i) => ({ i, text: `row ${i} `.repeat(10) })),
    };
    await store.saveSnapshot("acme", 10, big);
    assert.deepEqual(await store.loadSnapshot("acme"), { version: 10, snapshot: big });
    await store.saveSnapshot("acme", 20, { small: true });
    assert.deepEqual(await store.loadSnapshot("acme"), { version: 20, snapshot: { small: true } });
    assert.equal(await store.loadSnapshot("globex"), null);
  });
}

/** Checkpoints: a consumer's position in the log. */
export function checkpointContract(name: string, open: Open<CheckpointStore>): void {
  const test = tester(name, "CheckpointStore", open);

  test("checkpoints start at 0 and keep what was saved", async (store) => {
    assert.equal(await store.checkpoint("webhooks:acme"), 0);
    await store.saveCheckpoint("webhooks:acme", 42);
    assert.equal(await store.checkpoint("webhooks:acme"), 42);
    assert.equal(await store.checkpoint("webhooks:globex"), 0);
  });
}

/** The due-work index: the companies start-up loads. */
export function dueWorkContract(name: string, open: Open<DueWork & EventLog>): void {
  const test = tester(name, "DueWork", open);

  test("dueStreams() yields the marked streams once each, and not the cleared ones", async (store) => {
    for (const stream of ["acme", "globex", "initech"]) {
      await store.append(stream, 0, events(1));
    }
    await store.markDue("acme");
    await store.markDue("globex");
    await store.markDue("acme");
    const due = async () => {
      const found: string[] = [];
      for await (const stream of store.dueStreams()) found.push(stream);
      return found.sort();
    };
    assert.deepEqual(await due(), ["acme", "globex"]);
    await store.clearDue("acme");
    await store.clearDue("initech"); // never marked: nothing to clear, no error
    assert.deepEqual(await due(), ["globex"]);
  });
}
