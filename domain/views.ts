/**
 * Read-model views: what clients are shown of a company's state, as protocol payloads
 * (docs/design.md §5). Pure reads of a state; routing and acks both use them.
 */
import { isOnline, loadOf } from "./state.ts";
import type { CompanyState, Conversation, Delivery, Role } from "./types.ts";

/** A client event's payload. */
export type Payload = Delivery["payload"];

/** The `message` payload: the predecessor's fields plus the engine's (docs/design.md §5.2). */
export function messagePayload(m: {
  seq: number;
  at: number;
  messageId: string;
  conversationId: string;
  userId: string;
  senderId: string;
  senderRole: Role;
  text: string;
}): Payload {
  return {
    from: m.senderId,
    content: m.text,
    timestamp: Math.floor(m.at / 1000),
    id: m.messageId,
    seq: m.seq,
    conversation_id: m.conversationId,
    user_id: m.userId,
    role: m.senderRole,
  };
}

/** One conversation as a client sees it; `unread` counts what that side has not read. */
export function conversationView(
  state: CompanyState,
  c: Conversation,
  forAgents: boolean,
): Payload {
  return {
    conversation_id: c.id,
    user_id: c.userId,
    status: c.status,
    assignee: c.assignee,
    queue_position: c.status === "queued" ? positionOf(state, c.userId) : null,
    context: c.context,
    unread: forAgents ? c.unreadByAgents.length : c.unreadByUser.length,
  };
}

/** The company's queue as agents see it. */
export function queueView(state: CompanyState): Payload {
  return {
    queue: state.queue.map((userId, i) => {
      const c = state.conversations.get(userId);
      return {
        user_id: userId,
        conversation_id: c?.id ?? null,
        position: i + 1,
        queued_at: c?.queuedAt ?? null,
      };
    }),
  };
}

/** An agent's presence and load, as agents see it. */
export function agentView(state: CompanyState, agentId: string): Payload {
  const agent = state.agents.get(agentId);
  return {
    agent_id: agentId,
    status: isOnline(agent) ? agent!.status : "offline",
    load: loadOf(state, agentId),
    capacity: state.settings.maxChatsPerAgent,
  };
}

/** A user's place in the queue, from 1; null when not queued. */
export function positionOf(state: CompanyState, userId: string): number | null {
  const i = state.queue.indexOf(userId);
  return i < 0 ? null : i + 1;
}
