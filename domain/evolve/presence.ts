/**
 * Presence evolutions: sockets opening and closing, an agent's status, and the reset a
 * restarted runtime records (nobody is online until they reconnect).
 */
import { type Draft, mapValues, withEntry, without } from "../_draft.ts";
import { backlogSeenBy, isAvailable, isOnline, socketsOf } from "../state.ts";
import type { Agent, CompanyState, Conversation, EventOf } from "../types.ts";

/** A socket opened: an agent comes online (or adds a tab); a user adds a socket. */
export function socketConnected(
  state: CompanyState,
  event: EventOf<"SocketConnected">,
  draft: Draft,
): CompanyState {
  const { userId, role, socketId } = event.data;
  const next = { ...state, version: state.version + 1 };
  if (role === "agent") {
    const agent = state.agents.get(userId);
    const updated: Agent = isOnline(agent)
      ? { ...agent!, sockets: [...agent!.sockets, socketId] }
      : {
        sockets: [socketId],
        // Available from the first connection; a choice of "away" outlives a reload.
        status: agent?.status ?? "available",
        offlineAt: null,
        lastAssignedSeq: agent?.lastAssignedSeq ?? 0,
      };
    // The agent is shown what was kept for agents (by the routing); remember how far.
    const conversations = mapValues(state.conversations, (c) => seenBy(c, userId));
    return {
      ...next,
      agents: withEntry(draft, state.agents, userId, updated),
      onlineAgents: state.onlineAgents + (isOnline(agent) ? 0 : 1),
      availableAgents: state.availableAgents + availableChange(agent, updated),
      conversations,
    };
  }
  const sockets = socketsOf(state, role, userId);
  const conversation = state.conversations.get(userId);
  // The user's first socket is shown what was kept for them: nothing is kept after.
  const conversations = sockets.length === 0 && conversation?.forUser.length
    ? withEntry(draft, state.conversations, userId, {
      ...conversation,
      forUser: [],
      forUserEarlier: 0,
    })
    : state.conversations;
  // Or what was kept for them in their conversation closed since (the goodbye).
  const closed = state.closed.get(userId);
  const closedShown = sockets.length === 0 && closed?.conversation.forUser.length
    ? withEntry(draft, state.closed, userId, {
      ...closed,
      conversation: { ...closed.conversation, forUser: [], forUserEarlier: 0 },
    })
    : state.closed;
  return {
    ...next,
    users: withEntry(draft, state.users, userId, [...sockets, socketId]),
    conversations,
    closed: closedShown,
  };
}

/** A conversation after an agent was shown everything kept in it. */
function seenBy(c: Conversation, agentId: string): Conversation {
  const last = c.forAgents.at(-1)?.seq;
  if (last === undefined || backlogSeenBy(c, agentId) >= last) return c;
  return {
    ...c,
    backlogSeen: [...c.backlogSeen.filter(([id]) => id !== agentId), [agentId, last] as const],
  };
}

/** A socket closed; an agent whose last socket closed starts their grace period. */
export function socketDisconnected(
  state: CompanyState,
  event: EventOf<"SocketDisconnected">,
  draft: Draft,
): CompanyState {
  const { userId, role, socketId } = event.data;
  const next = { ...state, version: state.version + 1 };
  if (role === "agent") {
    const agent = state.agents.get(userId);
    if (!agent) return next;
    const sockets = agent.sockets.filter((s) => s !== socketId);
    const offlineAt = sockets.length ? null : event.at;
    const wentOffline = isOnline(agent) && sockets.length === 0;
    const updated = { ...agent, sockets, offlineAt };
    return {
      ...next,
      agents: withEntry(draft, state.agents, userId, updated),
      onlineAgents: state.onlineAgents - (wentOffline ? 1 : 0),
      availableAgents: state.availableAgents + availableChange(agent, updated),
    };
  }
  const rest = socketsOf(state, role, userId).filter((s) => s !== socketId);
  const users = rest.length
    ? withEntry(draft, state.users, userId, rest)
    : without(draft, state.users, userId);
  return { ...next, users };
}

/** An agent chose to be available or away. */
export function agentStatusChanged(
  state: CompanyState,
  event: EventOf<"AgentStatusChanged">,
  draft: Draft,
): CompanyState {
  const { agentId, status } = event.data;
  const next = { ...state, version: state.version + 1 };
  const agent = state.agents.get(agentId);
  if (!agent) return next;
  const updated = { ...agent, status };
  return {
    ...next,
    agents: withEntry(draft, state.agents, agentId, updated),
    availableAgents: state.availableAgents + availableChange(agent, updated),
  };
}

/** How an agent's change moves the count of available agents: -1, 0 or +1. */
function availableChange(was: Agent | undefined, is: Agent): number {
  return Number(isAvailable(is)) - Number(isAvailable(was));
}

/** Presence seen by an earlier process is gone: users leave, online agents go offline now. */
export function presenceReset(state: CompanyState, event: EventOf<"PresenceReset">): CompanyState {
  const agents = mapValues(
    state.agents,
    (a) => (isOnline(a) ? { ...a, sockets: [], offlineAt: event.at } : a),
  );
  return {
    ...state,
    version: state.version + 1,
    users: new Map(),
    agents,
    onlineAgents: 0,
    availableAgents: 0,
  };
}
