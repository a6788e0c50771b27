import assert from "node:assert/strict";
import { EVENT_VERSION, upcast, type Upcasters } from "../../src/upcast.ts";

Deno.test("upcast() loads today's events as they are and refuses a version from the future", () => {
  const e = {
    seq: 1,
    type: "HandedOff",
    at: 1,
    v: EVENT_VERSION,
    data: { userId: "a", conversationId: "c", context: "x" },
  };
  assert.deepEqual(upcast(e), e);
  assert.throws(() => upcast({ ...e, v: EVENT_VERSION + 1 }), /this engine knows up to version/);
});

Deno.test("upcast() applies one upcaster per schema change, oldest first", () => {
  // A made-up history: v-1 called the context `note`, and v0 allowed it to be missing.
  const upcasters: Upcasters = {
    HandedOff: {
      [EVENT_VERSION - 2]: ({ note, ...rest }) => ({ ...rest, context: note }),
      [EVENT_VERSION - 1]: (d) => ({ ...d, context: d.context ?? "" }),
    },
  };
  const old = {
    seq: 7,
    type: "HandedOff",
    at: 1,
    v: EVENT_VERSION - 2,
    data: { userId: "a", conversationId: "c", note: "refund" },
  };
  assert.deepEqual(upcast(old, upcasters), {
    ...old,
    v: EVENT_VERSION,
    data: { userId: "a", conversationId: "c", context: "refund" },
  });
  assert.throws(() => upcast({ ...old, type: "MessageSent" }, upcasters), /no upcaster/);
});
