/**
 * A support team's tools (issue 15): private notes (a transfer's too), ratings, canned
 * responses, attachments on messages, whom users are told is available, and an agent's own
 * status on connect.
 */
import assert from "node:assert/strict";
import {
  type Delivery,
  fold,
  fromSnapshot,
  resumeDeliveries,
  type Snapshot,
  toSnapshot,
} from "../../domain/mod.ts";
import {
  addNote,
  assigned,
  at,
  cannedSet,
  connect,
  connected,
  disconnect,
  disconnected,
  given,
  handedOff,
  MANUAL,
  markRead,
  noted,
  opened,
  queued,
  rate,
  rated,
  resolved,
  send,
  sent,
  setCanned,
  setStatus,
  statusChanged,
  transfer,
  transferred,
} from "./_spec.ts";

const online = (agent: string) => connected({ user: agent, role: "agent" });
const only = (deliveries: Delivery[], ...events: string[]) =>
  deliveries.filter((d) => events.includes(d.event));
const AGENTS = { kind: "agents" } as const;
const USERS = { kind: "users" } as const;
const seconds = Math.floor(at / 1000);

/** Ann handed over and assigned to bob, who is online (seqs 1 … 6). */
const annWithBob = [
  MANUAL,
  online("bob"),
  opened({ user: "ann" }),
  handedOff({ user: "ann", context: "refund" }),
  queued({ user: "ann" }),
  assigned({ user: "ann", agent: "bob", by: "claim" }),
];

// Notes -----------------------------------------------------------------------------------

Deno.test("decide() AddNote records an agent's note and shows it to the agents only", () => {
  const out = given(...annWithBob, connected({ user: "ann", role: "user" }))
    .when(addNote({ agent: "bob", user: "ann", text: "VIP, be quick" }))
    .then(noted({ agent: "bob", user: "ann", text: "VIP, be quick" }));
  assert.deepEqual(out.deliveries(), [{
    to: AGENTS,
    event: "note",
    payload: {
      id: "n-VIP, be quick",
      seq: 8,
      conversation_id: "c-ann",
      user_id: "ann",
      agent_id: "bob",
      content: "VIP, be quick",
      timestamp: seconds,
    },
  }]);
});

Deno.test("decide() AddNote needs some content and a conversation", () => {
  given(...annWithBob).when(addNote({ agent: "bob", user: "ann", text: "  " }))
    .thenRejects("invalid_payload");
  given(...annWithBob).when(addNote({ agent: "bob", user: "zed", text: "who?" }))
    .thenRejects("not_found");
});

Deno.test("decide() AddNote on a conversation closed a moment ago is kept with it", () => {
  const closed = [...annWithBob, resolved({ user: "ann", agent: "bob", returnToBot: false })];
  given(...closed).when(addNote({ agent: "bob", user: "ann", text: "refunded" }))
    .then(noted({ agent: "bob", user: "ann", text: "refunded" }));
});

Deno.test("decide() Transfer with a note records it as a note the receiving agent is shown", () => {
  const history = [...annWithBob, online("carol"), connected({ user: "ann", role: "user" })];
  const out = given(...history)
    .when(
      transfer({ agent: "bob", user: "ann", to: "carol", note: "wants a refund", noteId: "n1" }),
    )
    .then(
      transferred({ user: "ann", from: "bob", to: "carol", note: "wants a refund" }),
      noted({ agent: "bob", user: "ann", text: "wants a refund", id: "n1", to: "carol" }),
    );
  const notes = only(out.deliveries(), "note");
  assert.deepEqual(notes, [{
    to: AGENTS,
    event: "note",
    payload: {
      id: "n1",
      seq: 10,
      conversation_id: "c-ann",
      user_id: "ann",
      agent_id: "bob",
      content: "wants a refund",
      timestamp: seconds,
      to_agent_id: "carol",
    },
  }]);
  // A transfer without a note records no note.
  given(...history).when(transfer({ agent: "bob", user: "ann", to: "carol", noteId: "n1" }))
    .then(transferred({ user: "ann", from: "bob", to: "carol" }));
});

Deno.test("resumeDeliveries() replays a note to a reconnecting agent and never to the user", () => {
  const note = noted({ agent: "bob", user: "ann", text: "private" });
  assert.deepEqual(resumeDeliveries(note, 9, { role: "user", userId: "ann" }), []);
  assert.deepEqual(
    resumeDeliveries(note, 9, { role: "agent", userId: "carol" }).map((d) => d.event),
    ["note"],
  );
});

// Ratings ---------------------------------------------------------------------------------

const closed = [...annWithBob, resolved({ user: "ann", agent: "bob", returnToBot: false })];

Deno.test("decide() Rate of a conversation an agent closed records the rating, once", () => {
  const out = given(...closed).when(rate({ user: "ann", score: 5, comment: "quick!" }))
    .then(rated({ user: "ann", agent: "bob", score: 5, comment: "quick!" }));
  const rating = { score: 5, comment: "quick!" };
  assert.deepEqual(
    out.deliveries().map((d) => [d.to, d.event, d.payload.rating ?? d.payload]),
    [
      [AGENTS, "rating", {
        seq: 8,
        conversation_id: "c-ann",
        user_id: "ann",
        agent_id: "bob",
        score: 5,
        comment: "quick!",
        timestamp: seconds,
      }],
      [{ kind: "user", userId: "ann" }, "conversation", rating],
      [AGENTS, "conversation", rating],
    ],
  );
  given(...closed, rated({ user: "ann", agent: "bob", score: 5 }))
    .when(rate({ user: "ann", score: 1 })).thenRejects("conflict");
});

Deno.test("decide() Rate before any resolution, of nothing, or out of 1–5 is refused", () => {
  given(...annWithBob).when(rate({ user: "ann", score: 4 })).thenRejects("conflict");
  given(...closed).when(rate({ user: "zed", score: 4 })).thenRejects("not_found");
  for (const score of [0, 6, 2.5]) {
    given(...closed).when(rate({ user: "ann", score })).thenRejects("invalid_payload");
  }
});

Deno.test("decide() Rate after a return to the bot rates that conversation; a blank comment is none", () => {
  const back = [...annWithBob, resolved({ user: "ann", agent: "bob", returnToBot: true })];
  given(...back).when(rate({ user: "ann", score: 3, comment: "  " }))
    .then(rated({ user: "ann", agent: "bob", score: 3 }));
});

Deno.test("decide() a new conversation replaces the closed one: the old one can no longer be rated", () => {
  given(...closed, opened({ user: "ann", conversation: "c-ann-2" }))
    .when(rate({ user: "ann", score: 4 })).thenRejects("conflict");
});

Deno.test("resumeDeliveries() replays a rating to agents only", () => {
  const rating = rated({ user: "ann", agent: "bob", score: 2 });
  assert.deepEqual(resumeDeliveries(rating, 8, { role: "user", userId: "ann" }), []);
  assert.deepEqual(
    resumeDeliveries(rating, 8, { role: "agent", userId: "bob" }).map((d) => d.event),
    ["rating"],
  );
});

// Read marks ------------------------------------------------------------------------------

Deno.test("deliveries() agents are told how far the user has read, also when they connect later", () => {
  const history = [
    ...annWithBob,
    connected({ user: "ann", role: "user" }),
    sent({ from: "bob", role: "agent", user: "ann", text: "hello" }), // seq 8
  ];
  const out = given(...history).when(markRead({ user: "ann", reader: "ann", role: "user", seq: 8 }))
    .then({
      type: "MessagesRead",
      at,
      data: { conversationId: "c-ann", userId: "ann", readerId: "ann", readerRole: "user", seq: 8 },
    });
  assert.deepEqual(
    only(out.deliveries(), "read").map((d) => [d.to, d.payload]),
    [
      [{ kind: "user", userId: "ann" }, { user_id: "ann", reader: "ann", role: "user", seq: 8 }],
      [AGENTS, { user_id: "ann", reader: "ann", role: "user", seq: 8 }],
    ],
  );
  const read = out.deliveries().find((d) => d.event === "conversation" && d.to.kind === "agents");
  assert.equal(read?.payload.user_read_seq, 8);
});

// Canned responses ------------------------------------------------------------------------

Deno.test("decide() SetCannedResponses replaces the list; the same list records nothing", () => {
  const hi = { shortcut: "hi", title: "Greeting", text: "Hello, how can I help?" };
  const bye = { shortcut: "bye", title: "Goodbye", text: "Have a nice day" };
  given().when(setCanned([hi])).then(cannedSet([hi]));
  given(cannedSet([hi])).when(setCanned([hi])).thenNothingHappened();
  given(cannedSet([hi])).when(setCanned([bye, hi])).then(cannedSet([bye, hi]));
  given(cannedSet([hi])).when(setCanned([])).then(cannedSet([]));
  assert.deepEqual(given(cannedSet([hi]), cannedSet([bye])).view((s) => s.cannedResponses), [bye]);
});

// Attachments -----------------------------------------------------------------------------

const invoice = { id: "f1", name: "invoice.pdf", size: 1234, contentType: "application/pdf" };

Deno.test("decide() SendMessage with attachments lists them in the message, even with no text", () => {
  const history = [...annWithBob, connected({ user: "ann", role: "user" })];
  const out = given(...history).when(send({ from: "ann", text: "", attachments: [invoice] }))
    .then(sent({ from: "ann", text: "", attachments: [invoice] }));
  const message = only(out.deliveries(), "message")[0];
  assert.deepEqual(message.payload.attachments, [
    { id: "f1", name: "invoice.pdf", size: 1234, content_type: "application/pdf" },
  ]);
  given(...history).when(send({ from: "ann", text: "" })).thenRejects("invalid_payload");
});

Deno.test("deliveries() a message with attachments kept while no agent was online keeps them", () => {
  const withFile = sent({ from: "ann", text: "see attached", attachments: [invoice] });
  const out = given(
    opened({ user: "ann" }),
    handedOff({ user: "ann", context: "x" }),
    MANUAL,
    queued({ user: "ann" }),
    withFile,
  ).when(connect({ user: "bob", role: "agent" })).then(online("bob"));
  const kept = only(out.deliveries(), "message");
  assert.equal(kept.length, 1);
  assert.deepEqual(kept[0].payload.attachments, [
    { id: "f1", name: "invoice.pdf", size: 1234, content_type: "application/pdf" },
  ]);
});

// Availability ----------------------------------------------------------------------------

const availability = (d: Delivery[]) =>
  only(d, "availability").map((x) => [x.to, x.payload.agents_online]);

Deno.test("deliveries() a user connecting is told whether an agent is available", () => {
  const alone = given().when(connect({ user: "ann", role: "user" }))
    .then(connected({ user: "ann", role: "user" }));
  const socket = { kind: "socket", socketId: "ann-s1" };
  assert.deepEqual(availability(alone.deliveries()), [[socket, false]]);
  const staffed = given(online("bob")).when(connect({ user: "ann", role: "user" }))
    .then(connected({ user: "ann", role: "user" }));
  assert.deepEqual(availability(staffed.deliveries()), [[socket, true]]);
  // An agent who is away does not count.
  const away = given(online("bob"), statusChanged({ agent: "bob", status: "away" }))
    .when(connect({ user: "ann", role: "user" })).then(connected({ user: "ann", role: "user" }));
  assert.deepEqual(availability(away.deliveries()), [[socket, false]]);
});

Deno.test("deliveries() users are told only when the company goes from no available agent to one, or back", () => {
  const ann = connected({ user: "ann", role: "user" });
  // The first agent online: one delivery to every user.
  const first = given(ann).when(connect({ user: "bob", role: "agent" })).then(online("bob"));
  assert.deepEqual(availability(first.deliveries()), [[USERS, true]]);
  // A second one: nothing changes for users.
  const second = given(ann, online("bob")).when(connect({ user: "carol", role: "agent" }))
    .then(online("carol"));
  assert.deepEqual(availability(second.deliveries()), []);
  // The only available agent steps away, then back.
  const away = given(ann, online("bob")).when(setStatus({ agent: "bob", status: "away" }))
    .then(statusChanged({ agent: "bob", status: "away" }));
  assert.deepEqual(availability(away.deliveries()), [[USERS, false]]);
  const back = given(ann, online("bob"), statusChanged({ agent: "bob", status: "away" }))
    .when(setStatus({ agent: "bob", status: "available" }))
    .then(statusChanged({ agent: "bob", status: "available" }));
  assert.deepEqual(availability(back.deliveries()), [[USERS, true]]);
  // One of two leaving changes nothing; the last leaving does.
  const oneLeft = given(ann, online("bob"), online("carol"))
    .when(disconnect({ user: "bob", role: "agent" }))
    .then(disconnected({ user: "bob", role: "agent" }));
  assert.deepEqual(availability(oneLeft.deliveries()), []);
  const lastLeft = given(ann, online("bob")).when(disconnect({ user: "bob", role: "agent" }))
    .then(disconnected({ user: "bob", role: "agent" }));
  assert.deepEqual(availability(lastLeft.deliveries()), [[USERS, false]]);
  // An away agent leaving changes nothing for users.
  const awayLeft = given(ann, online("bob"), statusChanged({ agent: "bob", status: "away" }))
    .when(disconnect({ user: "bob", role: "agent" }))
    .then(disconnected({ user: "bob", role: "agent" }));
  assert.deepEqual(availability(awayLeft.deliveries()), []);
});

// An agent's own status -------------------------------------------------------------------

Deno.test("deliveries() an agent's second tab is shown its own status (away) among the agents", () => {
  const notify = given(
    online("bob"),
    online("carol"),
    statusChanged({ agent: "bob", status: "away" }),
  ).when(connect({ user: "bob", role: "agent", socket: "bob-s2" })).thenOnlyNotifies();
  assert.deepEqual(
    only([...notify], "agent_status").map((d) => [d.to, d.payload.agent_id, d.payload.status]),
    [
      [{ kind: "socket", socketId: "bob-s2" }, "bob", "away"],
      [{ kind: "socket", socketId: "bob-s2" }, "carol", "available"],
    ],
  );
});

Deno.test("deliveries() an agent coming online is shown its own status once, and the others are told", () => {
  const out = given(online("carol")).when(connect({ user: "bob", role: "agent" }))
    .then(online("bob"));
  assert.deepEqual(
    only(out.deliveries(), "agent_status").map((d) => [d.to, d.except, d.payload.agent_id]),
    [
      [{ kind: "socket", socketId: "bob-s1" }, undefined, "carol"],
      [{ kind: "socket", socketId: "bob-s1" }, undefined, "bob"],
      [AGENTS, "bob-s1", "bob"],
    ],
  );
});

// Snapshots -------------------------------------------------------------------------------

Deno.test("fromSnapshot() keeps canned responses, ratings and read marks; an older snapshot has none", () => {
  const events = [
    ...closed,
    rated({ user: "ann", agent: "bob", score: 4 }),
    cannedSet([{ shortcut: "hi", title: "Hi", text: "Hello" }]),
    online("carol"),
  ];
  const state = fold(events);
  const snapshot = JSON.parse(JSON.stringify(toSnapshot(state))) as Snapshot;
  assert.deepEqual(toSnapshot(fromSnapshot(snapshot)!), toSnapshot(state));
  assert.equal(fromSnapshot(snapshot)!.availableAgents, 2);
  const { cannedResponses: _, ...older } = snapshot;
  assert.deepEqual(fromSnapshot(older as Snapshot)!.cannedResponses, []);
});

Deno.test("deliveries() with 10,000 users online, an availability flip is one delivery, not one per user", () => {
  const users = Array.from(
    { length: 10_000 },
    (_, i) => connected({ user: `u${i}`, role: "user" }),
  );
  const first = given(...users).when(connect({ user: "bob", role: "agent" })).then(online("bob"));
  assert.deepEqual(availability(first.deliveries()), [[USERS, true]]);
  // Everything but the agent's own socket's lists is bounded: one `availability`, one status.
  assert.deepEqual(
    first.deliveries().filter((d) => d.to.kind !== "socket").map((d) => d.event),
    ["agent_status", "availability"],
  );
});
