/**
 * Conversation lifecycle evolutions: opened, handed off, queued, assigned or transferred,
 * resolved. The queue and the agents' assignment order move with them.
 */
import { type Draft, withEntry, without } from "../_draft.ts";
import { PMap } from "../_pmap.ts";
import {
  anyAgentOnline,
  CLOSED_KEPT,
  CLOSED_TTL_MS,
  keptForAgents,
  resolvedConversation,
  seqKey,
} from "../state.ts";
import type { Closed, CompanyState, Conversation, EventOf } from "../types.ts";

/** A user's new conversation, owned by the bot. */
export function conversationOpened(
  state: CompanyState,
  event: EventOf<"ConversationOpened">,
  draft: Draft,
): CompanyState {
  const { conversationId: id, userId } = event.data;
  const seq = state.version + 1;
  const conversation: Conversation = {
    id,
    userId,
    openedSeq: seq,
    status: "bot",
    assignee: null,
    context: null,
    queuedAt: null,
    releasedBy: null,
    forAgents: [],
    forAgentsEarlier: 0,
    forAgentsEarlierUpTo: 0,
    backlogSeen: [],
    forUser: [],
    forUserEarlier: 0,
    unreadByAgents: [],
    unreadByUser: [],
  };
  // The new conversation takes the place of the user's closed one in their view.
  return {
    ...state,
    version: seq,
    conversations: withEntry(draft, state.conversations, userId, conversation),
    ...closedKept(state, draft, event.at, userId),
  };
}

/** The bot's context: the latest one is kept, and kept for agents if none is online. */
export function handedOff(
  state: CompanyState,
  event: EventOf<"HandedOff">,
  draft: Draft,
): CompanyState {
  const { userId, context } = event.data;
  const seq = state.version + 1;
  const next = { ...state, version: seq };
  const conversation = state.conversations.get(userId);
  if (!conversation) return next;
  const withContext = { ...conversation, context };
  const updated = anyAgentOnline(state)
    ? withContext
    : keptForAgents(withContext, { kind: "context", seq, at: event.at, context });
  return { ...next, conversations: withEntry(draft, state.conversations, userId, updated) };
}

/** Into the queue: at the back, or at the front when taken from an agent. */
export function conversationQueued(
  state: CompanyState,
  event: EventOf<"ConversationQueued">,
  draft: Draft,
): CompanyState {
  const { userId, reason } = event.data;
  const next = { ...state, version: state.version + 1 };
  const conversation = state.conversations.get(userId);
  if (!conversation) return next;
  const updated: Conversation = {
    ...conversation,
    status: "queued",
    assignee: null,
    queuedAt: event.at,
    releasedBy: reason === "released" ? event.data.agentId ?? null : null,
  };
  // Keys from the event's seq: the front ever further ahead, the back ever further behind.
  const seq = next.version;
  const front = reason === "released" || reason === "agent_offline";
  const rest = state.queue.without(userId);
  const queue = rest.with(userId, front ? Math.min(rest.firstKey(), 0) - seq : seq);
  return {
    ...next,
    conversations: withEntry(draft, state.conversations, userId, updated),
    queue,
    loads: movedLoad(draft, state.loads, conversation.assignee, null),
  };
}

/** To an agent (assigned, or transferred to them): out of the queue, nothing kept any more. */
export function conversationAssigned(
  state: CompanyState,
  event: EventOf<"ConversationAssigned" | "ConversationTransferred">,
  draft: Draft,
): CompanyState {
  const { userId } = event.data;
  const seq = state.version + 1;
  const next = { ...state, version: seq };
  const agentId = event.type === "ConversationAssigned" ? event.data.agentId : event.data.toAgentId;
  const conversation = state.conversations.get(userId);
  if (!conversation) return next;
  // The assignee has now been shown what was kept (by the routing): nothing is kept after.
  const updated: Conversation = {
    ...conversation,
    status: "assigned",
    assignee: agentId,
    queuedAt: null,
    releasedBy: null,
    forAgents: [],
    forAgentsEarlier: 0,
    forAgentsEarlierUpTo: 0,
    backlogSeen: [],
  };
  const agent = state.agents.get(agentId);
  return {
    ...next,
    conversations: withEntry(draft, state.conversations, userId, updated),
    queue: state.queue.without(userId),
    loads: movedLoad(draft, state.loads, conversation.assignee, agentId),
    agents: agent
      ? withEntry(draft, state.agents, agentId, { ...agent, lastAssignedSeq: seq })
      : state.agents,
  };
}

/**
 * Resolved: back to the bot, or closed. A closed conversation leaves the state: its messages
 * are in the log and the history, and the user's next message opens a new one.
 */
export function conversationResolved(
  state: CompanyState,
  event: EventOf<"ConversationResolved">,
  draft: Draft,
): CompanyState {
  const { userId, returnToBot, agentId } = event.data;
  const seq = state.version + 1;
  const next = { ...state, version: seq };
  const conversation = state.conversations.get(userId);
  if (!conversation) return next;
  const queue = state.queue.without(userId);
  const loads = movedLoad(draft, state.loads, conversation.assignee, null);
  if (!returnToBot) {
    return {
      ...next,
      conversations: without(draft, state.conversations, userId),
      queue,
      loads,
      ...closedKept(state, draft, event.at, userId, {
        conversation: { ...resolvedConversation(conversation), resolvedBy: agentId },
        seq,
        at: event.at,
      }),
    };
  }
  const updated: Conversation = {
    ...conversation,
    status: "bot",
    assignee: null,
    queuedAt: null,
    forAgents: [],
    forAgentsEarlier: 0,
    forAgentsEarlierUpTo: 0,
    backlogSeen: [],
    resolvedBy: agentId,
  };
  return {
    ...next,
    conversations: withEntry(draft, state.conversations, userId, updated),
    queue,
    loads,
  };
}

/** Rated: the user's open conversation, or the closed one kept for them, holds the rating. */
export function conversationRated(
  state: CompanyState,
  event: EventOf<"ConversationRated">,
  draft: Draft,
): CompanyState {
  const { userId, conversationId, score, comment } = event.data;
  const next = { ...state, version: state.version + 1 };
  const rating = { score, comment };
  const open = state.conversations.get(userId);
  if (open?.id === conversationId) {
    return {
      ...next,
      conversations: withEntry(draft, state.conversations, userId, { ...open, rating }),
    };
  }
  const closed = state.closed.get(userId);
  if (closed?.conversation.id !== conversationId) return next;
  const updated = { ...closed, conversation: { ...closed.conversation, rating } };
  return { ...next, closed: withEntry(draft, state.closed, userId, updated) };
}

/** The agents' loads with one conversation moved from `from` to `to` (either may be nobody). */
function movedLoad(
  draft: Draft,
  loads: ReadonlyMap<string, number>,
  from: string | null,
  to: string | null,
): ReadonlyMap<string, number> {
  if (from === to) return loads;
  let out = loads;
  if (from !== null) {
    const n = (out.get(from) ?? 0) - 1;
    out = n > 0 ? withEntry(draft, out, from, n) : without(draft, out, from);
  }
  if (to !== null) out = withEntry(draft, out, to, (out.get(to) ?? 0) + 1);
  return out;
}

/**
 * The closed conversations kept, with `userId`'s replaced by `closed` (or dropped), and those
 * resolved more than `CLOSED_TTL_MS` before `at`, or beyond the newest `CLOSED_KEPT`,
 * forgotten. Each is added once and forgotten once: O(log n) per event, amortised.
 */
function closedKept(
  state: CompanyState,
  draft: Draft,
  at: number,
  userId: string,
  closed?: Closed,
): Pick<CompanyState, "closed" | "closedOrder"> {
  let map = state.closed;
  let order = state.closedOrder;
  const was = map.get(userId);
  if (was) {
    map = without(draft, map, userId);
    order = without(draft, order, seqKey(was.seq));
  }
  if (closed) {
    map = withEntry(draft, map, userId, closed);
    order = withEntry(draft, order, seqKey(closed.seq), userId);
  }
  while (order instanceof PMap && order.size > 0) {
    const [key, oldest] = order.first()!;
    if (order.size <= CLOSED_KEPT && map.get(oldest)!.at >= at - CLOSED_TTL_MS) break;
    order = without(draft, order, key);
    map = without(draft, map, oldest);
  }
  return { closed: map, closedOrder: order };
}
