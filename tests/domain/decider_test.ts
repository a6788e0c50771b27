/** Presence, messages and handoff: the predecessor's flows, as domain specs. */
import assert from "node:assert/strict";
import type { Delivery } from "../../domain/mod.ts";
import { decide } from "../../domain/mod.ts";
import { at, cmd, ev, given, MANUAL } from "./_spec.ts";

const AGENTS = { kind: "agents" } as const;
const alice = { userId: "alice", role: "user" } as const;
const bob = { userId: "bob", role: "agent" } as const;

/** Only the deliveries of the named client events. */
function only(deliveries: Delivery[], ...events: string[]): Delivery[] {
  return deliveries.filter((d) => events.includes(d.event));
}

function message(seq: number, from: string, role: string, text: string, userId = "alice") {
  return {
    from,
    content: text,
    timestamp: Math.floor(at / 1000),
    id: `m-${text}`,
    seq,
    conversation_id: `c-${userId}`,
    user_id: userId,
    role,
  };
}

// Connect / Disconnect ------------------------------------------------------------------

Deno.test("decide() Connect of a user records the socket and tells the agents", () => {
  const out = given(ev.connected("bob", "agent")).when(cmd.connect("alice", "user"))
    .then(ev.connected("alice", "user"));
  assert.deepEqual(out.deliveries(), [
    { to: AGENTS, event: "user_connected", payload: { user_id: "alice" } },
  ]);
});

Deno.test("decide() Connect of an agent sends that socket the online users and the queue", () => {
  const out = given(ev.connected("alice", "user"), ev.connected("carol", "user"))
    .when(cmd.connect("bob", "agent")).then(ev.connected("bob", "agent"));
  const socket = { kind: "socket", socketId: "bob-s1" };
  assert.deepEqual(only(out.deliveries(), "user_list", "queue"), [
    { to: socket, event: "user_list", payload: { users: ["alice", "carol"] } },
    { to: socket, event: "queue", payload: { queue: [] } },
  ]);
});

Deno.test("decide() Connect of a user's second tab records nothing and does not announce them again", () => {
  const notify = given(ev.connected("alice", "user"), ev.opened("alice"))
    .when(cmd.connect("alice", "user", "alice-s2")).thenOnlyNotifies();
  // The tab is told what a first socket is told about the present, and nobody else is told.
  assert.deepEqual(notify.map((d) => [d.to, d.event]), [
    [{ kind: "socket", socketId: "alice-s2" }, "conversation"],
  ]);
});

Deno.test("decide() Connect of an agent's second tab records nothing and sends that tab the users and the queue", () => {
  const notify = given(ev.connected("alice", "user"), ev.connected("bob", "agent"))
    .when(cmd.connect("bob", "agent", "bob-s2")).thenOnlyNotifies();
  const socket = { kind: "socket", socketId: "bob-s2" };
  assert.deepEqual(only([...notify], "user_list", "queue"), [
    { to: socket, event: "user_list", payload: { users: ["alice"] } },
    { to: socket, event: "queue", payload: { queue: [] } },
  ]);
  assert.ok(notify.every((d) => d.to.kind === "socket"));
});

Deno.test("decide() Disconnect of an identity's last socket records it gone even if another socket was recorded", () => {
  const out = given(ev.connected("alice", "user"))
    .when({
      type: "Disconnect",
      data: { userId: "alice", role: "user", socketId: "alice-s9", at, last: true },
    })
    .then(ev.disconnected("alice", "user"));
  assert.deepEqual(out.deliveries(), [
    { to: AGENTS, event: "user_disconnected", payload: { user_id: "alice" } },
  ]);
  given(ev.connected("alice", "user")).when(cmd.disconnect("alice", "user", "alice-s9"))
    .thenNothingHappened();
});

Deno.test("decide() Connect of a socket already connected changes nothing", () => {
  given(ev.connected("alice", "user")).when(cmd.connect("alice", "user")).thenNothingHappened();
});

Deno.test("decide() Connect with a bot identity is rejected", () => {
  given().when(cmd.connect("botty", "bot")).thenRejects("forbidden");
});

Deno.test("decide() Disconnect of a user's last socket tells the agents", () => {
  const out = given(ev.connected("alice", "user")).when(cmd.disconnect("alice", "user"))
    .then(ev.disconnected("alice", "user"));
  assert.deepEqual(out.deliveries(), [
    { to: AGENTS, event: "user_disconnected", payload: { user_id: "alice" } },
  ]);
});

Deno.test("decide() Disconnect of one of two tabs keeps the user online", () => {
  const history = [ev.connected("alice", "user"), ev.connected("alice", "user", "alice-s2")];
  const out = given(...history).when(cmd.disconnect("alice", "user"))
    .then(ev.disconnected("alice", "user"));
  assert.deepEqual(out.deliveries(), []);
  assert.deepEqual(given(...history, ev.disconnected("alice", "user")).state.users.get("alice"), [
    "alice-s2",
  ]);
});

Deno.test("decide() Disconnect of an unknown socket changes nothing", () => {
  given().when(cmd.disconnect("alice", "user")).thenNothingHappened();
});

Deno.test("decide() Disconnect of an agent's last socket tells the agents they are offline", () => {
  const out = given(ev.connected("bob", "agent")).when(cmd.disconnect("bob", "agent"))
    .then(ev.disconnected("bob", "agent"));
  assert.deepEqual(out.deliveries(), [
    {
      to: AGENTS,
      event: "agent_status",
      payload: { agent_id: "bob", status: "offline", load: 0, capacity: 5 },
    },
  ]);
});

Deno.test("decide() ResetPresence clears everyone online, and does nothing when nobody is", () => {
  given().when({ type: "ResetPresence", data: { at } }).thenNothingHappened();
  const reset = { type: "PresenceReset", at, data: {} } as const;
  const out = given(ev.connected("alice", "user"), ev.connected("bob", "agent"))
    .when({ type: "ResetPresence", data: { at } }).then(reset);
  assert.deepEqual(out.deliveries(), []);
  const state = given(ev.connected("alice", "user"), ev.connected("bob", "agent"), reset).state;
  assert.equal(state.users.size, 0);
  assert.deepEqual(state.agents.get("bob")?.sockets, []);
});

// SendMessage -------------------------------------------------------------------------

Deno.test("decide() SendMessage from a user opens a queued conversation and reaches every agent", () => {
  const history = [MANUAL, ev.connected("alice", "user"), ev.connected("bob", "agent")];
  const out = given(...history)
    .when(cmd.send(alice, "alice", "hi", "alice-s1"))
    .then(
      ev.opened("alice"),
      ev.queued("alice", "message"),
      ev.sent("alice", "alice", "user", "hi", "m-hi", "alice-s1"),
    );
  assert.deepEqual(only(out.deliveries(), "message"), [
    { to: AGENTS, event: "message", payload: message(6, "alice", "user", "hi") },
    {
      to: { kind: "user", userId: "alice" },
      except: "alice-s1",
      event: "message",
      payload: message(6, "alice", "user", "hi"),
    },
  ]);
  // Other tabs are not recorded, so the copy is always addressed (the adapter skips it when the
  // sending socket is alone); a sender who is not online gets no copy.
  const offline = given(MANUAL, ev.connected("bob", "agent"))
    .when(cmd.send(alice, "alice", "hi", "alice-s1"))
    .then(
      ev.opened("alice"),
      ev.queued("alice", "message"),
      ev.sent("alice", "alice", "user", "hi", "m-hi", "alice-s1"),
    );
  assert.deepEqual(only(offline.deliveries(), "message").map((d) => d.to), [AGENTS]);
});

Deno.test("decide() SendMessage from an agent reaches the named user and the agent's other tabs", () => {
  const out = given(
    MANUAL,
    ev.connected("alice", "user"),
    ev.connected("bob", "agent"),
    ev.connected("bob", "agent", "bob-s2"),
    ev.opened("alice"),
    ev.queued("alice"),
    ev.assigned("alice", "bob"),
  )
    .when(cmd.send(bob, "alice", "hello", "bob-s1"))
    .then(ev.sent("alice", "bob", "agent", "hello", "m-hello", "bob-s1"));
  assert.deepEqual(only(out.deliveries(), "message"), [
    {
      to: { kind: "user", userId: "alice" },
      event: "message",
      payload: message(8, "bob", "agent", "hello"),
    },
    {
      to: { kind: "agent", userId: "bob" },
      except: "bob-s1",
      event: "message",
      payload: message(8, "bob", "agent", "hello"),
    },
  ]);
  const unread = out.deliveries().find((d) => d.event === "conversation");
  assert.deepEqual([unread?.to, unread?.payload.unread], [{ kind: "user", userId: "alice" }, 1]);
});

Deno.test("decide() SendMessage in an open conversation does not open another", () => {
  given(ev.opened("alice"), ev.queued("alice", "message")).when(cmd.send(alice, "alice", "again"))
    .then(ev.sent("alice", "alice", "user", "again"));
});

Deno.test("decide() SendMessage with blank content is rejected", () => {
  given().when(cmd.send(alice, "alice", "  \n ")).thenRejects("invalid_payload");
});

Deno.test("decide() SendMessage from a bot is rejected", () => {
  given().when(cmd.send({ userId: "b", role: "bot" }, "alice", "hi")).thenRejects("forbidden");
});

Deno.test("decide() SendMessage from a user into another user's conversation is rejected", () => {
  given().when(cmd.send(alice, "carol", "psst")).thenRejects("forbidden");
});

Deno.test("deliveries() a user's message sent with no agent online reaches the first agent who connects", () => {
  const history = [
    MANUAL,
    ev.connected("alice", "user"),
    ev.opened("alice"),
    ev.handedOff("alice", "needs a refund"),
    ev.queued("alice"),
    ev.sent("alice", "alice", "user", "anyone?"),
  ];
  const out = given(...history).when(cmd.connect("bob", "agent")).then(
    ev.connected("bob", "agent"),
  );
  const socket = { kind: "socket", socketId: "bob-s1" } as const;
  assert.deepEqual(only(out.deliveries(), "user_list", "chatbot_context", "message"), [
    { to: socket, event: "user_list", payload: { users: ["alice"] } },
    {
      to: socket,
      event: "chatbot_context",
      payload: { context: "needs a refund", user_id: "alice" },
    },
    { to: socket, event: "message", payload: message(6, "alice", "user", "anyone?") },
  ]);
  // While the conversation waits, the next agent to connect is shown them too; bob's second
  // tab is not shown them again; once it is assigned, nobody is.
  const later = given(...history, ev.connected("bob", "agent")).when(cmd.connect("dave", "agent"))
    .then(ev.connected("dave", "agent"));
  assert.deepEqual(only(later.deliveries(), "message").map((d) => d.payload.content), ["anyone?"]);
  const tab = given(...history, ev.connected("bob", "agent")).when(
    cmd.connect("bob", "agent", "bob-s2"),
  ).thenOnlyNotifies();
  assert.deepEqual(only([...tab], "message", "chatbot_context"), []);
  const assigned = given(
    ...history,
    ev.connected("bob", "agent"),
    ev.assigned("alice", "bob", "claim"),
  );
  assert.deepEqual(
    only(
      assigned.when(cmd.connect("dave", "agent")).then(ev.connected("dave", "agent")).deliveries(),
      "message",
    ),
    [],
  );
});

Deno.test("deliveries() an agent's message to an offline user reaches the user's next connection", () => {
  const history = [
    ev.opened("alice"),
    ev.queued("alice"),
    ev.sent("alice", "bob", "agent", "we fixed it"),
  ];
  const out = given(...history).when(cmd.connect("alice", "user")).then(
    ev.connected("alice", "user"),
  );
  assert.deepEqual(only(out.deliveries(), "message", "user_connected"), [
    { to: AGENTS, event: "user_connected", payload: { user_id: "alice" } },
    {
      to: { kind: "socket", socketId: "alice-s1" },
      event: "message",
      payload: message(3, "bob", "agent", "we fixed it"),
    },
  ]);
  const after = given(...history, ev.connected("alice", "user"));
  assert.deepEqual(after.state.conversations.get("alice")?.forUser, []);
});

// TransferToAgent ---------------------------------------------------------------------

Deno.test("decide() TransferToAgent opens and queues a conversation and sends the context to the user and agents", () => {
  const out = given(MANUAL, ev.connected("alice", "user"), ev.connected("bob", "agent"))
    .when(cmd.handoff("alice", "wants a human"))
    .then(ev.opened("alice"), ev.handedOff("alice", "wants a human"), ev.queued("alice"));
  assert.deepEqual(only(out.deliveries(), "chatbot_context"), [
    {
      to: { kind: "user", userId: "alice" },
      event: "chatbot_context",
      payload: { context: "wants a human" },
    },
    {
      to: AGENTS,
      event: "chatbot_context",
      payload: { context: "wants a human", user_id: "alice" },
    },
  ]);
});

Deno.test("decide() TransferToAgent during an open conversation adds context, never a second conversation", () => {
  const history = [ev.opened("alice"), ev.handedOff("alice", "first"), ev.queued("alice")];
  given(...history).when(cmd.handoff("alice", "second")).then(ev.handedOff("alice", "second"));
  const state = given(...history, ev.handedOff("alice", "second")).state;
  assert.equal(state.conversations.get("alice")?.context, "second");
  assert.equal(state.conversations.size, 1);
  assert.deepEqual(state.queue, ["alice"]);
});

Deno.test("evolve() counts every event in the state's version", () => {
  assert.equal(given(ev.opened("alice"), ev.sent("alice", "alice", "user", "x")).state.version, 2);
});

Deno.test("decide() SendMessage resent with the same client id is answered with the first send and records nothing", () => {
  const send = (text: string, clientId: string) => ({
    type: "SendMessage" as const,
    data: {
      sender: alice,
      userId: "alice",
      text,
      messageId: `m-${text}`,
      conversationId: "c-alice",
      clientId,
      at,
    },
  });
  const first = given(MANUAL, ev.opened("alice"), ev.queued("alice", "message")).when(
    send("hi", "k1"),
  );
  first.then({
    type: "MessageSent",
    at,
    data: {
      messageId: "m-hi",
      conversationId: "c-alice",
      userId: "alice",
      senderId: "alice",
      senderRole: "user",
      text: "hi",
      clientId: "k1",
    },
  });
  const sent = {
    type: "MessageSent" as const,
    at,
    data: {
      messageId: "m-hi",
      conversationId: "c-alice",
      userId: "alice",
      senderId: "alice",
      senderRole: "user" as const,
      text: "hi",
      clientId: "k1",
    },
  };
  const again = given(MANUAL, ev.opened("alice"), ev.queued("alice", "message"), sent);
  const decision = decide(again.state, send("hi", "k1"));
  assert.deepEqual(decision, {
    ok: true,
    events: [],
    duplicateOf: { clientId: "k1", messageId: "m-hi", conversationId: "c-alice", seq: 4 },
  });
  // Another sender may use the same client id.
  const bobSends = decide(again.state, {
    ...send("yo", "k1"),
    data: { ...send("yo", "k1").data, sender: bob },
  });
  assert.ok(bobSends.ok && bobSends.events.length > 0);
});
