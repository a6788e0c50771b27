/**
 * A log written before the id rule, holding a user id with a lone surrogate, must start and
 * serve. It used to end the process on start (the grace timer's requeue reached `roomOf`) and
 * again whenever an agent of that company connected.
 */
import assert from "node:assert/strict";
import {
  type CompanyCommand,
  type CompanyEvent,
  decide,
  evolve,
  initialState,
} from "../../domain/mod.ts";
import { signToken } from "../../src/auth.ts";
import { EVENT_VERSION } from "../../src/company_actor.ts";
import { Client } from "../adapters/socketio/_harness.ts";
import { startMain, stopMain } from "./_main_process.ts";

const POISON = "x\ud800";
const SECRET = "poisoned-log-test-secret-0123456789";

/** The events of a company whose agent went offline while assigned to POISON's conversation. */
function poisonedEvents(at: number): CompanyEvent[] {
  const commands: CompanyCommand[] = [
    { type: "Connect", data: { userId: "bob", role: "agent", socketId: "s-bob", at } },
    {
      type: "TransferToAgent",
      data: { userId: POISON, context: "refund", conversationId: "c-1", at },
    },
    {
      type: "SendMessage",
      data: {
        sender: { userId: "bob", role: "agent" },
        userId: POISON,
        text: "hello",
        messageId: "m-1",
        conversationId: "c-2",
        at,
      },
    },
    { type: "Disconnect", data: { userId: "bob", role: "agent", socketId: "s-bob", at } },
    // Written just before the old process died: bob's grace is over as soon as it starts.
    { type: "ChangeSettings", data: { changes: { agentGraceSeconds: 0 }, at } },
  ];
  let state = initialState();
  const events: CompanyEvent[] = [];
  for (const command of commands) {
    const decision = decide(state, command);
    assert.ok(decision.ok, command.type);
    for (const event of decision.events) {
      events.push(event);
      state = evolve(state, event);
    }
  }
  return events;
}

/** Writes `events` as the Deno KV layout keeps them, bypassing the store's checks. */
async function writeLog(path: string, company: string, events: CompanyEvent[]): Promise<void> {
  const kv = await Deno.openKv(path);
  try {
    const op = kv.atomic().set(["format"], 2);
    events.forEach((e, i) => {
      const tags = e.type === "MessageSent" ? [`history:${e.data.userId}`] : undefined;
      const value = { type: e.type, at: e.at, v: EVENT_VERSION, data: e.data, tags };
      op.set(["ev", company, i + 1], new TextEncoder().encode(JSON.stringify(value)));
    });
    assert.ok((await op.set(["head", company], events.length).commit()).ok);
  } finally {
    kv.close();
  }
}

Deno.test("main.ts: a log holding a user id with a lone surrogate starts and serves; the company's agents connect and get their lists", async () => {
  const dataDir = await Deno.makeTempDir();
  const clients: Client[] = [];
  const secret = new TextEncoder().encode(SECRET);
  try {
    const events = poisonedEvents(Date.now() - 600_000);
    assert.ok(events.some((e) => e.type === "MessageSent"), "the poison is in a message");
    await writeLog(`${dataDir}/events.kv`, "acme", events);

    const main = await startMain({ PORT: "0", DATA_DIR: dataDir, JWT_SECRET: SECRET });
    const bob = new Client(main.url, {
      auth: {
        token: await signToken(secret, { company_id: "acme", user_id: "bob", role: "admin" }),
      },
    });
    clients.push(bob);
    await bob.connected();
    assert.deepEqual(await bob.next("user_list"), { users: [] });
    const conversation = await bob.nextWhere<{ user_id: string; status: string }>(
      "conversation",
      (c) => c.user_id === POISON,
    );
    assert.ok(["queued", "assigned"].includes(conversation.status), conversation.status);

    // The grace timer fired and its requeue was recorded (where roomOf threw before).
    const admin = await signToken(secret, { company_id: "acme", user_id: "bob", role: "admin" });
    const lines = (await (await fetch(`${main.url}/api/v1/companies/acme/events`, {
      headers: { authorization: `Bearer ${admin}` },
    })).text()).trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(
      lines.some((e) => e.type === "ConversationQueued" && e.data.reason === "agent_offline"),
      "the grace timer's requeue is in the log",
    );

    // From now on the id is refused; the server keeps serving.
    for (
      const [event, payload] of [
        ["typing", { user_id: POISON, typing: true }],
        ["message", { to: "user", user_id: POISON, content: "again" }],
      ] as const
    ) {
      const answer = await bob.request<{ error: { code: string } }>(event, payload);
      assert.equal(answer.error.code, "invalid_payload", event);
    }
    const alice = new Client(main.url, {
      auth: {
        token: await signToken(secret, { company_id: "acme", user_id: "alice", role: "user" }),
      },
    });
    clients.push(alice);
    await alice.connected();
    assert.equal((await alice.request("message", { to: "admin", content: "hi" })).ok, true);
    await bob.nextWhere<{ content: string }>("message", (m) => m.content === "hi");
    assert.deepEqual(await (await fetch(`${main.url}/healthz`)).json(), { ok: true });
    for (const c of clients) await c.close();
    assert.equal((await stopMain(main)).code, 0, "it was still running, and stops cleanly");
  } finally {
    for (const c of clients) c.socket.disconnect();
    await Deno.remove(dataDir, { recursive: true });
  }
});
