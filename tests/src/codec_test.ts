/** The codec: every reader of the log sees events of an older schema in today's shape. */
import assert from "node:assert/strict";
import { main } from "../../cli/log.ts";
import { KvEventStore } from "../../adapters/store/mod.ts";
import { DEFAULT_SETTINGS, initialState } from "../../domain/mod.ts";
import { ActorSystem } from "../../src/company_actor.ts";
import { decode, encode, registerUpcaster } from "../../src/codec.ts";
import { readHistory } from "../../src/history.ts";
import { liveState, parseExport, replay } from "../../src/replay.ts";
import { missedDeliveries } from "../../src/resume.ts";
import { EVENT_VERSION } from "../../src/upcast.ts";
import { type WebhookBody, WebhookDispatcher } from "../../src/webhooks.ts";
import { FakeClock, RecordingPublisher } from "../_fakes.ts";

const OLD = EVENT_VERSION - 1;
const at = 1_764_043_200_123;
const c = "c-alice";

/**
 * A log an earlier engine wrote: at version OLD, a handoff's context was `note`, an
 * assignment's agent `agent` and a message's text `body`. Events of other types are current.
 */
const OLD_LOG = [
  {
    type: "ConversationOpened",
    at,
    v: EVENT_VERSION,
    data: { conversationId: c, userId: "alice" },
  },
  { type: "HandedOff", at, v: OLD, data: { conversationId: c, userId: "alice", note: "refund" } },
  {
    type: "ConversationQueued",
    at,
    v: EVENT_VERSION,
    data: { conversationId: c, userId: "alice", reason: "handoff" },
  },
  {
    type: "ConversationAssigned",
    at,
    v: OLD,
    data: { conversationId: c, userId: "alice", agent: "bob", by: "claim" },
  },
  {
    type: "MessageSent",
    at,
    v: OLD,
    tags: ["history:alice"],
    data: {
      messageId: "m1",
      conversationId: c,
      userId: "alice",
      senderId: "alice",
      senderRole: "user",
      body: "hello",
    },
  },
];

/** Today's upcasters for that made-up history, registered while `fn` runs. */
async function withOldSchema(fn: () => Promise<void>): Promise<void> {
  using _context = registerUpcaster(
    "HandedOff",
    OLD,
    ({ note, ...d }) => ({ ...d, context: note }),
  );
  using _agent = registerUpcaster("ConversationAssigned", OLD, ({ agent, ...d }) => ({
    ...d,
    agentId: agent,
  }));
  using _text = registerUpcaster("MessageSent", OLD, ({ body, ...d }) => ({ ...d, text: body }));
  await fn();
}

Deno.test("decode() leaves today's events as they are; encode() stamps today's schema version", () => {
  const e = { seq: 1, ...OLD_LOG[0] };
  assert.deepEqual(decode(e), e);
  const event = {
    type: "MessageSent",
    at,
    data: {
      messageId: "m",
      conversationId: c,
      userId: "alice",
      senderId: "bob",
      senderRole: "agent",
      text: "hi",
    },
  } as const;
  assert.deepEqual(encode(event), { ...event, v: EVENT_VERSION });
});

Deno.test("codec: the actor, history, resume, replay, export, webhooks and the log tool all see an old event upcast", async () => {
  const dir = await Deno.makeTempDir();
  const previous = Deno.env.get("DATA_DIR");
  Deno.env.set("DATA_DIR", dir);
  try {
    await withOldSchema(async () => {
      const store = await KvEventStore.open(`${dir}/events.kv`);
      await store.append("acme", 0, OLD_LOG);

      // The actor folds them.
      const actors = new ActorSystem({
        store,
        publisher: new RecordingPublisher(),
        clock: new FakeClock(),
      });
      const state = await actors.actor("acme").current();
      const alice = state.conversations.get("alice")!;
      assert.equal(alice.assignee, "bob");
      assert.equal(alice.context, "refund");
      await actors.stop();

      // History and resume read the message and the context.
      const history = await readHistory(store, "acme", "alice");
      assert.deepEqual(history.messages.map((m) => m.content), ["hello"]);
      const missed = await missedDeliveries(store, "acme", { role: "agent", userId: "bob" }, 0, 5);
      assert.deepEqual(missed, [
        { event: "chatbot_context", payload: { context: "refund", user_id: "alice" } },
        { event: "message", payload: { ...history.messages[0] } },
      ]);

      // Replay tooling: the state the engine would load.
      assert.equal((await liveState(store, "acme")).conversations.get("alice")?.assignee, "bob");

      // Webhooks announce the assignment with its agent.
      const bodies: WebhookBody[] = [];
      let assigned!: () => void;
      const delivered = new Promise<void>((resolve) => (assigned = resolve));
      const webhooks = new WebhookDispatcher({
        store,
        stateOf: () => ({
          ...initialState(),
          settings: { ...DEFAULT_SETTINGS, webhookUrl: "https://bot.example/h" },
        }),
        resolveHost: () => Promise.resolve(["93.184.215.14"]), // a public address
        fetch: (_url, init) => {
          const body = JSON.parse(String(init?.body));
          bodies.push(body);
          if (body.type === "conversation.assigned") assigned();
          return Promise.resolve(new Response(null, { status: 204 }));
        },
      });
      webhooks.kick("acme");
      await delivered;
      await webhooks.stop();
      assert.deepEqual(bodies.find((b) => b.type === "conversation.assigned")?.data, {
        agent_id: "bob",
        by: "claim",
      });
      store.close();

      // The log tool exports today's shape, and its replay reads it.
      const lines: string[] = [];
      assert.equal(await main(["export", "--company", "acme"], (l) => lines.push(l)), 0);
      const exported = lines.map((l) => JSON.parse(l));
      assert.ok(exported.every((e) => e.v === EVENT_VERSION));
      assert.equal(exported[4].data.text, "hello");
      assert.equal(exported[3].data.agentId, "bob");
      const { state: replayed } = replay(parseExport(lines.join("\n")));
      assert.equal(replayed.conversations.get("alice")?.assignee, "bob");

      // An export written by the older engine replays upcast too.
      const old = OLD_LOG.map((e, i) => JSON.stringify({ seq: i + 1, ...e, tags: undefined }));
      const { steps } = replay(parseExport(old.join("\n")));
      assert.deepEqual(
        steps[4].deliveries.find((d) => d.event === "message")?.payload.content,
        "hello",
      );
    });
  } finally {
    if (previous === undefined) Deno.env.delete("DATA_DIR");
    else Deno.env.set("DATA_DIR", previous);
    await Deno.remove(dir, { recursive: true });
  }
});
