/**
 * What a resolved conversation still answers (its user's view, read receipts) once it has
 * left the live state, and the order open conversations are listed and requeued in.
 */
import assert from "node:assert/strict";
import type { Delivery } from "../../domain/mod.ts";
import {
  assigned,
  at,
  connect,
  connected,
  disconnected,
  expireGrace,
  given,
  handedOff,
  MANUAL,
  markRead,
  opened,
  queued,
  read,
  resolved,
  sent,
} from "./_spec.ts";

const online = (agent: string) => connected({ user: agent, role: "agent" });
const only = (deliveries: Delivery[], ...events: string[]) =>
  deliveries.filter((d) => events.includes(d.event));
const waiting = (user: string) => [
  opened({ user }),
  handedOff({ user, context: `help ${user}` }),
  queued({ user }),
];

/** Bob says goodbye to ann (who is away) and closes her conversation: seqs 1 … 8. */
const goodbye = [
  MANUAL,
  online("bob"),
  ...waiting("ann"),
  assigned({ user: "ann", agent: "bob", by: "claim" }),
  sent({ from: "bob", role: "agent", user: "ann", text: "bye" }), // seq 7
  resolved({ user: "ann", agent: "bob", returnToBot: false }),
];

const closedView = (unread: number) => ({
  conversation_id: "c-ann",
  user_id: "ann",
  status: "resolved",
  assignee: null,
  queue_position: null,
  context: "help ann",
  unread,
});

Deno.test("decide() MarkRead after the conversation was resolved records the read receipt", () => {
  const out = given(...goodbye).when(markRead({ user: "ann", reader: "ann", role: "user", seq: 7 }))
    .then(read({ user: "ann", reader: "ann", role: "user", seq: 7 }));
  assert.deepEqual(out.result, { kind: "read", seq: 7 });
  assert.deepEqual(
    out.deliveries().map((d) => [d.to.kind, d.event, d.payload]),
    [
      ["user", "read", { user_id: "ann", reader: "ann", role: "user", seq: 7 }],
      ["agents", "read", { user_id: "ann", reader: "ann", role: "user", seq: 7 }],
      // Agents can mark their messages read: the conversation says how far the user read.
      ["user", "conversation", { ...closedView(0), user_read_seq: 7 }],
      ["agents", "conversation", { ...closedView(0), user_read_seq: 7 }],
    ],
  );
  // Read once, nothing more to record; the agents' side had nothing unread.
  given(...goodbye, read({ user: "ann", reader: "ann", role: "user", seq: 7 }))
    .when(markRead({ user: "ann", reader: "ann", role: "user", seq: 7 })).thenNothingHappened();
  given(...goodbye).when(markRead({ user: "ann", reader: "bob", role: "agent", seq: 7 }))
    .thenNothingHappened();
  // A user with no conversation at all is still not found.
  given(...goodbye).when(markRead({ user: "ben", reader: "ben", role: "user", seq: 7 }))
    .thenRejects("not_found");
});

Deno.test("deliveries() a user reconnecting after a resolve is shown the resolved conversation and the goodbye kept for them, once", () => {
  const out = given(...goodbye).when(connect({ user: "ann", role: "user" }))
    .then(connected({ user: "ann", role: "user" }));
  assert.deepEqual(
    only(out.deliveries(), "conversation", "message", "queue").map((d) => [d.event, d.payload]),
    [
      ["conversation", closedView(1)],
      ["message", {
        from: "bob",
        content: "bye",
        timestamp: Math.floor(at / 1000),
        id: "m-bye",
        seq: 7,
        conversation_id: "c-ann",
        user_id: "ann",
        role: "agent",
      }],
    ],
  );
  // The goodbye was shown: the next connection gets the conversation, not the goodbye again.
  const again = given(
    ...goodbye,
    connected({ user: "ann", role: "user" }),
    disconnected({ user: "ann", role: "user" }),
  ).when(connect({ user: "ann", role: "user" })).then(connected({ user: "ann", role: "user" }));
  assert.deepEqual(
    only(again.deliveries(), "conversation", "message").map((d) => [d.event, d.payload]),
    [["conversation", closedView(1)]],
  );
  // A new conversation replaces the resolved one in the user's view.
  const next = given(...goodbye, opened({ user: "ann", conversation: "c-ann-2" }))
    .when(connect({ user: "ann", role: "user" })).then(connected({ user: "ann", role: "user" }));
  assert.deepEqual(
    only(next.deliveries(), "conversation").map((
      d,
    ) => [d.payload.conversation_id, d.payload.status]),
    [["c-ann-2", "bot"]],
  );
});

Deno.test("decide() open conversations are listed to an agent, and requeued by ExpireGrace, in the order they were opened", () => {
  // Opened zoe, amy, kim: not the order of their ids.
  const history = [
    MANUAL,
    online("bob"),
    ...waiting("zoe"),
    ...waiting("amy"),
    ...waiting("kim"),
    assigned({ user: "zoe", agent: "bob", by: "claim" }),
    assigned({ user: "kim", agent: "bob", by: "claim" }),
    assigned({ user: "amy", agent: "bob", by: "claim" }),
  ];
  const listed = given(...history).when(connect({ user: "dave", role: "agent" }))
    .then(connected({ user: "dave", role: "agent" }));
  assert.deepEqual(
    only(listed.deliveries(), "conversation").map((d) => d.payload.user_id),
    ["zoe", "amy", "kim"],
  );
  const gone = [...history, disconnected({ user: "bob", role: "agent" })];
  const when = at + 60_000;
  const out = given(...gone).when(expireGrace({ agent: "bob", when })).then(
    queued({ user: "kim", reason: "agent_offline", agent: "bob", when }),
    queued({ user: "amy", reason: "agent_offline", agent: "bob", when }),
    queued({ user: "zoe", reason: "agent_offline", agent: "bob", when }),
  );
  const shown = only(out.deliveries(), "queue").filter((d) => d.to.kind === "agents").at(-1);
  assert.deepEqual(
    (shown?.payload.queue as { user_id: string }[]).map((q) => q.user_id),
    ["zoe", "amy", "kim"],
  );
});
