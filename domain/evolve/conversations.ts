/**
 * Conversation lifecycle evolutions: opened, handed off, queued, assigned or transferred,
 * resolved. The queue and the agents' assignment order move with them.
 */
import { type Draft, withEntry, without } from "../_draft.ts";
import { anyAgentOnline, keptForAgents } from "../state.ts";
import type { CompanyState, Conversation, EventOf } from "../types.ts";

/** A user's new conversation, owned by the bot. */
export function conversationOpened(
  state: CompanyState,
  event: EventOf<"ConversationOpened">,
  draft: Draft,
): CompanyState {
  const { conversationId: id, userId } = event.data;
  const conversation: Conversation = {
    id,
    userId,
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
  return {
    ...state,
    version: state.version + 1,
    conversations: withEntry(draft, state.conversations, userId, conversation),
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
  const rest = state.queue.filter((u) => u !== userId);
  const queue = reason === "released" || reason === "agent_offline"
    ? [userId, ...rest]
    : [...rest, userId];
  return {
    ...next,
    conversations: withEntry(draft, state.conversations, userId, updated),
    queue,
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
    queue: state.queue.includes(userId) ? state.queue.filter((u) => u !== userId) : state.queue,
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
  const { userId, returnToBot } = event.data;
  const next = { ...state, version: state.version + 1 };
  const conversation = state.conversations.get(userId);
  if (!conversation) return next;
  const updated: Conversation = {
    ...conversation,
    status: "bot",
    assignee: null,
    queuedAt: null,
    forAgents: [],
    forAgentsEarlier: 0,
    forAgentsEarlierUpTo: 0,
    backlogSeen: [],
  };
  return {
    ...next,
    conversations: returnToBot
      ? withEntry(draft, state.conversations, userId, updated)
      : without(draft, state.conversations, userId),
    queue: state.queue.includes(userId) ? state.queue.filter((u) => u !== userId) : state.queue,
  };
}
