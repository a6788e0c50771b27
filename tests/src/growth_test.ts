/** DESIGN §7: an old company's live state, and its snapshot, are sized by what is open. */
import assert from "node:assert/strict";
import {
  type CompanyCommand,
  type CompanyEvent,
  fold,
  fromSnapshot,
  type Snapshot,
  toSnapshot,
} from "../../domain/mod.ts";
import { KvEventStore } from "../../adapters/store/mod.ts";
import { ActorSystem } from "../../src/company_actor.ts";
import { pastConversations } from "../../bench/growth.ts";
import { FakeClock, RecordingPublisher } from "../_fakes.ts";

const DAY = 24 * 60 * 60 * 1000;

Deno.test("ActorSystem: a company with 5,000 past conversations and 3 open ones snapshots only the open ones, and recovers from the snapshot to the state a full replay gives", async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 20));
  const dir = await Deno.makeTempDir();
  try {
    const store = await KvEventStore.open(`${dir}/events.kv`);
    // Five thousand conversations, one a minute, the last three and a half days ago.
    const past = pastConversations(5000, clock.now() - 7 * DAY, 60_000);
    for (let i = 0; i < past.length; i += 500) {
      const chunk = past.slice(i, i + 500).map((e) => ({ ...e, v: 1 }));
      await store.append("acme", i, chunk);
    }
    const actors = new ActorSystem({
      store,
      publisher: new RecordingPublisher(),
      clock,
      snapshotEvery: 10,
    });
    const at = clock.now();
    const run = (command: CompanyCommand) => actors.dispatch("acme", command);
    await run({ type: "Connect", data: { userId: "bob", role: "agent", socketId: "b", at } });
    for (const user of ["ann", "ben", "cat"]) {
      for (let i = 0; i < 5; i++) {
        await run({
          type: "SendMessage",
          data: {
            sender: { userId: user, role: "user" },
            userId: user,
            text: `hi ${i}`,
            messageId: `${user}-${i}`,
            conversationId: `c-${user}`,
            clientId: `${user}-k${i}`,
            at,
          },
        });
      }
    }
    await actors.stop();
    const live = actors.actor("acme").state;
    assert.deepEqual([...live.conversations.keys()].sort(), ["ann", "ben", "cat"]);

    // What a snapshot of the live state holds: the open conversations, nothing of the past.
    const snapshot = toSnapshot(live);
    assert.equal(snapshot.conversations.length, live.conversations.size);
    assert.equal(snapshot.closed.length, 0, "past conversations closed more than a day ago");
    assert.equal(snapshot.sent.length, 3, "client ids of the last day: the three senders'");
    assert.ok(JSON.stringify(snapshot).length < 10_000, "a few KB, for a log of 20,000 events");

    // The snapshot the actor kept, and recovery from it: the same state as a full replay.
    const kept = await store.loadSnapshot("acme");
    assert.ok(kept && kept.version > past.length, `snapshot at ${kept?.version}`);
    const all: CompanyEvent[] = [];
    for await (const e of store.read("acme")) {
      all.push({ type: e.type, at: e.at, data: e.data } as CompanyEvent);
    }
    const atSnapshot = fold(all.slice(0, kept.version));
    const stored = kept.snapshot as Snapshot;
    assert.equal(stored.conversations.length, atSnapshot.conversations.size);
    assert.ok(stored.conversations.length <= 3);
    const recovered = fold(all.slice(kept.version), fromSnapshot(stored)!);
    assert.deepEqual(recovered, fold(all));
    assert.deepEqual(recovered, live);

    const restarted = new ActorSystem({ store, publisher: new RecordingPublisher(), clock });
    // A restart resets presence; what was open and remembered is as it was.
    const reloaded = await restarted.actor("acme").current();
    assert.deepEqual(
      [reloaded.conversations, reloaded.queue, reloaded.sent, reloaded.closed],
      [live.conversations, live.queue, live.sent, live.closed],
    );
    await restarted.stop();
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
