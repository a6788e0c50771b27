/**
 * The state a company starts from, and the questions every concern asks of it: who is
 * online, who holds what, who has room. Pure reads; nothing here changes a state.
 */
import { PMap } from "./_pmap.ts";
import { PQueue } from "./_pqueue.ts";
import type { Agent, CompanyState, Conversation, Pending, Settings, SocketRole } from "./types.ts";

/** Settings of a company that never changed them. */
export const DEFAULT_SETTINGS: Settings = {
  assignment: "auto",
  maxChatsPerAgent: 5,
  agentGraceSeconds: 60,
  webhookUrl: null,
  webhookSecret: null,
};

/** The state of a company with no events. */
export function initialState(): CompanyState {
  return {
    version: 0,
    settings: DEFAULT_SETTINGS,
    users: new Map(),
    agents: new Map(),
    onlineAgents: 0,
    availableAgents: 0,
    conversations: PMap.empty(),
    queue: PQueue.empty(),
    loads: new Map(),
    webhookSince: 0,
    sent: PMap.empty(),
    sentOrder: PMap.empty(),
    closed: PMap.empty(),
    closedOrder: PMap.empty(),
    cannedResponses: [],
  };
}

/** How long a client id is remembered, at least (ms): a resend within it is recognised. */
export const CLIENT_ID_TTL_MS = 24 * 60 * 60 * 1000;

/** How many expired client ids one message forgets, at most (bounds one event's work). */
export const FORGET_PER_EVENT = 1000;

/** How many client ids of the last day are remembered per sender, at most. */
export const CLIENT_IDS_PER_SENDER = 1000;

/** How long a user's last closed conversation is kept after its resolution (ms). */
export const CLOSED_TTL_MS = 24 * 60 * 60 * 1000;

/** How many closed conversations (one per user, the newest) a company keeps, at most. */
export const CLOSED_KEPT = 1000;

/** Of what is kept for an absent side, the newest this many; the history holds the rest. */
export const KEPT_PER_CONVERSATION = 50;

/** A seq as a key that sorts as the number does. */
export function seqKey(seq: number): string {
  return String(seq).padStart(16, "0");
}

/** Unread counts saturate: a conversation tracks its newest unread seqs only. */
export const MAX_UNREAD = 100;

/** The open sockets of a user or an agent. */
export function socketsOf(
  state: CompanyState,
  role: SocketRole,
  userId: string,
): readonly string[] {
  return role === "agent" ? state.agents.get(userId)?.sockets ?? [] : state.users.get(userId) ?? [];
}

/** Whether an agent has at least one socket. */
export function isOnline(agent: Agent | undefined): boolean {
  return agent !== undefined && agent.sockets.length > 0;
}

/** Whether any agent of the company is connected. */
export function anyAgentOnline(state: CompanyState): boolean {
  return state.onlineAgents > 0;
}

/** Whether any agent is connected and available: what users are told (`availability`). */
export function anyAgentAvailable(state: CompanyState): boolean {
  return state.availableAgents > 0;
}

/** Whether an agent counts as available: connected, with the status `available`. */
export function isAvailable(agent: Agent | undefined): boolean {
  return isOnline(agent) && agent!.status === "available";
}

/**
 * The open conversations in the order they were opened (the order agents are shown them in).
 * O(n log n) in the open ones: for what lists them all anyway.
 */
export function inOpeningOrder(state: CompanyState): Conversation[] {
  return [...state.conversations.values()].sort((a, b) => a.openedSeq - b.openedSeq);
}

/** The conversations assigned to an agent, in the order they were opened. */
export function assignedTo(state: CompanyState, agentId: string): Conversation[] {
  return inOpeningOrder(state).filter((c) => c.status === "assigned" && c.assignee === agentId);
}

/** How many conversations an agent holds. */
export function loadOf(state: CompanyState, agentId: string): number {
  return state.loads.get(agentId) ?? 0;
}

/** Each agent's load, counted from the conversations (for a state read from a snapshot). */
export function countLoads(conversations: Iterable<Conversation>): Map<string, number> {
  const loads = new Map<string, number>();
  for (const c of conversations) {
    if (c.status === "assigned" && c.assignee !== null) {
      loads.set(c.assignee, (loads.get(c.assignee) ?? 0) + 1);
    }
  }
  return loads;
}

/** Whether an agent can take one more conversation. */
export function hasRoom(state: CompanyState, agentId: string): boolean {
  return loadOf(state, agentId) < state.settings.maxChatsPerAgent;
}

/** A conversation as it was when resolved, for the views of its last event (it leaves the state). */
export function resolvedConversation(c: Conversation): Conversation {
  return {
    ...c,
    status: "resolved",
    assignee: null,
    queuedAt: null,
    forAgents: [],
    forAgentsEarlier: 0,
    forAgentsEarlierUpTo: 0,
    backlogSeen: [],
  };
}

/**
 * The user's conversation as they are shown it: the open one, or else their last closed one
 * while it is kept (a late read receipt, a reconnect after the goodbye).
 */
export function currentConversation(
  state: CompanyState,
  userId: string,
): Conversation | undefined {
  return state.conversations.get(userId) ?? state.closed.get(userId)?.conversation;
}

/** The user's conversation if it is queued or assigned. */
export function openConversation(state: CompanyState, userId: string): Conversation | undefined {
  const c = state.conversations.get(userId);
  return c && (c.status === "queued" || c.status === "assigned") ? c : undefined;
}

/** The seq of the last kept item an agent was shown (0 if none). */
export function backlogSeenBy(c: Conversation, agentId: string): number {
  return c.backlogSeen.find(([id]) => id === agentId)?.[1] ?? 0;
}

/** The key of a sender's remembered client ids. */
export function senderKey(role: string, id: string): string {
  return `${role}:${id}`;
}

/** A conversation with `item` kept for agents: the newest `KEPT_PER_CONVERSATION` stay. */
export function keptForAgents(c: Conversation, item: Pending): Conversation {
  const forAgents = [...c.forAgents, item];
  if (forAgents.length <= KEPT_PER_CONVERSATION) return { ...c, forAgents };
  const dropped = forAgents.shift()!;
  return {
    ...c,
    forAgents,
    forAgentsEarlier: c.forAgentsEarlier + 1,
    forAgentsEarlierUpTo: dropped.seq,
  };
}

/** A conversation with `item` kept for the user: the newest `KEPT_PER_CONVERSATION` stay. */
export function keptForUser(c: Conversation, item: Pending): Conversation {
  const forUser = [...c.forUser, item];
  if (forUser.length <= KEPT_PER_CONVERSATION) return { ...c, forUser };
  forUser.shift();
  return { ...c, forUser, forUserEarlier: c.forUserEarlier + 1 };
}
