/**
 * Read-model views: what clients are shown of a company's state, as protocol payloads
 * (docs/design.md §5). Pure reads of a state; routing and acks both use them.
 */
import { isOnline, loadOf } from "./state.ts";
import type {
  Attachment,
  CompanyState,
  Conversation,
  Delivery,
  EventOf,
  Rating,
  Role,
} from "./types.ts";

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
  attachments?: readonly Attachment[];
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
    // Only on a message that has files: every other payload stays as it always was.
    ...(m.attachments?.length ? { attachments: m.attachments.map(attachmentView) } : {}),
  };
}

/** A file of a message, as clients see it (they fetch it from `/api/v1/attachments/:id`). */
export function attachmentView(a: Attachment): Payload {
  return { id: a.id, name: a.name, size: a.size, content_type: a.contentType };
}

/** The `note` payload: an agent's private note, for agents only. */
export function notePayload(e: EventOf<"NoteAdded">, seq: number): Payload {
  const { noteId, conversationId, userId, agentId, text, toAgentId } = e.data;
  return {
    id: noteId,
    seq,
    conversation_id: conversationId,
    user_id: userId,
    agent_id: agentId,
    content: text,
    timestamp: Math.floor(e.at / 1000),
    ...(toAgentId === undefined ? {} : { to_agent_id: toAgentId }),
  };
}

/** The `rating` payload: a user's rating of a conversation, for agents. */
export function ratingPayload(e: EventOf<"ConversationRated">, seq: number): Payload {
  const { conversationId, userId, agentId, score, comment } = e.data;
  return {
    seq,
    conversation_id: conversationId,
    user_id: userId,
    agent_id: agentId,
    score,
    comment,
    timestamp: Math.floor(e.at / 1000),
  };
}

function ratingView(r: Rating): Payload {
  return { score: r.score, comment: r.comment };
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
    // Agents are told the exact place; the user the place they are shown in `queue`.
    queue_position: c.status === "queued"
      ? (forAgents ? positionOf(state, c.userId) : shownPositionOf(state, c.userId))
      : null,
    context: c.context,
    unread: forAgents ? c.unreadByAgents.length : c.unreadByUser.length,
    // Added fields, only once they say something: where the user has read up to, the rating.
    ...(c.userReadSeq === undefined ? {} : { user_read_seq: c.userReadSeq }),
    ...(c.rating === undefined ? {} : { rating: ratingView(c.rating) }),
  };
}

/**
 * How many queue entries agents are sent at once: the whole queue while it is this short, the
 * first this many (and the total) past that.
 */
export const QUEUE_PAGE = 100;

/** A queue entry as agents see it; `index` is its place from 0. */
export function queueEntry(state: CompanyState, userId: string, index: number): Payload {
  const c = state.conversations.get(userId);
  return {
    user_id: userId,
    conversation_id: c?.id ?? null,
    position: index + 1,
    queued_at: c?.queuedAt ?? null,
  };
}

/**
 * The company's queue as agents see it: its first `limit` entries from `offset` (the first
 * page unless asked otherwise), and how many wait in all.
 */
export function queueView(state: CompanyState, offset = 0, limit = QUEUE_PAGE): Payload {
  return {
    queue: state.queue.slice(offset, offset + limit).map((userId, i) =>
      queueEntry(state, userId, offset + i)
    ),
    total: state.queue.size,
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

/** A user's place in the queue, from 1; null when not queued. O(log n). */
export function positionOf(state: CompanyState, userId: string): number | null {
  const i = state.queue.indexOf(userId);
  return i < 0 ? null : i + 1;
}

/** Up to this place, a waiting user is told their exact place. */
export const EXACT_POSITIONS = 100;

/**
 * The place a waiting user is shown: exact up to `EXACT_POSITIONS`, rounded up to two
 * significant digits past that (1,234 → 1,300). Never below the true place, and in the
 * queue's order; a shift of one changes it only at ~90 places per power of ten, so a move at
 * the front of a long queue tells O(log n) users, not all of them.
 */
export function shownPosition(position: number): number {
  if (position <= EXACT_POSITIONS) return position;
  const step = 10 ** (String(position).length - 2);
  return Math.ceil(position / step) * step;
}

/** A user's shown place (`shownPosition`); null when not queued. */
export function shownPositionOf(state: CompanyState, userId: string): number | null {
  const p = positionOf(state, userId);
  return p === null ? null : shownPosition(p);
}
