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
        thenNothingHappened() {
          assert.deepEqual(decision, { ok: true, events: [] });
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
};
