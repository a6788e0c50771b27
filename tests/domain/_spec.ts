/**
 * `given(events).when(command).then(events)` specs for the company decider, and builders
 * that take an object for every command and event: `sent({ from: "alice", text: "hi" })`.
 *
 * A spec asserts what a command records (its events), what it tells whom (its deliveries)
 * and what it answers (its `result`); it does not read the state. Where a spec needs to
 * observe a state, it asks through a public query with `view` (e.g. `view(pendingTimers)`).
 */
import assert from "node:assert/strict";
import {
  type Attachment,
  type CompanyCommand,
  type CompanyEvent,
  type CompanyState,
  type DecisionResult,
  type Delivery,
  type ErrorCode,
  fold,
  type SentRecord,
  step,
} from "../../domain/mod.ts";

/** What an accepted command did, to assert on beyond its events. */
export interface Accepted {
  /** The deliveries of its events in order, then the ephemeral ones (typing). */
  deliveries(): Delivery[];
  /** Its answer beside the events (`conversation`, `read`, `settings`), if it has one. */
  readonly result: DecisionResult | undefined;
}

/** Starts a spec from a history of events. */
export function given(...history: CompanyEvent[]) {
  const state = fold(history);
  return {
    /** Decides `command` on the history, as the runtime steps it (events, then routing). */
    when(command: CompanyCommand) {
      const stepped = step(state, command);
      return {
        /** Accepted with exactly these events (none: recorded nothing, may still deliver). */
        then(...expected: CompanyEvent[]): Accepted {
          assert.ok(stepped.ok, `expected events, got ${JSON.stringify(stepped)}`);
          assert.deepEqual(stepped.events, expected);
          assert.equal(stepped.duplicateOf, undefined, "answered as a duplicate");
          return { deliveries: () => [...stepped.deliveries], result: stepped.result };
        },
        thenRejects(code: ErrorCode) {
          assert.ok(!stepped.ok, `expected a rejection, got ${JSON.stringify(stepped)}`);
          assert.equal(stepped.rejection.code, code);
        },
        /** Nothing is recorded; returns the deliveries sent all the same. */
        thenOnlyNotifies(): readonly Delivery[] {
          assert.ok(stepped.ok, `expected deliveries, got ${JSON.stringify(stepped)}`);
          assert.deepEqual(stepped.events, []);
          return stepped.deliveries;
        },
        /** Accepted with no events and nothing routed: its `result` may still answer it. */
        thenNothingHappened(): Accepted {
          assert.ok(stepped.ok, `expected no events, got ${JSON.stringify(stepped)}`);
          assert.deepEqual(
            { events: stepped.events, deliveries: stepped.deliveries, dup: stepped.duplicateOf },
            { events: [], deliveries: [], dup: undefined },
          );
          return { deliveries: () => [], result: stepped.result };
        },
        /** Accepted as a resend of a message already recorded: nothing new, nothing routed. */
        thenDuplicateOf(first: SentRecord) {
          assert.ok(stepped.ok, `expected a duplicate, got ${JSON.stringify(stepped)}`);
          assert.deepEqual(
            { events: stepped.events, deliveries: stepped.deliveries, dup: stepped.duplicateOf },
            { events: [], deliveries: [], dup: first },
          );
        },
      };
    },
    /**
     * What a public query (domain/views.ts, domain/state.ts, domain/timers.ts) says of the
     * state the history leads to: for what no command's events or deliveries show.
     */
    view<T>(query: (state: CompanyState) => T): T {
      return query(state);
    },
  };
}

/** The fixed time of specs. */
export const at = 1_764_043_200_123;

type Side = "user" | "agent";

// Events ---------------------------------------------------------------------------------

/** `SocketConnected`; the socket is `<user>-s1` unless named. */
export function connected(
  { user, role, socket = `${user}-s1`, resumed }: {
    user: string;
    role: Side;
    socket?: string;
    resumed?: boolean;
  },
): CompanyEvent {
  return {
    type: "SocketConnected",
    at,
    data: { userId: user, role, socketId: socket, ...(resumed ? { resumed } : {}) },
  };
}

/** `SocketDisconnected`; the socket is `<user>-s1` unless named. */
export function disconnected(
  { user, role, socket = `${user}-s1`, when = at }: {
    user: string;
    role: Side;
    socket?: string;
    when?: number;
  },
): CompanyEvent {
  return { type: "SocketDisconnected", at: when, data: { userId: user, role, socketId: socket } };
}

/** `ConversationOpened`; the conversation is `c-<user>` unless named. */
export function opened(
  { user, conversation = `c-${user}` }: { user: string; conversation?: string },
): CompanyEvent {
  return { type: "ConversationOpened", at, data: { conversationId: conversation, userId: user } };
}

/** `HandedOff` with the bot's context. */
export function handedOff({ user, context }: { user: string; context: string }): CompanyEvent {
  return { type: "HandedOff", at, data: { conversationId: `c-${user}`, userId: user, context } };
}

/** `ConversationQueued`; `agent` is who released it or went offline. */
export function queued(
  { user, reason = "handoff", agent, when = at, conversation = `c-${user}` }: {
    user: string;
    reason?: "handoff" | "message" | "released" | "agent_offline";
    agent?: string;
    when?: number;
    conversation?: string;
  },
): CompanyEvent {
  return {
    type: "ConversationQueued",
    at: when,
    data: {
      conversationId: conversation,
      userId: user,
      reason,
      ...(agent ? { agentId: agent } : {}),
    },
  };
}

/** `ConversationAssigned` to `agent`, automatically unless `by` says otherwise. */
export function assigned(
  { user, agent, by = "auto", when = at }: {
    user: string;
    agent: string;
    by?: "auto" | "claim" | "reply";
    when?: number;
  },
): CompanyEvent {
  return {
    type: "ConversationAssigned",
    at: when,
    data: { conversationId: `c-${user}`, userId: user, agentId: agent, by },
  };
}

/** `ConversationTransferred` from one agent to another. */
export function transferred(
  { user, from, to, note = "" }: { user: string; from: string; to: string; note?: string },
): CompanyEvent {
  return {
    type: "ConversationTransferred",
    at,
    data: { conversationId: `c-${user}`, userId: user, fromAgentId: from, toAgentId: to, note },
  };
}

/** `ConversationResolved` by `agent`, back to the bot or closed. */
export function resolved(
  { user, agent, returnToBot }: { user: string; agent: string; returnToBot: boolean },
): CompanyEvent {
  return {
    type: "ConversationResolved",
    at,
    data: { conversationId: `c-${user}`, userId: user, agentId: agent, returnToBot },
  };
}

/**
 * `MessageSent` by `from` (a user, unless `role` says otherwise) in `user`'s conversation
 * (`from`'s own by default); the ids are `m-<text>` and `c-<user>` unless named.
 */
export function sent(
  {
    from,
    text,
    role = "user",
    user = from,
    id = `m-${text}`,
    conversation = `c-${user}`,
    socket,
    clientId,
    transcript,
    attachments,
  }: {
    from: string;
    text: string;
    role?: Side | "bot";
    user?: string;
    id?: string;
    conversation?: string;
    socket?: string;
    clientId?: string;
    transcript?: boolean;
    attachments?: Attachment[];
  },
): CompanyEvent {
  return {
    type: "MessageSent",
    at,
    data: {
      messageId: id,
      conversationId: conversation,
      userId: user,
      senderId: from,
      senderRole: role,
      text,
      ...(socket === undefined ? {} : { socketId: socket }),
      ...(clientId === undefined ? {} : { clientId }),
      ...(transcript ? { transcript } : {}),
      ...(attachments ? { attachments } : {}),
    },
  };
}

/** `MessagesRead` of `user`'s conversation up to `seq`, by `reader` on `role`'s side. */
export function read(
  { user, reader, role, seq }: { user: string; reader: string; role: Side; seq: number },
): CompanyEvent {
  return {
    type: "MessagesRead",
    at,
    data: { conversationId: `c-${user}`, userId: user, readerId: reader, readerRole: role, seq },
  };
}

/** `AgentStatusChanged`. */
export function statusChanged(
  { agent, status }: { agent: string; status: "available" | "away" },
): CompanyEvent {
  return { type: "AgentStatusChanged", at, data: { agentId: agent, status } };
}

/** `SettingsChanged` with what changed. */
export function settingsChanged(changes: Record<string, unknown>): CompanyEvent {
  return { type: "SettingsChanged", at, data: changes };
}

/** `PresenceReset`: a restart forgot who was online. */
export function presenceReset({ when = at }: { when?: number } = {}): CompanyEvent {
  return { type: "PresenceReset", at: when, data: {} };
}

/** `NoteAdded` by `agent` on `user`'s conversation; the id is `n-<text>` unless named. */
export function noted(
  { agent, user, text, id = `n-${text}`, to }: {
    agent: string;
    user: string;
    text: string;
    id?: string;
    to?: string;
  },
): CompanyEvent {
  return {
    type: "NoteAdded",
    at,
    data: {
      noteId: id,
      conversationId: `c-${user}`,
      userId: user,
      agentId: agent,
      text,
      ...(to === undefined ? {} : { toAgentId: to }),
    },
  };
}

/** `ConversationRated` of `user`'s conversation, resolved by `agent`. */
export function rated(
  { user, agent, score, comment = null }: {
    user: string;
    agent: string;
    score: number;
    comment?: string | null;
  },
): CompanyEvent {
  return {
    type: "ConversationRated",
    at,
    data: { conversationId: `c-${user}`, userId: user, agentId: agent, score, comment },
  };
}

/** `CannedResponsesSet` with the whole list. */
export function cannedSet(
  responses: { shortcut: string; title: string; text: string }[],
): CompanyEvent {
  return { type: "CannedResponsesSet", at, data: { responses } };
}

/** Manual assignment, so specs can queue without auto-assigning. */
export const MANUAL = settingsChanged({ assignment: "manual" });

// Commands -------------------------------------------------------------------------------

/** `Connect`; the socket is `<user>-s1` unless named. */
export function connect(
  { user, role, socket = `${user}-s1`, when = at }: {
    user: string;
    role: Side | "bot";
    socket?: string;
    when?: number;
  },
): CompanyCommand {
  return { type: "Connect", data: { userId: user, role, socketId: socket, at: when } };
}

/** `Disconnect`; the socket is `<user>-s1` unless named. */
export function disconnect(
  { user, role, socket = `${user}-s1`, when = at }: {
    user: string;
    role: Side;
    socket?: string;
    when?: number;
  },
): CompanyCommand {
  return { type: "Disconnect", data: { userId: user, role, socketId: socket, at: when } };
}

/** `ResetPresence`, as a process does on start. */
export function resetPresence(): CompanyCommand {
  return { type: "ResetPresence", data: { at } };
}

/**
 * `SendMessage` from `from` (a user, unless `role` says otherwise) into `user`'s conversation
 * (`from`'s own by default); the ids are `m-<text>` and `c-<user>` unless named.
 */
export function send(
  {
    from,
    text,
    role = "user",
    user = from,
    id = `m-${text}`,
    conversation = `c-${user}`,
    socket,
    clientId,
    attachments,
  }: {
    from: string;
    text: string;
    role?: Side | "bot";
    user?: string;
    id?: string;
    conversation?: string;
    socket?: string;
    clientId?: string;
    attachments?: Attachment[];
  },
): CompanyCommand {
  return {
    type: "SendMessage",
    data: {
      sender: { userId: from, role },
      userId: user,
      text,
      messageId: id,
      conversationId: conversation,
      socketId: socket,
      ...(clientId === undefined ? {} : { clientId }),
      ...(attachments ? { attachments } : {}),
      at,
    },
  };
}

/** `TransferToAgent`: the bot hands `user` over with its context. */
export function handoff({ user, context }: { user: string; context: string }): CompanyCommand {
  return {
    type: "TransferToAgent",
    data: { userId: user, context, conversationId: `c-${user}`, at },
  };
}

/** `Claim` of `user`'s conversation by `agent`. */
export function claim({ agent, user }: { agent: string; user: string }): CompanyCommand {
  return { type: "Claim", data: { agentId: agent, userId: user, at } };
}

/** `Release` of `user`'s conversation by `agent`. */
export function release({ agent, user }: { agent: string; user: string }): CompanyCommand {
  return { type: "Release", data: { agentId: agent, userId: user, at } };
}

/** `Resolve` of `user`'s conversation by `agent`. */
export function resolve(
  { agent, user, returnToBot }: { agent: string; user: string; returnToBot: boolean },
): CompanyCommand {
  return { type: "Resolve", data: { agentId: agent, userId: user, returnToBot, at } };
}

/** `Transfer` of `user`'s conversation from `agent` to `to`; a note is recorded as `noteId`. */
export function transfer(
  { agent, user, to, note = "", noteId }: {
    agent: string;
    user: string;
    to: string;
    note?: string;
    noteId?: string;
  },
): CompanyCommand {
  return {
    type: "Transfer",
    data: {
      agentId: agent,
      userId: user,
      toAgentId: to,
      note,
      ...(noteId === undefined ? {} : { noteId }),
      at,
    },
  };
}

/** `AddNote` by `agent` on `user`'s conversation; the id is `n-<text>` unless named. */
export function addNote(
  { agent, user, text, id = `n-${text}` }: {
    agent: string;
    user: string;
    text: string;
    id?: string;
  },
): CompanyCommand {
  return { type: "AddNote", data: { agentId: agent, userId: user, noteId: id, text, at } };
}

/** `Rate` by `user` of their conversation. */
export function rate(
  { user, score, comment = null }: { user: string; score: number; comment?: string | null },
): CompanyCommand {
  return { type: "Rate", data: { userId: user, score, comment, at } };
}

/** `SetCannedResponses` with the whole list. */
export function setCanned(
  responses: { shortcut: string; title: string; text: string }[],
): CompanyCommand {
  return { type: "SetCannedResponses", data: { responses, at } };
}

/** `SetAgentStatus`. */
export function setStatus(
  { agent, status }: { agent: string; status: "available" | "away" },
): CompanyCommand {
  return { type: "SetAgentStatus", data: { agentId: agent, status, at } };
}

/** `ChangeSettings` with the changes asked for. */
export function changeSettings(changes: Record<string, unknown>): CompanyCommand {
  return { type: "ChangeSettings", data: { changes, at } };
}

/** `ExpireGrace` of `agent`, as its timer fires at `when`. */
export function expireGrace({ agent, when }: { agent: string; when: number }): CompanyCommand {
  return { type: "ExpireGrace", data: { agentId: agent, at: when } };
}

/** `MarkRead` of `user`'s conversation up to `seq`, by `reader` on `role`'s side. */
export function markRead(
  { user, reader, role, seq }: { user: string; reader: string; role: Side; seq: number },
): CompanyCommand {
  return { type: "MarkRead", data: { reader: { userId: reader, role }, userId: user, seq, at } };
}

/** `Typing` by `from` (a user, unless `role` says otherwise) in `user`'s conversation. */
export function typing(
  { from, role = "user", user = from, typing, socket }: {
    from: string;
    role?: Side;
    user?: string;
    typing: boolean;
    socket?: string;
  },
): CompanyCommand {
  return {
    type: "Typing",
    data: {
      sender: { userId: from, role },
      userId: user,
      typing,
      ...(socket === undefined ? {} : { socketId: socket }),
    },
  };
}
