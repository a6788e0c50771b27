/** Resume from `last_seq`: exactly what was missed, in order, before anything live; also across a restart. */
import assert from "node:assert/strict";
import { KvEventStore } from "../../adapters/store/mod.ts";
import { startEngine } from "../adapters/socketio/_harness.ts";

type Message = { id: string; seq: number; content: string };

Deno.test("resume: a user who reconnects with last_seq gets exactly the N messages sent meanwhile, in order, before new ones", async () => {
  const engine = await startEngine();
  try {
    const bob = await engine.connect("acme", "bob", "admin");
    const alice = await engine.connect("acme", "alice", "user");
    await alice.request("message", { to: "admin", content: "hello" });
    await bob.request("message", { to: "user", user_id: "alice", content: "hi, how can I help?" });
    const seen = await alice.next<Message>("message");
    await alice.close();

    const missed: number[] = [];
    for (let i = 1; i <= 5; i++) {
      missed.push(
        (await bob.request<{ seq: number }>("message", {
          to: "user",
          user_id: "alice",
          content: `while away ${i}`,
        })).seq,
      );
    }
    const back = await engine.connect("acme", "alice", "user", "auth", { last_seq: seen.seq });
    await bob.request("message", { to: "user", user_id: "alice", content: "live" });
    await back.nextWhere<Message>("message", (m) => m.content === "live");
    assert.deepEqual(back.all<Message>("message").map((m) => m.content), [
      "while away 1",
      "while away 2",
      "while away 3",
      "while away 4",
      "while away 5",
      "live",
    ]);
    assert.deepEqual(back.all<Message>("message").slice(0, 5).map((m) => m.seq), missed);
  } finally {
    await engine.close();
  }
});

Deno.test("resume: an agent who reconnects with last_seq gets the users' messages sent meanwhile", async () => {
  const engine = await startEngine();
  try {
    const bob = await engine.connect("acme", "bob", "admin");
    const dave = await engine.connect("acme", "dave", "admin"); // keeps an agent online
    const alice = await engine.connect("acme", "alice", "user");
    const first = await alice.request<{ seq: number }>("message", { to: "admin", content: "one" });
    await bob.nextWhere<Message>("message", (m) => m.content === "one");
    await bob.close();
    await alice.request("message", { to: "admin", content: "two" });
    await dave.request("message", { to: "user", user_id: "alice", content: "dave's reply" });
    await alice.request("message", { to: "admin", content: "three" });
    const back = await engine.connect("acme", "bob", "admin", "auth", { last_seq: first.seq });
    await alice.request("message", { to: "admin", content: "four" });
    await back.nextWhere<Message>("message", (m) => m.content === "four");
    assert.deepEqual(back.all<Message>("message").map((m) => m.content), ["two", "three", "four"]);
  } finally {
    await engine.close();
  }
});

Deno.test("resume: the same holds across a server restart, when Socket.IO's own recovery cannot help", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await startEngine(await KvEventStore.open(`${dir}/events.kv`));
    const bob = await first.connect("acme", "bob", "admin");
    const alice = await first.connect("acme", "alice", "user");
    const start = await alice.request<{ seq: number }>("message", {
      to: "admin",
      content: "before",
    });
    await alice.close();
    for (let i = 1; i <= 3; i++) {
      await bob.request("message", { to: "user", user_id: "alice", content: `missed ${i}` });
    }
    await first.close();
    first.store.close();

    const second = await startEngine(await KvEventStore.open(`${dir}/events.kv`));
    const back = await second.connect("acme", "alice", "user", "auth", { last_seq: start.seq });
    const bob2 = await second.connect("acme", "bob", "admin");
    await bob2.request("message", { to: "user", user_id: "alice", content: "after restart" });
    await back.nextWhere<Message>("message", (m) => m.content === "after restart");
    assert.deepEqual(back.all<Message>("message").map((m) => m.content), [
      "missed 1",
      "missed 2",
      "missed 3",
      "after restart",
    ]);
    await second.close();
    second.store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
