/** Rooms and the publisher: hostile ids never throw, never share a room, never stop a batch. */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Audience } from "../../../domain/mod.ts";
import { roomOf, SocketIoPublisher } from "../../../adapters/socketio/mod.ts";
import { anyId } from "../../_ids.ts";
import { RecordingLogger } from "../../_fakes.ts";
import { startEngine } from "./_harness.ts";

const audience: fc.Arbitrary<Audience> = fc.oneof(
  anyId.map((userId) => ({ kind: "user" as const, userId })),
  anyId.map((userId) => ({ kind: "agent" as const, userId })),
  fc.constant({ kind: "agents" as const }),
);

Deno.test("roomOf() never throws and gives distinct audiences distinct rooms, whatever their ids", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(anyId, audience), {
        minLength: 2,
        maxLength: 30,
        selector: ([company, to]) => JSON.stringify([company, to]),
      }),
      (audiences) => {
        const rooms = audiences.map(([company, to]) => roomOf(company, to));
        assert.equal(new Set(rooms).size, rooms.length, JSON.stringify(audiences));
      },
    ),
    { numRuns: 500 },
  );
  // The shapes that once collided or threw.
  const rooms = [
    roomOf("X\ud800", { kind: "user", userId: "a" }),
    roomOf("X\ufffd", { kind: "user", userId: "a" }),
    roomOf("a:b", { kind: "user", userId: "c" }),
    roomOf("a", { kind: "user", userId: "b:c" }),
    roomOf("acme", { kind: "agent", userId: "x\ud800" }),
  ];
  assert.equal(new Set(rooms).size, rooms.length);
});

Deno.test("SocketIoPublisher: a delivery that cannot be emitted is logged with its company; the rest of its batch arrives", async () => {
  const engine = await startEngine();
  try {
    const bob = await engine.connect("acme", "bob", "admin");
    await bob.next("user_list");
    const log = new RecordingLogger();
    const publisher = new SocketIoPublisher();
    publisher.bind(engine.server.io, log);
    publisher.publish("acme", [
      // JSON cannot carry a BigInt: the emit throws.
      { to: { kind: "agents" }, event: "message", payload: { id: 1n } as never },
      { to: { kind: "agents" }, event: "typing", payload: { user_id: "x", typing: true } as never },
    ]);
    assert.deepEqual(await bob.next("typing"), { user_id: "x", typing: true });
    const failed = await log.next("publish.delivery_failed");
    assert.equal(failed.company, "acme");
    assert.equal(failed.event, "message");
  } finally {
    await engine.close();
  }
});
