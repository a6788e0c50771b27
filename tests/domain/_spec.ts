/** `given(events).when(command).then(events)` specs for the company decider. */
import assert from "node:assert/strict";
import {
  type CompanyCommand,
  type CompanyEvent,
  type CompanyState,
  decide,
  deliveries,
  type Delivery,
  type ErrorCode,
  evolve,
  fold,
} from "../../domain/mod.ts";

/** Starts a spec from a history of events. */
export function given(...history: CompanyEvent[]) {
  const state = fold(history);
  return {
    state,
    when(command: CompanyCommand) {
      const decision = decide(state, command);
      return {
        then(...expected: CompanyEvent[]) {
          assert.ok(decision.ok, `expected events, got ${JSON.stringify(decision)}`);
          assert.deepEqual(decision.events, expected);
          return { deliveries: (): Delivery[] => deliveriesOf(state, decision.events) };
        },
        thenRejects(code: ErrorCode) {
          assert.ok(!decision.ok, `expected a rejection, got ${JSON.stringify(decision)}`);
          assert.equal(decision.rejection.code, code);
        },
        /** Nothing is recorded; returns the deliveries sent all the same. */
        thenOnlyNotifies(): readonly Delivery[] {
          assert.ok(decision.ok, `expected deliveries, got ${JSON.stringify(decision)}`);
          assert.deepEqual(decision.events, []);
          return decision.notify ?? [];
        },
        /** Accepted with no events and nothing routed: an ack's `result` may still answer it. */
        thenNothingHappened() {
          assert.ok(decision.ok, `expected no events, got ${JSON.stringify(decision)}`);
          const { result: _result, ...rest } = decision;
          assert.deepEqual(rest, { ok: true, events: [] });
        },
      };
    },
    /** The deliveries of one more event on top of the history. */
    delivers(event: CompanyEvent): Delivery[] {
      return deliveries(state, event);
    },
  };
}

/** Deliveries of several events applied in turn. */
export function deliveriesOf(state: CompanyState, events: readonly CompanyEvent[]): Delivery[] {
  const out: Delivery[] = [];
  for (const event of events) {
    out.push(...deliveries(state, event));
    state = evolve(state, event);
  }
  return out;
}

/** Event builders with short names for specs. */
export const at = 1_764_043_200_123;
export const ev = {
  connected: (userId: string, role: "user" | "agent", socketId = `${userId}-s1`): CompanyEvent => ({
    type: "SocketConnected",
    at,
    data: { userId, role, socketId },
  }),
  disconnected: (
    userId: string,
    role: "user" | "agent",
    socketId = `${userId}-s1`,
  ): CompanyEvent => ({
    type: "SocketDisconnected",
    at,
    data: { userId, role, socketId },
  }),
  opened: (userId: string, conversationId = `c-${userId}`): CompanyEvent => ({
    type: "ConversationOpened",
    at,
    data: { conversationId, userId },
  }),
  sent: (
    userId: string,
    senderId: string,
    senderRole: "user" | "agent",
    text: string,
    messageId = `m-${text}`,
    socketId?: string,
  ): CompanyEvent => ({
    type: "MessageSent",
    at,
    data: {
      messageId,
      conversationId: `c-${userId}`,
      userId,
      senderId,
      senderRole,
      text,
      ...(socketId === undefined ? {} : { socketId }),
    },
  }),
  handedOff: (userId: string, context: string): CompanyEvent => ({
    type: "HandedOff",
    at,
    data: { conversationId: `c-${userId}`, userId, context },
  }),
  queued: (
    userId: string,
    reason: "handoff" | "message" | "released" | "agent_offline" = "handoff",
    agentId?: string,
    when = at,
  ): CompanyEvent => ({
    type: "ConversationQueued",
    at: when,
    data: { conversationId: `c-${userId}`, userId, reason, ...(agentId ? { agentId } : {}) },
  }),
  assigned: (
    userId: string,
    agentId: string,
    by: "auto" | "claim" | "reply" = "auto",
    when = at,
  ): CompanyEvent => ({
    type: "ConversationAssigned",
    at: when,
    data: { conversationId: `c-${userId}`, userId, agentId, by },
  }),
  resolved: (userId: string, agentId: string, returnToBot: boolean): CompanyEvent => ({
    type: "ConversationResolved",
    at,
    data: { conversationId: `c-${userId}`, userId, agentId, returnToBot },
  }),
  settings: (data: Record<string, unknown>): CompanyEvent => ({
    type: "SettingsChanged",
    at,
    data,
  }),
};

/** A command with the spec's fixed time. */
export const cmd = {
  connect: (
    userId: string,
    role: "user" | "agent" | "bot",
    socketId = `${userId}-s1`,
    when = at,
  ): CompanyCommand => ({
    type: "Connect",
    data: { userId, role, socketId, at: when },
  }),
  disconnect: (
    userId: string,
    role: "user" | "agent",
    socketId = `${userId}-s1`,
    when = at,
  ): CompanyCommand => ({
    type: "Disconnect",
    data: { userId, role, socketId, at: when },
  }),
  send: (
    sender: { userId: string; role: "user" | "agent" | "bot" },
    userId: string,
    text: string,
    socketId?: string,
  ): CompanyCommand => ({
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
  }),
  handoff: (userId: string, context: string): CompanyCommand => ({
    type: "TransferToAgent",
    data: { userId, context, conversationId: `c-${userId}`, at },
  }),
  claim: (agentId: string, userId: string): CompanyCommand => ({
    type: "Claim",
    data: { agentId, userId, at },
  }),
  release: (agentId: string, userId: string): CompanyCommand => ({
    type: "Release",
    data: { agentId, userId, at },
  }),
  resolve: (agentId: string, userId: string, returnToBot: boolean): CompanyCommand => ({
    type: "Resolve",
    data: { agentId, userId, returnToBot, at },
  }),
  transfer: (agentId: string, userId: string, toAgentId: string, note = ""): CompanyCommand => ({
    type: "Transfer",
    data: { agentId, userId, toAgentId, note, at },
  }),
  status: (agentId: string, status: "available" | "away"): CompanyCommand => ({
    type: "SetAgentStatus",
    data: { agentId, status, at },
  }),
  settings: (changes: Record<string, unknown>): CompanyCommand => ({
    type: "ChangeSettings",
    data: { changes, at },
  }),
};

/** Manual assignment, so specs can queue without auto-assigning. */
export const MANUAL = ev.settings({ assignment: "manual" });
