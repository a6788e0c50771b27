/** The handoff lifecycle: queue, assignment, capacity, agent actions, presence, reads. */
import assert from "node:assert/strict";
import { type DecisionResult, type Delivery, pendingTimers, queueView } from "../../domain/mod.ts";
import {
  assigned,
  at,
  changeSettings,
  claim,
  connect,
  connected,
  disconnected,
  expireGrace,
  given,
  handedOff,
  handoff,
  MANUAL,
  markRead,
  opened,
  presenceReset,
  queued,
  read,
  release,
  resolve,
  resolved,
  send,
  sent,
  setStatus,
  settingsChanged,
  statusChanged,
  transfer,
  transferred,
  typing,
} from "./_spec.ts";

const online = (agent: string) => connected({ user: agent, role: "agent" });
/** Who waits in the queue, in order, as agents are shown it (the public `queueView`). */
const queueOrder = (state: Parameters<typeof queueView>[0]) =>
  (queueView(state).queue as { user_id: string }[]).map((q) => q.user_id);
/** Only the deliveries of the named client events. */
const only = (deliveries: Delivery[], ...events: string[]) =>
  deliveries.filter((d) => events.includes(d.event));
/** The conversation a decision answers with (Claim, Transfer, Release, Resolve). */
function conversationIn(result: DecisionResult | undefined) {
  assert.equal(result?.kind, "conversation");
  return result?.kind === "conversation" ? result.conversation : null;
}
/** A handoff left waiting in the queue. */
const waiting = (user: string) => [
  opened({ user }),
  handedOff({ user, context: `help ${user}` }),
  queued({ user }),
];

Deno.test("decide() a handoff with an available agent in auto mode is assigned at once", () => {
  given(online("bob")).when(handoff({ user: "alice", context: "refund" }))
    .then(
      opened({ user: "alice" }),
      handedOff({ user: "alice", context: "refund" }),
      queued({ user: "alice" }),
      assigned({ user: "alice", agent: "bob" }),
    );
});

Deno.test("deliveries() the queue is FIFO and each waiting user sees every change of position", () => {
  const history = [MANUAL, online("bob"), ...waiting("ann"), ...waiting("ben")];
  const spec = given(...history);
  assert.deepEqual(spec.view(queueOrder), ["ann", "ben"]);
  const out = spec.when(claim({ agent: "bob", user: "ann" })).then(
    assigned({ user: "ann", agent: "bob", by: "claim" }),
  )
    .deliveries();
  const queueEvents = out.filter((d) => d.event === "queue");
  assert.deepEqual(queueEvents.map((d) => [d.to, d.payload]), [
    [{ kind: "agents" }, {
      queue: [{ user_id: "ben", conversation_id: "c-ben", position: 1, queued_at: at }],
      total: 1,
    }],
    [{ kind: "user", userId: "ann" }, { position: null }],
    [{ kind: "user", userId: "ben" }, { position: 1 }],
  ]);
  const conversation = out.find((d) => d.event === "conversation" && d.to.kind === "user");
  assert.deepEqual(conversation?.payload, {
    conversation_id: "c-ann",
    user_id: "ann",
    status: "assigned",
    assignee: "bob",
    queue_position: null,
    context: "help ann",
    unread: 0,
  });
});

Deno.test("decide() auto assignment picks the least loaded agent, then the one assigned least recently", () => {
  const history = [
    online("bob"),
    online("dave"),
    ...waiting("ann"),
    assigned({ user: "ann", agent: "bob" }),
  ];
  given(...history).when(handoff({ user: "ben", context: "x" }))
    .then(
      opened({ user: "ben" }),
      handedOff({ user: "ben", context: "x" }),
      queued({ user: "ben" }),
      assigned({ user: "ben", agent: "dave" }),
    );
  const tied = [...history, ...waiting("ben"), assigned({ user: "ben", agent: "dave" })];
  given(...tied).when(handoff({ user: "cat", context: "x" }))
    .then(
      opened({ user: "cat" }),
      handedOff({ user: "cat", context: "x" }),
      queued({ user: "cat" }),
      assigned({ user: "cat", agent: "bob" }),
    );
});

Deno.test("decide() an agent set away gets no assignments; becoming available drains the queue", () => {
  const away = {
    type: "AgentStatusChanged",
    at,
    data: { agentId: "bob", status: "away" },
  } as const;
  const spec = given(online("bob"), away);
  spec.when(handoff({ user: "ann", context: "x" })).then(
    opened({ user: "ann" }),
    handedOff({ user: "ann", context: "x" }),
    queued({ user: "ann" }),
  );
  given(online("bob"), away, ...waiting("ann")).when(
    setStatus({ agent: "bob", status: "available" }),
  )
    .then(
      { type: "AgentStatusChanged", at, data: { agentId: "bob", status: "available" } },
      assigned({ user: "ann", agent: "bob" }),
    );
});

Deno.test("decide() capacity is respected: claims beyond it conflict and auto assignment waits", () => {
  const full = [
    settingsChanged({ maxChatsPerAgent: 1 }),
    online("bob"),
    ...waiting("ann"),
    assigned({ user: "ann", agent: "bob" }),
  ];
  given(...full).when(handoff({ user: "ben", context: "x" })).then(
    opened({ user: "ben" }),
    handedOff({ user: "ben", context: "x" }),
    queued({ user: "ben" }),
  );
  given(MANUAL, ...full, ...waiting("ben")).when(claim({ agent: "bob", user: "ben" })).thenRejects(
    "conflict",
  );
});

Deno.test("decide() two agents claiming one conversation: the first wins, the second gets conflict", () => {
  const history = [MANUAL, online("bob"), online("dave"), ...waiting("ann")];
  const first = given(...history).when(claim({ agent: "bob", user: "ann" }));
  first.then(assigned({ user: "ann", agent: "bob", by: "claim" }));
  given(...history, assigned({ user: "ann", agent: "bob", by: "claim" })).when(
    claim({ agent: "dave", user: "ann" }),
  ).thenRejects(
    "conflict",
  );
  given(...history, assigned({ user: "ann", agent: "bob", by: "claim" })).when(
    claim({ agent: "bob", user: "ann" }),
  )
    .thenNothingHappened();
  given().when(claim({ agent: "bob", user: "nobody" })).thenRejects("not_found");
});

Deno.test("decide() resolving frees capacity and the queue drains at once", () => {
  const history = [
    settingsChanged({ maxChatsPerAgent: 1 }),
    online("bob"),
    ...waiting("ann"),
    assigned({ user: "ann", agent: "bob" }),
    ...waiting("ben"),
  ];
  given(...history).when(resolve({ agent: "bob", user: "ann", returnToBot: true }))
    .then(
      resolved({ user: "ann", agent: "bob", returnToBot: true }),
      assigned({ user: "ben", agent: "bob" }),
    );
});

Deno.test("decide() raising capacity or switching to auto drains the queue", () => {
  const history = [MANUAL, online("bob"), ...waiting("ann"), ...waiting("ben")];
  given(...history).when(changeSettings({ assignment: "auto" }))
    .then(
      settingsChanged({ assignment: "auto" }),
      assigned({ user: "ann", agent: "bob" }),
      assigned({ user: "ben", agent: "bob" }),
    );
  const capped = [
    settingsChanged({ maxChatsPerAgent: 1 }),
    online("bob"),
    ...waiting("ann"),
    assigned({ user: "ann", agent: "bob" }),
    ...waiting("ben"),
  ];
  given(...capped).when(changeSettings({ maxChatsPerAgent: 2 }))
    .then(settingsChanged({ maxChatsPerAgent: 2 }), assigned({ user: "ben", agent: "bob" }));
  given(...capped).when(changeSettings({ maxChatsPerAgent: 1 })).thenNothingHappened();
});

Deno.test("decide() an agent coming online drains the queue", () => {
  given(...waiting("ann")).when(connect({ user: "bob", role: "agent" }))
    .then(online("bob"), assigned({ user: "ann", agent: "bob" }));
});

Deno.test("decide() transfer moves a conversation to another online agent with a note", () => {
  const history = [
    online("bob"),
    online("dave"),
    ...waiting("ann"),
    assigned({ user: "ann", agent: "bob" }),
  ];
  given(...history).when(
    transfer({ agent: "bob", user: "ann", to: "dave", note: "billing question" }),
  )
    .then({
      type: "ConversationTransferred",
      at,
      data: {
        conversationId: "c-ann",
        userId: "ann",
        fromAgentId: "bob",
        toAgentId: "dave",
        note: "billing question",
      },
    });
  given(...history).when(transfer({ agent: "dave", user: "ann", to: "bob" })).thenRejects(
    "forbidden",
  );
  given(...history).when(transfer({ agent: "bob", user: "ann", to: "zed" })).thenRejects(
    "not_found",
  );
  given(...history).when(transfer({ agent: "bob", user: "ann", to: "bob" })).thenRejects(
    "invalid_payload",
  );
  const daveFull = [
    settingsChanged({ maxChatsPerAgent: 1 }),
    ...history,
    ...waiting("ben"),
    assigned({ user: "ben", agent: "dave" }),
  ];
  given(...daveFull).when(transfer({ agent: "bob", user: "ann", to: "dave" })).thenRejects(
    "conflict",
  );
});

Deno.test("decide() a transfer frees the sender's capacity and drains the queue", () => {
  // bob is full with ann; dave, away, takes no new conversation, so ben waits.
  const history = [
    settingsChanged({ maxChatsPerAgent: 1 }),
    online("bob"),
    online("dave"),
    statusChanged({ agent: "dave", status: "away" }),
    ...waiting("ann"),
    assigned({ user: "ann", agent: "bob" }),
    ...waiting("ben"),
  ];
  given(...history).when(transfer({ agent: "bob", user: "ann", to: "dave" })).then(
    transferred({ user: "ann", from: "bob", to: "dave" }),
    assigned({ user: "ben", agent: "bob" }),
  );
});

Deno.test("decide() release puts the conversation at the front of the queue, to another agent if one has room", () => {
  const history = [
    MANUAL,
    online("bob"),
    ...waiting("ann"),
    ...waiting("ben"),
    assigned({ user: "ann", agent: "bob", by: "claim" }),
  ];
  given(...history).when(release({ agent: "bob", user: "ann" })).then(
    queued({ user: "ann", reason: "released", agent: "bob" }),
  );
  assert.deepEqual(
    given(...history, queued({ user: "ann", reason: "released", agent: "bob" })).view(queueOrder),
    ["ann", "ben"],
  );
  const auto = [
    online("bob"),
    online("dave"),
    ...waiting("ann"),
    assigned({ user: "ann", agent: "bob" }),
  ];
  given(...auto).when(release({ agent: "bob", user: "ann" })).then(
    queued({ user: "ann", reason: "released", agent: "bob" }),
    assigned({ user: "ann", agent: "dave" }),
  );
  given(...auto).when(release({ agent: "dave", user: "ann" })).thenRejects("forbidden");
});

Deno.test("decide() release in auto mode never hands the conversation straight back to the releaser", () => {
  given(online("bob"), ...waiting("ann"), assigned({ user: "ann", agent: "bob" })).when(
    release({ agent: "bob", user: "ann" }),
  )
    .then(queued({ user: "ann", reason: "released", agent: "bob" }));
});

Deno.test("decide() resolve returns the user to the bot or closes; a later message queues again", () => {
  const history = [
    MANUAL,
    online("bob"),
    ...waiting("ann"),
    assigned({ user: "ann", agent: "bob", by: "claim" }),
  ];
  const toBot = [...history, resolved({ user: "ann", agent: "bob", returnToBot: true })];
  const backToBot = given(...history).when(
    resolve({ agent: "bob", user: "ann", returnToBot: true }),
  )
    .then(resolved({ user: "ann", agent: "bob", returnToBot: true }));
  assert.equal(conversationIn(backToBot.result)?.status, "bot");
  given(...toBot).when(send({ from: "ann", user: "ann", text: "me again" }))
    .then(
      queued({ user: "ann", reason: "message" }),
      sent({ from: "ann", user: "ann", text: "me again" }),
    );
  const closed = [...history, resolved({ user: "ann", agent: "bob", returnToBot: false })];
  const closing = given(...history).when(resolve({ agent: "bob", user: "ann", returnToBot: false }))
    .then(resolved({ user: "ann", agent: "bob", returnToBot: false }));
  assert.equal(conversationIn(closing.result)?.status, "resolved");
  given(...closed).when(send({ from: "ann", text: "new", id: "m2", conversation: "c-ann-2" })).then(
    opened({ user: "ann", conversation: "c-ann-2" }),
    queued({ user: "ann", reason: "message", conversation: "c-ann-2" }),
    sent({ from: "ann", text: "new", id: "m2", conversation: "c-ann-2" }),
  );
  given(...closed).when(resolve({ agent: "bob", user: "ann", returnToBot: false })).thenRejects(
    "not_found",
  );
  given(...history).when(resolve({ agent: "dave", user: "ann", returnToBot: false })).thenRejects(
    "forbidden",
  );
});

Deno.test("decide() an agent replying to a queued conversation claims it", () => {
  given(MANUAL, online("bob"), ...waiting("ann")).when(
    send({ from: "bob", role: "agent", user: "ann", text: "on it" }),
  )
    .then(
      assigned({ user: "ann", agent: "bob", by: "reply" }),
      sent({ from: "bob", role: "agent", user: "ann", text: "on it" }),
    );
});

Deno.test("pendingTimers() an agent who goes offline holding conversations asks for a grace timer", () => {
  const history = [
    settingsChanged({ agentGraceSeconds: 30 }),
    online("bob"),
    ...waiting("ann"),
    assigned({ user: "ann", agent: "bob" }),
  ];
  // pendingTimers() is the query under test: the runtime arms its timers from it.
  assert.deepEqual(given(...history).view(pendingTimers), []);
  const gone = disconnected({ user: "bob", role: "agent", when: at + 1000 });
  const timers = given(...history, gone).view(pendingTimers);
  assert.deepEqual(timers, [{
    due: at + 31_000,
    command: { type: "ExpireGrace", data: { agentId: "bob", at: at + 31_000 } },
  }]);
});

Deno.test("decide() ExpireGrace requeues an offline agent's conversations at the front, in order, after the grace period only", () => {
  const history = [
    MANUAL,
    online("bob"),
    ...waiting("ann"),
    ...waiting("ben"),
    ...waiting("cat"),
    assigned({ user: "ann", agent: "bob", by: "claim" }),
    assigned({ user: "ben", agent: "bob", by: "claim" }),
    disconnected({ user: "bob", role: "agent" }),
  ];
  const expire = (when: number) => expireGrace({ agent: "bob", when });
  given(...history).when(expire(at + 59_000)).thenNothingHappened();
  const out = given(...history).when(expire(at + 60_000)).then(
    queued({ user: "ben", reason: "agent_offline", agent: "bob", when: at + 60_000 }),
    queued({ user: "ann", reason: "agent_offline", agent: "bob", when: at + 60_000 }),
  );
  const shown = only(out.deliveries(), "queue").filter((d) => d.to.kind === "agents").at(-1);
  assert.deepEqual(
    (shown?.payload.queue as { user_id: string }[]).map((q) => q.user_id),
    ["ann", "ben", "cat"],
  );
  // Back in time: nothing is requeued.
  given(...history, online("bob")).when(expire(at + 60_000)).thenNothingHappened();
});

Deno.test("decide() agents offline after a restart get their grace period from the restart", () => {
  const reset = presenceReset({ when: at + 5000 });
  const history = [
    online("bob"),
    ...waiting("ann"),
    assigned({ user: "ann", agent: "bob" }),
    reset,
  ];
  assert.equal(given(...history).view(pendingTimers)[0].due, at + 5000 + 60_000);
});

Deno.test("decide() Typing is routed but never recorded", () => {
  const fromUser = given(online("bob")).when(typing({ from: "ann", typing: true })).then();
  assert.deepEqual(fromUser.deliveries(), [{
    to: { kind: "agents" },
    event: "typing",
    payload: { user_id: "ann", from: "ann", role: "user", typing: true },
  }]);
  assert.equal(fromUser.result, undefined);
  const fromAgent = given(online("bob")).when(
    typing({ from: "bob", role: "agent", user: "ann", typing: false, socket: "s" }),
  ).then();
  assert.deepEqual(fromAgent.deliveries().map((d) => d.to), [{ kind: "user", userId: "ann" }, {
    kind: "agents",
  }]);
  given().when(typing({ from: "ann", user: "ben", typing: true })).thenRejects("forbidden");
});

Deno.test("decide() read receipts are recorded up to a seq and clear the unread counts", () => {
  const history = [
    MANUAL,
    ...waiting("ann"),
    sent({ from: "ann", user: "ann", text: "one" }),
    sent({ from: "ann", user: "ann", text: "two" }),
    sent({ from: "bob", role: "agent", user: "ann", text: "three" }),
  ];
  // Before: agents have two of ann's messages unread, ann one of bob's (as each side is shown).
  const agentSees = given(...history).when(connect({ user: "dave", role: "agent" }))
    .then(connected({ user: "dave", role: "agent" }));
  assert.deepEqual(only(agentSees.deliveries(), "conversation").map((d) => d.payload.unread), [2]);
  const userSees = given(...history).when(connect({ user: "ann", role: "user" }))
    .then(connected({ user: "ann", role: "user" }));
  assert.deepEqual(only(userSees.deliveries(), "conversation").map((d) => d.payload.unread), [1]);
  const out = given(...history).when(
    markRead({ user: "ann", reader: "bob", role: "agent", seq: 5 }),
  )
    .then(read({ user: "ann", reader: "bob", role: "agent", seq: 5 }));
  assert.deepEqual(out.result, { kind: "read", seq: 5 });
  assert.deepEqual(
    out.deliveries().filter((d) => d.event === "read").map((d) => [d.to.kind, d.event, d.payload]),
    [
      ["user", "read", { user_id: "ann", reader: "bob", role: "agent", seq: 5 }],
      ["agents", "read", { user_id: "ann", reader: "bob", role: "agent", seq: 5 }],
    ],
  );
  // After: the agents are shown one unread (message "two", seq 6); ann's count is unchanged.
  assert.deepEqual(
    only(out.deliveries(), "conversation").map((d) => [d.to.kind, d.payload.unread]),
    [["user", 1], ["agents", 1]],
  );
  given(...history).when(markRead({ user: "ann", reader: "ann", role: "user", seq: 1 }))
    .thenNothingHappened();
  given(...history).when(markRead({ user: "ben", reader: "ann", role: "user", seq: 9 }))
    .thenRejects("forbidden");
});

Deno.test("decide() the bot's transcript is recorded in the conversation without queueing it or notifying anyone", () => {
  const out = given(online("bob")).when({
    type: "PostTranscript",
    data: {
      botId: "chatbot",
      userId: "ann",
      conversationId: "c-ann",
      at,
      lines: [{ role: "user", text: "my order is late", messageId: "t1" }, {
        role: "bot",
        text: "Let me check",
        messageId: "t2",
      }],
    },
  }).then(
    opened({ user: "ann" }),
    {
      type: "MessageSent",
      at,
      data: {
        messageId: "t1",
        conversationId: "c-ann",
        userId: "ann",
        senderId: "ann",
        senderRole: "user",
        text: "my order is late",
        transcript: true,
      },
    },
    {
      type: "MessageSent",
      at,
      data: {
        messageId: "t2",
        conversationId: "c-ann",
        userId: "ann",
        senderId: "chatbot",
        senderRole: "bot",
        text: "Let me check",
        transcript: true,
      },
    },
  );
  assert.deepEqual(out.deliveries(), []);
});

Deno.test("decide() ChangeSettings records only what changed", () => {
  given().when(changeSettings({ assignment: "manual", maxChatsPerAgent: 5 })).then(
    settingsChanged({ assignment: "manual" }),
  );
  given().when(changeSettings({ assignment: "auto" })).thenNothingHappened();
});

Deno.test("decide() an agent's choice of away outlives a reconnect", () => {
  const away = statusChanged({ agent: "bob", status: "away" });
  // Reconnecting, bob is shown his own status as away, and announced to the agents as away.
  const back = given(online("bob"), away, disconnected({ user: "bob", role: "agent" }))
    .when(connect({ user: "bob", role: "agent" })).then(online("bob"));
  assert.deepEqual(only(back.deliveries(), "agent_status").map((d) => [d.to, d.payload.status]), [
    [{ kind: "socket", socketId: "bob-s1" }, "away"],
    [{ kind: "agents" }, "away"],
  ]);
  given(online("bob"), away, disconnected({ user: "bob", role: "agent" }), online("bob")).when(
    handoff({ user: "ann", context: "x" }),
  )
    .then(
      opened({ user: "ann" }),
      handedOff({ user: "ann", context: "x" }),
      queued({ user: "ann" }),
    );
});

Deno.test("decide() an agent at capacity replying to a queued conversation writes without taking it", () => {
  const full = [
    MANUAL,
    settingsChanged({ maxChatsPerAgent: 1 }),
    online("bob"),
    ...waiting("ann"),
    assigned({ user: "ann", agent: "bob", by: "claim" }),
    ...waiting("ben"),
  ];
  given(...full).when(send({ from: "bob", role: "agent", user: "ben", text: "hello" }))
    .then(sent({ from: "bob", role: "agent", user: "ben", text: "hello" }));
  assert.deepEqual(
    given(...full, sent({ from: "bob", role: "agent", user: "ben", text: "hello" })).view(
      queueOrder,
    ),
    ["ben"],
    "ben keeps his place in the queue",
  );
});

Deno.test("evolve() a changed webhook URL takes over waiting events; a URL set anew hears only what follows", () => {
  // No view or event shows it: `webhookSince` is what the webhook dispatcher reads of the state
  // (src/webhooks.ts) to skip events from before the URL was set, so it is read as such.
  const webhookSince = (s: { webhookSince: number }) => s.webhookSince;
  const set = given(settingsChanged({ webhookUrl: "https://a.example/h" }));
  assert.equal(set.view(webhookSince), 1);
  const changed = given(
    settingsChanged({ webhookUrl: "https://a.example/h" }),
    opened({ user: "x" }),
    settingsChanged({ webhookUrl: "https://b.example/h" }),
  );
  assert.equal(changed.view(webhookSince), 1);
  const again = given(
    settingsChanged({ webhookUrl: "https://a.example/h" }),
    settingsChanged({ webhookUrl: null }),
    settingsChanged({ webhookUrl: "https://c.example/h" }),
  );
  assert.equal(again.view(webhookSince), 3);
});

Deno.test("deliveries() the agent who picks up a conversation is shown what its user said while no agent was online", () => {
  const history = [
    MANUAL,
    connected({ user: "ann", role: "user" }),
    ...waiting("ann"),
    sent({ from: "ann", user: "ann", text: "hello? anyone?" }),
    online("bob"), // shown the kept message on connect
    online("dave"), // so is dave
  ];
  const claimed = given(...history).when(claim({ agent: "dave", user: "ann" })).then(
    assigned({ user: "ann", agent: "dave", by: "claim" }),
  );
  assert.deepEqual(
    claimed.deliveries().filter((d) => d.event === "message"),
    [],
    "dave already has it",
  );
  // Once the conversation is taken nothing is kept for agents: one who connects now is not
  // shown it, nor is one the conversation is then transferred to (they read the history).
  const taken = [...history, assigned({ user: "ann", agent: "dave", by: "claim" })];
  const carol = given(...taken).when(connect({ user: "carol", role: "agent" }))
    .then(connected({ user: "carol", role: "agent" }));
  assert.deepEqual(only(carol.deliveries(), "message", "chatbot_context"), []);
  const moved = given(...taken, connected({ user: "carol", role: "agent" }))
    .when(transfer({ agent: "dave", user: "ann", to: "carol" }))
    .then(transferred({ user: "ann", from: "dave", to: "carol" }));
  assert.deepEqual(only(moved.deliveries(), "message", "chatbot_context"), []);
  const fresh = given(
    MANUAL,
    connected({ user: "ann", role: "user" }),
    ...waiting("ann"),
    sent({ from: "ann", user: "ann", text: "hello?" }),
  );
  // No agent online: switching to auto assigns nothing, and keeps what waits for agents.
  fresh.when(changeSettings({ assignment: "auto" })).then(settingsChanged({ assignment: "auto" }));
  const viaClaim = given(
    MANUAL,
    connected({ user: "ann", role: "user" }),
    ...waiting("ann"),
    sent({ from: "ann", user: "ann", text: "hello?" }),
    presenceReset(),
  );
  const first = viaClaim.when(connect({ user: "bob", role: "agent" }))
    .then(connected({ user: "bob", role: "agent" }));
  assert.deepEqual(
    only(first.deliveries(), "message", "chatbot_context").map((d) => d.event),
    ["chatbot_context", "message"],
    "context and message are kept across a restart",
  );
});
