import assert from "node:assert/strict";
import { KvEventStore } from "../../../adapters/store/mod.ts";
import { storeContract } from "./_contract.ts";

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
