import assert from "node:assert/strict";
import type { CompanyCommand, Delivery } from "../../domain/mod.ts";
import { at, ev, given } from "./_spec.ts";

const AGENTS = { kind: "agents" } as const;

function connect(
  userId: string,
  role: "user" | "agent" | "bot",
  socketId = `${userId}-s1`,
): CompanyCommand {
  return { type: "Connect", data: { userId, role, socketId, at } };
}
function disconnect(
  userId: string,
  role: "user" | "agent",
  socketId = `${userId}-s1`,
): CompanyCommand {
  return { type: "Disconnect", data: { userId, role, socketId, at } };
}
function send(
  sender: { userId: string; role: "user" | "agent" | "bot" },
  userId: string,
  text: string,
  socketId?: string,
): CompanyCommand {
  return {
    type: "SendMessage",
    data: {
      sender,
      userId,
      text,
      messageId: `m-${text}`,
      conversationId: `c-${userId}`,
      socketId,
      at,
    },
  };
}
function transfer(userId: string, context: string): CompanyCommand {
  return { type: "TransferToAgent", data: { userId, context, conversationId: `c-${userId}`, at } };
}
const alice = { userId: "alice", role: "user" } as const;
const bob = { userId: "bob", role: "agent" } as const;

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
  const spec = given(ev.connected("bob", "agent")).when(connect("alice", "user"));
  const out = spec.then(ev.connected("alice", "user"));
  assert.deepEqual(
    out.deliveries(),
    [
      { to: AGENTS, event: "user_connected", payload: { user_id: "alice" } },
    ] satisfies Delivery[],
  );
});

Deno.test("decide() Connect of an agent sends that socket the online users", () => {
  const spec = given(ev.connected("alice", "user"), ev.connected("carol", "user"))
    .when(connect("bob", "agent"));
  assert.deepEqual(spec.then(ev.connected("bob", "agent")).deliveries(), [
    {
      to: { kind: "socket", socketId: "bob-s1" },
      event: "user_list",
      payload: { users: ["alice", "carol"] },
    },
  ]);
});

Deno.test("decide() Connect of a user's second tab does not announce them again", () => {
  const spec = given(ev.connected("alice", "user")).when(connect("alice", "user", "alice-s2"));
  assert.deepEqual(spec.then(ev.connected("alice", "user", "alice-s2")).deliveries(), []);
});

Deno.test("decide() Connect of a socket already connected changes nothing", () => {
  given(ev.connected("alice", "user")).when(connect("alice", "user")).thenNothingHappened();
});

Deno.test("decide() Connect with a bot identity is rejected", () => {
  given().when(connect("botty", "bot")).thenRejects("forbidden");
});

Deno.test("decide() Disconnect of a user's last socket tells the agents", () => {
  const spec = given(ev.connected("alice", "user")).when(disconnect("alice", "user"));
  assert.deepEqual(spec.then(ev.disconnected("alice", "user")).deliveries(), [
    { to: AGENTS, event: "user_disconnected", payload: { user_id: "alice" } },
  ]);
});

Deno.test("decide() Disconnect of one of two tabs keeps the user online", () => {
  const history = [ev.connected("alice", "user"), ev.connected("alice", "user", "alice-s2")];
  const spec = given(...history).when(disconnect("alice", "user"));
  assert.deepEqual(spec.then(ev.disconnected("alice", "user")).deliveries(), []);
  const after = given(...history, ev.disconnected("alice", "user"));
  assert.deepEqual(after.state.users.get("alice"), ["alice-s2"]);
});

Deno.test("decide() Disconnect of an unknown socket changes nothing", () => {
  given().when(disconnect("alice", "user")).thenNothingHappened();
});

Deno.test("decide() Disconnect of an agent is recorded and announced to nobody", () => {
  const spec = given(ev.connected("bob", "agent")).when(disconnect("bob", "agent"));
  assert.deepEqual(spec.then(ev.disconnected("bob", "agent")).deliveries(), []);
});

Deno.test("decide() ResetPresence clears everyone online, and does nothing when nobody is", () => {
  given().when({ type: "ResetPresence", data: { at } }).thenNothingHappened();
  const spec = given(ev.connected("alice", "user"), ev.connected("bob", "agent"))
    .when({ type: "ResetPresence", data: { at } });
  const reset = { type: "PresenceReset", at, data: {} } as const;
  assert.deepEqual(spec.then(reset).deliveries(), []);
  const state = given(ev.connected("alice", "user"), reset).state;
  assert.equal(state.users.size, 0);
});

// SendMessage -------------------------------------------------------------------------

Deno.test("decide() SendMessage from a user opens a conversation and reaches every agent", () => {
  const spec = given(ev.connected("alice", "user"), ev.connected("bob", "agent"))
    .when(send(alice, "alice", "hi", "alice-s1"));
  const out = spec.then(
    ev.opened("alice"),
    ev.sent("alice", "alice", "user", "hi", "m-hi", "alice-s1"),
  );
  assert.deepEqual(out.deliveries(), [
    { to: AGENTS, event: "message", payload: message(4, "alice", "user", "hi") },
    {
      to: { kind: "user", userId: "alice" },
      except: "alice-s1",
      event: "message",
      payload: message(4, "alice", "user", "hi"),
    },
  ]);
});

Deno.test("decide() SendMessage from an agent reaches the named user and the agent's other tabs", () => {
  const spec = given(ev.connected("alice", "user"), ev.opened("alice"))
    .when(send(bob, "alice", "hello", "bob-s1"));
  const out = spec.then(ev.sent("alice", "bob", "agent", "hello", "m-hello", "bob-s1"));
  assert.deepEqual(out.deliveries(), [
    {
      to: { kind: "user", userId: "alice" },
      event: "message",
      payload: message(3, "bob", "agent", "hello"),
    },
    {
      to: { kind: "agent", userId: "bob" },
      except: "bob-s1",
      event: "message",
      payload: message(3, "bob", "agent", "hello"),
    },
  ]);
});

Deno.test("decide() SendMessage in an open conversation does not open another", () => {
  given(ev.opened("alice")).when(send(alice, "alice", "again"))
    .then(ev.sent("alice", "alice", "user", "again"));
});

Deno.test("decide() SendMessage with blank content is rejected", () => {
  given().when(send(alice, "alice", "  \n ")).thenRejects("invalid_payload");
});

Deno.test("decide() SendMessage from a bot is rejected", () => {
  given().when(send({ userId: "b", role: "bot" }, "alice", "hi")).thenRejects("forbidden");
});

Deno.test("decide() SendMessage from a user into another user's conversation is rejected", () => {
  given().when(send(alice, "carol", "psst")).thenRejects("forbidden");
});

Deno.test("deliveries() a user's message sent with no agent online reaches the first agent who connects", () => {
  const history = [
    ev.connected("alice", "user"),
    ev.opened("alice"),
    ev.handedOff("alice", "needs a refund"),
    ev.sent("alice", "alice", "user", "anyone?"),
  ];
  const spec = given(...history).when(connect("bob", "agent"));
  const socket = { kind: "socket", socketId: "bob-s1" } as const;
  assert.deepEqual(spec.then(ev.connected("bob", "agent")).deliveries(), [
    { to: socket, event: "user_list", payload: { users: ["alice"] } },
    {
      to: socket,
      event: "chatbot_context",
      payload: { context: "needs a refund", user_id: "alice" },
    },
    { to: socket, event: "message", payload: message(4, "alice", "user", "anyone?") },
  ]);
  // Once an agent has them, the next agent gets only the list.
  const later = given(...history, ev.connected("bob", "agent")).when(connect("dave", "agent"));
  assert.deepEqual(later.then(ev.connected("dave", "agent")).deliveries().map((d) => d.event), [
    "user_list",
  ]);
});

Deno.test("deliveries() an agent's message to an offline user reaches the user's next connection", () => {
  const history = [ev.opened("alice"), ev.sent("alice", "bob", "agent", "we fixed it")];
  const spec = given(...history).when(connect("alice", "user"));
  assert.deepEqual(spec.then(ev.connected("alice", "user")).deliveries(), [
    { to: AGENTS, event: "user_connected", payload: { user_id: "alice" } },
    {
      to: { kind: "socket", socketId: "alice-s1" },
      event: "message",
      payload: message(2, "bob", "agent", "we fixed it"),
    },
  ]);
  const after = given(...history, ev.connected("alice", "user"));
  assert.deepEqual(after.state.conversations.get("alice")?.forUser, []);
});

// TransferToAgent ---------------------------------------------------------------------

Deno.test("decide() TransferToAgent opens a conversation and sends the context to the user and agents", () => {
  const spec = given(ev.connected("alice", "user"), ev.connected("bob", "agent"))
    .when(transfer("alice", "wants a human"));
  const out = spec.then(ev.opened("alice"), ev.handedOff("alice", "wants a human"));
  assert.deepEqual(out.deliveries(), [
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

Deno.test("decide() TransferToAgent during an open conversation adds context to it", () => {
  const spec = given(ev.opened("alice"), ev.handedOff("alice", "first")).when(
    transfer("alice", "second"),
  );
  spec.then(ev.handedOff("alice", "second"));
  const state =
    given(ev.opened("alice"), ev.handedOff("alice", "first"), ev.handedOff("alice", "second"))
      .state;
  assert.equal(state.conversations.get("alice")?.context, "second");
  assert.equal(state.conversations.size, 1);
});

Deno.test("evolve() counts every event in the state's version", () => {
  assert.equal(given(ev.opened("alice"), ev.sent("alice", "alice", "user", "x")).state.version, 2);
});
