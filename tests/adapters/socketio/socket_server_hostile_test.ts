/** Issue 11: resumes cost bounded work, and presence can neither leak nor bloat the log. */
import assert from "node:assert/strict";
import type { Socket as ServerSocket } from "socket.io";
import { MemoryEventStore } from "../../../adapters/store/mod.ts";
import type { CompanyCommand } from "../../../domain/mod.ts";
import type { NewEvent } from "../../../src/ports.ts";
import { type Client, startEngine } from "./_harness.ts";

type Message = { id: string; seq: number; content: string };
type Resync = { from_seq: number; to_seq: number };

/** A memory store whose appends wait while the gate is shut. */
class GatedStore extends MemoryEventStore {
  #open: Promise<void> = Promise.resolve();
  #release = () => {};
  shut(): void {
    this.#open = new Promise((resolve) => (this.#release = resolve));
  }
  open(): void {
    this.#release();
  }
  override async append(stream: string, expected: number, events: readonly NewEvent[]) {
    await this.#open;
    return super.append(stream, expected, events);
  }
}

let n = 0;
/** A message from `from` to `userId`, dispatched straight to the company's actor. */
function send(from: { userId: string; role: "user" | "agent" }, userId: string, text: string) {
  n++;
  return {
    type: "SendMessage",
    data: {
      sender: from,
      userId,
      text,
      messageId: `m${n}`,
      conversationId: `c-${userId}`,
      at: Date.now(),
    },
  } satisfies CompanyCommand;
}

async function presenceEvents(store: MemoryEventStore, company: string): Promise<number> {
  let count = 0;
  for await (const e of store.read(company)) {
    if (e.type === "SocketConnected" || e.type === "SocketDisconnected") count++;
  }
  return count;
}

Deno.test("resume: past the window the socket gets resync_required, never a silent skip, and history has the newest", async () => {
  const engine = await startEngine(undefined, { resumeWindow: 50 });
  const bob = { userId: "bob", role: "agent" } as const;
  try {
    const alice = await engine.connect("acme", "alice", "user");
    const first = await alice.request<{ seq: number }>("message", { to: "admin", content: "hi" });
    await alice.close();
    await Promise.all(
      Array.from(
        { length: 80 },
        (_, i) => engine.system.dispatch("acme", send(bob, "alice", `r${i + 1}`)),
      ),
    );
    const upTo = engine.system.actor("acme").state.version;
    const back = await engine.connect("acme", "alice", "user", "auth", { last_seq: first.seq });
    const resync = await back.next<Resync>("resync_required");
    assert.equal(resync.from_seq, first.seq + 1);
    assert.ok(resync.to_seq >= upTo, "up to the newest event at the time of the resume");
    const page = await back.request<{ messages: Message[] }>("history", { limit: 50 });
    assert.equal(page.messages.at(-1)?.content, "r80", "the newest are there to read");
    await engine.system.dispatch("acme", send(bob, "alice", "live"));
    await back.nextWhere<Message>("message", (m) => m.content === "live");
    assert.deepEqual(back.all<Message>("message").map((m) => m.content), ["live"]);
  } finally {
    await engine.close();
  }
});

Deno.test("resume: an agent past the window gets resync_required too, and then live events", async () => {
  const engine = await startEngine(undefined, { resumeWindow: 50 });
  const carol = { userId: "carol", role: "user" } as const;
  try {
    const dave = await engine.connect("acme", "dave", "admin");
    const first = await dave.request<{ seq: number }>("message", {
      to: "user",
      user_id: "carol",
      content: "hi",
    });
    await dave.close();
    for (let i = 0; i < 60; i++) {
      await engine.system.dispatch("acme", send(carol, "carol", `c${i}`));
    }
    const back = await engine.connect("acme", "dave", "admin", "auth", { last_seq: first.seq });
    assert.equal((await back.next<Resync>("resync_required")).from_seq, first.seq + 1);
    await engine.system.dispatch("acme", send(carol, "carol", "live"));
    await back.nextWhere<Message>("message", (m) => m.content === "live");
    assert.deepEqual(back.all<Message>("message").map((m) => m.content), ["live"]);
  } finally {
    await engine.close();
  }
});

Deno.test("resume: a company's replays beyond its budget are answered with resync_required", async () => {
  const engine = await startEngine(undefined, { resumeRate: 10 }); // bursts of 20 events
  try {
    await Promise.all(
      Array.from(
        { length: 30 },
        (_, i) =>
          engine.system.dispatch("acme", send({ userId: "bob", role: "agent" }, "alice", `r${i}`)),
      ),
    );
    const back = await engine.connect("acme", "alice", "user", "auth", { last_seq: 0 });
    await back.next<Resync>("resync_required");
    assert.equal(back.all("message").length, 0);
  } finally {
    await engine.close();
  }
});

Deno.test("resume: a resume's size counts against the connection rate of its identity", async () => {
  const engine = await startEngine(undefined, { connectRate: 2 }); // bursts of 4 attempts
  try {
    await Promise.all(
      Array.from(
        { length: 1500 },
        (_, i) =>
          engine.system.dispatch("acme", send({ userId: "carol", role: "user" }, "carol", `c${i}`)),
      ),
    );
    // 1 + ceil(1,502 / 1,000) = 3 tokens: replayed in full.
    const first = await engine.connect("acme", "bob", "admin", "auth", { last_seq: 0 });
    await first.nextWhere<Message>("message", (m) => m.content === "c1499");
    // One token left: a second resume of the same size is refused (counted as one attempt, it
    // would be the 2nd of a burst of 4).
    const token = await engine.token("acme", "bob", "admin");
    const second = engine.raw({ auth: { token, last_seq: 0 } });
    const refusal = await second.next<{ message: string; data: { code: string } }>("connect_error");
    assert.match(refusal.message, /^rate_limited: /);
    assert.equal(refusal.data.code, "rate_limited");
  } finally {
    await engine.close();
  }
});

Deno.test("presence: a socket closed while its join runs leaves no ghost user or agent", async () => {
  const store = new GatedStore();
  const engine = await startEngine(store);
  try {
    const gone: Promise<void>[] = [];
    const closed = new Promise<void>((resolve) => {
      let left = 2;
      engine.server.io.on("connection", (s: ServerSocket) => {
        s.once("disconnect", () => --left === 0 && resolve());
      });
    });
    // The actor is busy committing, so each resuming socket's join waits for it.
    store.shut();
    const busy = engine.system.dispatch("acme", send({ userId: "zed", role: "user" }, "zed", "x"));
    for (const [user, role] of [["alice", "user"], ["carol", "admin"]]) {
      const ghost = await engine.connect("acme", user, role, "auth", { last_seq: 0 });
      gone.push(ghost.close());
    }
    await Promise.all(gone);
    await closed;
    store.open();
    await busy;
    const bob = await engine.connect("acme", "bob", "admin");
    assert.deepEqual(await bob.next("user_list"), { users: [] });
    const state = await engine.system.actor("acme").current();
    assert.equal(state.users.has("alice"), false);
    assert.deepEqual(state.agents.get("carol")?.sockets ?? [], []);
    assert.ok(
      bob.all<{ agent_id: string }>("agent_status").every((s) => s.agent_id !== "carol"),
      "carol is not shown as available",
    );
  } finally {
    store.open();
    await engine.close();
  }
});

Deno.test("presence: 100 connect/disconnect cycles of one user write O(1) durable events; agents still hear of each", async () => {
  const store = new MemoryEventStore();
  const engine = await startEngine(store, { presenceTiming: { offlineDelayMs: 200 } });
  try {
    const bob = await engine.connect("acme", "bob", "admin");
    for (let i = 0; i < 100; i++) await (await engine.connect("acme", "alice", "user")).close();
    // The last offline record waits a little (alice was flapping), then agents hear of it.
    await bob.next("user_connected");
    await bob.next("user_disconnected");
    await bob.next("user_connected");
    await bob.next("user_disconnected");
    const events = await presenceEvents(store, "acme");
    assert.ok(events <= 5, `${events} presence events for 100 cycles`); // bob's own is one
    assert.equal((await engine.system.actor("acme").current()).users.has("alice"), false);
  } finally {
    await engine.close();
  }
});

Deno.test("presence: a second tab writes no event, opening or closing, and still gets its on-connect state", async () => {
  const store = new MemoryEventStore();
  const engine = await startEngine(store);
  try {
    const bob = await engine.connect("acme", "bob", "admin");
    const tab1 = await engine.connect("acme", "alice", "user");
    await tab1.request("message", { to: "admin", content: "hello" });
    const before = await store.version("acme");
    const closed = new Promise<void>((resolve) =>
      engine.server.io.on("connection", (s: ServerSocket) => s.once("disconnect", () => resolve()))
    );
    const tab2 = await engine.connect("acme", "alice", "user");
    assert.equal((await tab2.next<{ user_id: string }>("conversation")).user_id, "alice");
    const bob2 = await engine.connect("acme", "bob", "admin");
    assert.deepEqual(await bob2.next("user_list"), { users: ["alice"] });
    // What one tab sends reaches the other tab.
    const ack = await tab2.request<{ id: string }>("message", { to: "admin", content: "tab 2" });
    assert.equal(
      (await tab1.nextWhere<Message>("message", (m) => m.id === ack.id)).content,
      "tab 2",
    );
    await tab2.close();
    await closed;
    await tab1.request("typing", { typing: false }); // a barrier through the actor
    assert.equal(
      await presenceEvents(store, "acme"),
      2,
      "only alice's and bob's first sockets are recorded",
    );
    assert.ok((await store.version("acme")) === before + 1, "only tab 2's message was written");
    assert.equal(bob.all("user_disconnected").length, 0);
  } finally {
    await engine.close();
  }
});

Deno.test("presence: the 11th socket of a user closes the oldest, which is told why", async () => {
  const engine = await startEngine();
  try {
    const tabs: Client[] = [];
    for (let i = 0; i < 11; i++) tabs.push(await engine.connect("acme", "alice", "user"));
    const error = await tabs[0].next<{ code: string; reason: string }>("error");
    assert.equal(error.code, "conflict");
    assert.equal(error.reason, "too_many_sockets");
    if (tabs[0].socket.connected) {
      await new Promise((resolve) => tabs[0].socket.once("disconnect", resolve));
    }
    assert.ok(tabs.slice(1).every((t) => t.socket.connected));
  } finally {
    await engine.close();
  }
});
