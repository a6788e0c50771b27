/** History pages: the user's side holds messages only; the agents' side merges notes and ratings. */
import assert from "node:assert/strict";
import { KvEventStore, MemoryEventStore } from "../../adapters/store/mod.ts";
import { encode } from "../../src/codec.ts";
import { agentSideKey, historyUsers, readHistory } from "../../src/history.ts";
import type { Storage } from "../../src/ports.ts";
import { noted, rated, sent } from "../domain/_spec.ts";

/** Ann's log: messages with notes among them and a rating at the end (seqs 1 … 9). */
const LOG = [
  sent({ from: "ann", text: "m1" }),
  noted({ agent: "bob", user: "ann", text: "n1" }),
  noted({ agent: "bob", user: "ann", text: "n2" }),
  sent({ from: "ann", text: "m2" }),
  sent({ from: "bob", role: "agent", user: "ann", text: "m3" }),
  noted({ agent: "bob", user: "ann", text: "n3" }),
  sent({ from: "ben", text: "other user" }),
  sent({ from: "ann", text: "m4" }),
  rated({ user: "ann", agent: "bob", score: 5 }),
];

/** Every page back from the newest, `limit` at a time: the items' texts (or scores), in order. */
async function allPages(store: Storage, side: "user" | "agent", limit: number) {
  const pages: string[][] = [];
  let before: number | undefined;
  for (;;) {
    const page = await readHistory(store, "acme", "ann", { before, limit, side });
    pages.unshift(page.messages.map((m) => String(m.content ?? `rated ${m.score}`)));
    if (!page.has_more) return pages;
    before = page.messages[0].seq as number;
  }
}

for (
  const [name, open] of [
    ["MemoryEventStore", () => Promise.resolve(new MemoryEventStore())],
    ["KvEventStore", () => KvEventStore.open(":memory:")],
  ] as const
) {
  Deno.test(`readHistory() over ${name}: pages back through both sides without a gap or a repeat`, async () => {
    const store: Storage = await open();
    try {
      await store.append("acme", 0, LOG.map(encode));
      await store.flushIndex();
      assert.deepEqual(await allPages(store, "user", 2), [["m1", "m2"], ["m3", "m4"]]);
      assert.deepEqual(await allPages(store, "agent", 2), [
        ["m1", "n1"],
        ["n2", "m2"],
        ["m3", "n3"],
        ["m4", "rated 5"],
      ]);
      const one = await readHistory(store, "acme", "ann", { side: "agent", limit: 50 });
      assert.equal(one.has_more, false);
      assert.deepEqual(one.messages.map((m) => m.kind ?? "message"), [
        "message",
        "note",
        "note",
        "message",
        "message",
        "note",
        "message",
        "rating",
      ]);
    } finally {
      store.close();
    }
  });
}

Deno.test("historyUsers() files notes and ratings under a key no user id can be", () => {
  assert.deepEqual(historyUsers(encode(LOG[0])), ["ann"]);
  assert.deepEqual(historyUsers(encode(LOG[1])), [agentSideKey("ann")]);
  assert.deepEqual(historyUsers(encode(LOG[8])), [agentSideKey("ann")]);
  assert.match(agentSideKey("ann"), /\t/, "ids hold no control character");
});
