/** Presence, messages and handoff: the predecessor's flows, as domain specs. */
import assert from "node:assert/strict";
import type { Delivery } from "../../domain/mod.ts";
import {
  assigned,
  at,
  connect,
  connected,
  disconnect,
  disconnected,
  given,
  handedOff,
  handoff,
  MANUAL,
  opened,
  presenceReset,
  queued,
  resetPresence,
  send,
  sent,
} from "./_spec.ts";

const AGENTS = { kind: "agents" } as const;

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
  const out = given(connected({ user: "bob", role: "agent" })).when(
    connect({ user: "alice", role: "user" }),
  )
    .then(connected({ user: "alice", role: "user" }));
  assert.deepEqual(out.deliveries(), [
    { to: AGENTS, event: "user_connected", payload: { user_id: "alice" } },
    {
      to: { kind: "socket", socketId: "alice-s1" },
      event: "availability",
      payload: { agents_online: true },
    },
  ]);
});

Deno.test("decide() Connect of an agent sends that socket the online users and the queue", () => {
  const out = given(
    connected({ user: "alice", role: "user" }),
    connected({ user: "carol", role: "user" }),
  )
    .when(connect({ user: "bob", role: "agent" })).then(connected({ user: "bob", role: "agent" }));
  const socket = { kind: "socket", socketId: "bob-s1" };
  assert.deepEqual(only(out.deliveries(), "user_list", "queue"), [
    { to: socket, event: "user_list", payload: { users: ["alice", "carol"] } },
    { to: socket, event: "queue", payload: { queue: [], total: 0 } },
  ]);
});

Deno.test("decide() Connect of a user's second tab records nothing and does not announce them again", () => {
  const notify = given(connected({ user: "alice", role: "user" }), opened({ user: "alice" }))
    .when(connect({ user: "alice", role: "user", socket: "alice-s2" })).thenOnlyNotifies();
  // The tab is told what a first socket is told about the present, and nobody else is told.
  assert.deepEqual(notify.map((d) => [d.to, d.event]), [
    [{ kind: "socket", socketId: "alice-s2" }, "conversation"],
    [{ kind: "socket", socketId: "alice-s2" }, "availability"],
  ]);
});

Deno.test("decide() Connect of an agent's second tab records nothing and sends that tab the users and the queue", () => {
  const notify = given(
    connected({ user: "alice", role: "user" }),
    connected({ user: "bob", role: "agent" }),
  ).when(connect({ user: "bob", role: "agent", socket: "bob-s2" })).thenOnlyNotifies();
  const socket = { kind: "socket", socketId: "bob-s2" };
  assert.deepEqual(only([...notify], "user_list", "queue"), [
    { to: socket, event: "user_list", payload: { users: ["alice"] } },
    { to: socket, event: "queue", payload: { queue: [], total: 0 } },
  ]);
  assert.ok(notify.every((d) => d.to.kind === "socket"));
});

Deno.test("decide() Disconnect of an identity's last socket records it gone even if another socket was recorded", () => {
  const out = given(connected({ user: "alice", role: "user" }))
    .when({
      type: "Disconnect",
      data: { userId: "alice", role: "user", socketId: "alice-s9", at, last: true },
    })
    .then(disconnected({ user: "alice", role: "user" }));
  assert.deepEqual(out.deliveries(), [
    { to: AGENTS, event: "user_disconnected", payload: { user_id: "alice" } },
  ]);
  given(connected({ user: "alice", role: "user" }))
    .when(disconnect({ user: "alice", role: "user", socket: "alice-s9" }))
    .thenNothingHappened();
});

Deno.test("decide() Connect of a socket already connected changes nothing", () => {
  given(connected({ user: "alice", role: "user" })).when(connect({ user: "alice", role: "user" }))
    .thenNothingHappened();
});

Deno.test("decide() Connect with a bot identity is rejected", () => {
  given().when(connect({ user: "botty", role: "bot" })).thenRejects("forbidden");
});

Deno.test("decide() Disconnect of a user's last socket tells the agents", () => {
  const out = given(connected({ user: "alice", role: "user" })).when(
    disconnect({ user: "alice", role: "user" }),
  )
    .then(disconnected({ user: "alice", role: "user" }));
  assert.deepEqual(out.deliveries(), [
    { to: AGENTS, event: "user_disconnected", payload: { user_id: "alice" } },
  ]);
});

Deno.test("decide() Disconnect of one of two tabs keeps the user online", () => {
  const history = [
    connected({ user: "alice", role: "user" }),
    connected({ user: "alice", role: "user", socket: "alice-s2" }),
  ];
  const out = given(...history).when(disconnect({ user: "alice", role: "user" }))
    .then(disconnected({ user: "alice", role: "user" }));
  assert.deepEqual(out.deliveries(), []);
  // Online on her second tab only: an agent is shown her, and closing that tab announces her gone.
  const left = [...history, disconnected({ user: "alice", role: "user" })];
  const agent = given(...left).when(connect({ user: "bob", role: "agent" }))
    .then(connected({ user: "bob", role: "agent" }));
  assert.deepEqual(only(agent.deliveries(), "user_list"), [
    {
      to: { kind: "socket", socketId: "bob-s1" },
      event: "user_list",
      payload: { users: ["alice"] },
    },
  ]);
  const last = given(...left).when(disconnect({ user: "alice", role: "user", socket: "alice-s2" }))
    .then(disconnected({ user: "alice", role: "user", socket: "alice-s2" }));
  assert.deepEqual(only(last.deliveries(), "user_disconnected"), [
    { to: AGENTS, event: "user_disconnected", payload: { user_id: "alice" } },
  ]);
  given(...left).when(disconnect({ user: "alice", role: "user" })).thenNothingHappened();
});

Deno.test("decide() Disconnect of an unknown socket changes nothing", () => {
  given().when(disconnect({ user: "alice", role: "user" })).thenNothingHappened();
});

Deno.test("decide() Disconnect of an agent's last socket tells the agents they are offline", () => {
  const out = given(connected({ user: "bob", role: "agent" })).when(
    disconnect({ user: "bob", role: "agent" }),
  )
    .then(disconnected({ user: "bob", role: "agent" }));
  assert.deepEqual(out.deliveries(), [
    {
      to: AGENTS,
      event: "agent_status",
      payload: { agent_id: "bob", status: "offline", load: 0, capacity: 5 },
    },
    // The company's last available agent left: every user is told, in one delivery.
    { to: { kind: "users" }, event: "availability", payload: { agents_online: false } },
  ]);
});

Deno.test("decide() ResetPresence clears everyone online, and does nothing when nobody is", () => {
  given().when(resetPresence()).thenNothingHappened();
  const online = [
    connected({ user: "alice", role: "user" }),
    connected({ user: "bob", role: "agent" }),
  ];
  const out = given(...online).when(resetPresence()).then(presenceReset());
  assert.deepEqual(out.deliveries(), []);
  // Nobody is online after it: an agent connecting is shown no users and no other agent, and
  // the sockets from before are unknown (closing them records nothing).
  const reset = [...online, presenceReset()];
  const dave = given(...reset).when(connect({ user: "dave", role: "agent" }))
    .then(connected({ user: "dave", role: "agent" }));
  const daveStatus = { agent_id: "dave", status: "available", load: 0, capacity: 5 };
  assert.deepEqual(only(dave.deliveries(), "user_list", "agent_status").map((d) => d.payload), [
    { users: [] },
    daveStatus, // to the socket: its own status
    daveStatus, // to the other agents (none now)
  ]);
  given(...reset).when(disconnect({ user: "alice", role: "user" })).thenNothingHappened();
  given(...reset).when(disconnect({ user: "bob", role: "agent" })).thenNothingHappened();
});

// SendMessage -------------------------------------------------------------------------

Deno.test("decide() SendMessage from a user opens a queued conversation and reaches every agent", () => {
  const history = [
    MANUAL,
    connected({ user: "alice", role: "user" }),
    connected({ user: "bob", role: "agent" }),
  ];
  const out = given(...history)
    .when(send({ from: "alice", text: "hi", socket: "alice-s1" }))
    .then(
      opened({ user: "alice" }),
      queued({ user: "alice", reason: "message" }),
      sent({ from: "alice", text: "hi", socket: "alice-s1" }),
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
  const offline = given(MANUAL, connected({ user: "bob", role: "agent" }))
    .when(send({ from: "alice", text: "hi", socket: "alice-s1" }))
    .then(
      opened({ user: "alice" }),
      queued({ user: "alice", reason: "message" }),
      sent({ from: "alice", text: "hi", socket: "alice-s1" }),
    );
  assert.deepEqual(only(offline.deliveries(), "message").map((d) => d.to), [AGENTS]);
});

Deno.test("decide() SendMessage from an agent reaches the named user and the agent's other tabs", () => {
  const out = given(
    MANUAL,
    connected({ user: "alice", role: "user" }),
    connected({ user: "bob", role: "agent" }),
    connected({ user: "bob", role: "agent", socket: "bob-s2" }),
    opened({ user: "alice" }),
    queued({ user: "alice" }),
    assigned({ user: "alice", agent: "bob" }),
  )
    .when(send({ from: "bob", role: "agent", user: "alice", text: "hello", socket: "bob-s1" }))
    .then(sent({ from: "bob", role: "agent", user: "alice", text: "hello", socket: "bob-s1" }));
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
  given(opened({ user: "alice" }), queued({ user: "alice", reason: "message" })).when(
    send({ from: "alice", text: "again" }),
  )
    .then(sent({ from: "alice", text: "again" }));
});

Deno.test("decide() SendMessage with blank content is rejected", () => {
  given().when(send({ from: "alice", text: "  \n " })).thenRejects("invalid_payload");
});

Deno.test("decide() SendMessage from a bot is rejected", () => {
  given().when(send({ from: "b", role: "bot", user: "alice", text: "hi" })).thenRejects(
    "forbidden",
  );
});

Deno.test("decide() SendMessage from a user into another user's conversation is rejected", () => {
  given().when(send({ from: "alice", user: "carol", text: "psst" })).thenRejects("forbidden");
});

Deno.test("deliveries() a user's message sent with no agent online reaches the first agent who connects", () => {
  const history = [
    MANUAL,
    connected({ user: "alice", role: "user" }),
    opened({ user: "alice" }),
    handedOff({ user: "alice", context: "needs a refund" }),
    queued({ user: "alice" }),
    sent({ from: "alice", text: "anyone?" }),
  ];
  const out = given(...history).when(connect({ user: "bob", role: "agent" })).then(
    connected({ user: "bob", role: "agent" }),
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
  const later = given(...history, connected({ user: "bob", role: "agent" })).when(
    connect({ user: "dave", role: "agent" }),
  )
    .then(connected({ user: "dave", role: "agent" }));
  assert.deepEqual(only(later.deliveries(), "message").map((d) => d.payload.content), ["anyone?"]);
  const tab = given(...history, connected({ user: "bob", role: "agent" })).when(
    connect({ user: "bob", role: "agent", socket: "bob-s2" }),
  ).thenOnlyNotifies();
  assert.deepEqual(only([...tab], "message", "chatbot_context"), []);
  const taken = given(
    ...history,
    connected({ user: "bob", role: "agent" }),
    assigned({ user: "alice", agent: "bob", by: "claim" }),
  );
  assert.deepEqual(
    only(
      taken.when(connect({ user: "dave", role: "agent" })).then(
        connected({ user: "dave", role: "agent" }),
      ).deliveries(),
      "message",
    ),
    [],
  );
});

Deno.test("deliveries() an agent's message to an offline user reaches the user's next connection", () => {
  const history = [
    opened({ user: "alice" }),
    queued({ user: "alice" }),
    sent({ from: "bob", role: "agent", user: "alice", text: "we fixed it" }),
  ];
  const out = given(...history).when(connect({ user: "alice", role: "user" })).then(
    connected({ user: "alice", role: "user" }),
  );
  assert.deepEqual(only(out.deliveries(), "message", "user_connected"), [
    { to: AGENTS, event: "user_connected", payload: { user_id: "alice" } },
    {
      to: { kind: "socket", socketId: "alice-s1" },
      event: "message",
      payload: message(3, "bob", "agent", "we fixed it"),
    },
  ]);
  // Shown once: her next tab, and her next connection, are not shown it again.
  const after = [...history, connected({ user: "alice", role: "user" })];
  const tab = given(...after).when(connect({ user: "alice", role: "user", socket: "alice-s2" }))
    .thenOnlyNotifies();
  assert.deepEqual(only([...tab], "message"), []);
  const back = [...after, disconnected({ user: "alice", role: "user" })];
  const again = given(...back).when(connect({ user: "alice", role: "user" }))
    .then(connected({ user: "alice", role: "user" }));
  assert.deepEqual(only(again.deliveries(), "message"), []);
});

// TransferToAgent ---------------------------------------------------------------------

Deno.test("decide() TransferToAgent opens and queues a conversation and sends the context to the user and agents", () => {
  const out = given(
    MANUAL,
    connected({ user: "alice", role: "user" }),
    connected({ user: "bob", role: "agent" }),
  )
    .when(handoff({ user: "alice", context: "wants a human" }))
    .then(
      opened({ user: "alice" }),
      handedOff({ user: "alice", context: "wants a human" }),
      queued({ user: "alice" }),
    );
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
  const history = [
    opened({ user: "alice" }),
    handedOff({ user: "alice", context: "first" }),
    queued({ user: "alice" }),
  ];
  const out = given(...history).when(handoff({ user: "alice", context: "second" }))
    .then(handedOff({ user: "alice", context: "second" }));
  assert.deepEqual(only(out.deliveries(), "chatbot_context").map((d) => d.payload), [
    { context: "second" },
    { context: "second", user_id: "alice" },
  ]);
  // An agent who connects sees one conversation, still in the queue, with the new context.
  const bob = given(...history, handedOff({ user: "alice", context: "second" }))
    .when(connect({ user: "bob", role: "agent" })).then(
      connected({ user: "bob", role: "agent" }),
      assigned({ user: "alice", agent: "bob" }),
    );
  assert.deepEqual(only(bob.deliveries(), "queue")[0].payload, {
    queue: [{ user_id: "alice", conversation_id: "c-alice", position: 1, queued_at: at }],
    total: 1,
  });
  const shown = only(bob.deliveries(), "conversation").filter((d) => d.to.kind === "socket");
  assert.deepEqual(shown.map((d) => [d.payload.conversation_id, d.payload.context]), [
    ["c-alice", "second"],
  ]);
});

Deno.test("evolve() counts every event in the state's version: the next message gets the seq after them", () => {
  const out = given(
    opened({ user: "alice" }),
    queued({ user: "alice" }),
    sent({ from: "alice", text: "x" }),
  )
    .when(send({ from: "alice", text: "y" })).then(sent({ from: "alice", text: "y" }));
  assert.deepEqual(only(out.deliveries(), "message").map((d) => d.payload.seq), [4]);
});

Deno.test("decide() SendMessage resent with the same client id is answered with the first send and records nothing", () => {
  const waiting = [MANUAL, opened({ user: "alice" }), queued({ user: "alice", reason: "message" })];
  given(...waiting).when(send({ from: "alice", text: "hi", clientId: "k1" }))
    .then(sent({ from: "alice", text: "hi", clientId: "k1" }));
  const again = given(...waiting, sent({ from: "alice", text: "hi", clientId: "k1" }));
  again.when(send({ from: "alice", text: "hi", clientId: "k1" })).thenDuplicateOf({
    clientId: "k1",
    messageId: "m-hi",
    conversationId: "c-alice",
    seq: 4,
    at,
  });
  // Another sender may use the same client id: an agent's reply is recorded (and claims).
  again.when(send({ from: "bob", role: "agent", user: "alice", text: "yo", clientId: "k1" }))
    .then(
      assigned({ user: "alice", agent: "bob", by: "reply" }),
      sent({ from: "bob", role: "agent", user: "alice", text: "yo", clientId: "k1" }),
    );
});
