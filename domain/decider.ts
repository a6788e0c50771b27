/**
 * The company decider: `initialState`, `decide` and `evolve`. Pure functions; the
 * runtime feeds them commands that already carry time and fresh ids.
 *
 * Every lifecycle transition is an event decided here, so a rule holds wherever the
 * command came from: the queue drains whenever an agent has room (auto mode), a
 * conversation is queued or assigned but never both, and no agent exceeds capacity.
 */
import type {
  Agent,
  CompanyCommand,
  CompanyEvent,
  CompanyState,
  Conversation,
  Decision,
  Delivery,
  ErrorCode,
  Pending,
  Settings,
  SocketRole,
} from "./types.ts";
import { deliveries } from "./deliveries.ts";

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
    conversations: new Map(),
    queue: [],
    webhookSince: 0,
    sent: new Map(),
  };
}

/** How many client ids are remembered per sender. */
export const CLIENT_IDS_PER_SENDER = 100;

/** Decides what a command does to a company: events to record, or a rejection. */
export function decide(state: CompanyState, command: CompanyCommand): Decision {
  const plan = new Plan(state);
  switch (command.type) {
    case "Connect": {
      const { userId, role, socketId, at, resumed } = command.data;
      if (role === "bot") return reject("forbidden", "Bot tokens are for the HTTP API only");
      const sockets = socketsOf(state, role, userId);
      if (sockets.includes(socketId)) return plan.done();
      // Presence is recorded per identity: another tab of someone online writes nothing and is
      // sent what a first socket would be sent about the present (its on-connect deliveries).
      if (sockets.length > 0) {
        const event: CompanyEvent = {
          type: "SocketConnected",
          at,
          data: { userId, role, socketId },
        };
        const notify = deliveries(state, event).filter((d) => d.to.kind === "socket");
        return { ok: true, events: [], notify };
      }
      const comingOnline = role === "agent" && !isOnline(state.agents.get(userId));
      const data = resumed ? { userId, role, socketId, resumed } : { userId, role, socketId };
      plan.emit({ type: "SocketConnected", at, data });
      return (comingOnline ? plan.drain(at) : plan).done();
    }
    case "Disconnect": {
      const { userId, role, socketId, at, last } = command.data;
      if (role === "bot") return plan.done();
      const sockets = socketsOf(state, role, userId);
      // The identity's last socket closed: whichever of its sockets is recorded goes with it.
      const gone = sockets.includes(socketId) ? [socketId] : last ? sockets : [];
      for (const id of gone) {
        plan.emit({ type: "SocketDisconnected", at, data: { userId, role, socketId: id } });
      }
      return plan.done();
    }
    case "SendMessage": {
      const { sender, userId, text, messageId, socketId, clientId, at } = command.data;
      if (sender.role === "bot") {
        return reject("forbidden", "Bots post their transcript over HTTP");
      }
      if (sender.role === "user" && sender.userId !== userId) {
        return reject("forbidden", "A user can only write in their own conversation");
      }
      if (clientId !== undefined) {
        const first = state.sent.get(senderKey(sender.role, sender.userId))
          ?.find((r) => r.clientId === clientId);
        if (first) return { ok: true, events: [], duplicateOf: first };
      }
      if (text.trim() === "") return reject("invalid_payload", "A message needs some content");
      const conversationId = plan.ensureConversation(userId, command.data.conversationId, at);
      const status = plan.conversation(userId).status;
      if (sender.role === "user" && status === "bot") {
        plan.emit({
          type: "ConversationQueued",
          at,
          data: { conversationId, userId, reason: "message" },
        })
          .drain(at);
      }
      // An agent replying to a waiting (or bot-owned) conversation takes it, if they have room;
      // at capacity the reply still goes out (the predecessor's agents could always write)
      // and the conversation keeps its place in the queue.
      if (sender.role === "agent" && status !== "assigned" && hasRoom(plan.state, sender.userId)) {
        plan.emit({
          type: "ConversationAssigned",
          at,
          data: { conversationId, userId, agentId: sender.userId, by: "reply" },
        });
      }
      return plan.emit({
        type: "MessageSent",
        at,
        data: {
          messageId,
          conversationId,
          userId,
          senderId: sender.userId,
          senderRole: sender.role,
          text,
          ...(socketId === undefined ? {} : { socketId }),
          ...(clientId === undefined ? {} : { clientId }),
        },
      }).done();
    }
    case "TransferToAgent": {
      const { userId, context, at } = command.data;
      const conversationId = plan.ensureConversation(userId, command.data.conversationId, at);
      plan.emit({ type: "HandedOff", at, data: { conversationId, userId, context } });
      if (plan.conversation(userId).status !== "bot") return plan.done();
      return plan.emit({
        type: "ConversationQueued",
        at,
        data: { conversationId, userId, reason: "handoff" },
      }).drain(at).done();
    }
    case "PostTranscript": {
      const { botId, userId, lines, at } = command.data;
      if (lines.length === 0) {
        return reject("invalid_payload", "A transcript needs at least one line");
      }
      if (lines.some((l) => l.text.trim() === "")) {
        return reject("invalid_payload", "Every transcript line needs some content");
      }
      const conversationId = plan.ensureConversation(userId, command.data.conversationId, at);
      for (const line of lines) {
        plan.emit({
          type: "MessageSent",
          at,
          data: {
            messageId: line.messageId,
            conversationId,
            userId,
            senderId: line.role === "bot" ? botId : userId,
            senderRole: line.role,
            text: line.text,
            transcript: true,
          },
        });
      }
      return plan.done();
    }
    case "Claim": {
      const { agentId, userId, at } = command.data;
      const conversation = openConversation(state, userId);
      if (!conversation) return reject("not_found", `No open conversation with user '${userId}'`);
      if (conversation.assignee === agentId) return plan.done();
      if (conversation.status === "assigned") {
        return reject("conflict", "Another agent has already taken this conversation");
      }
      if (!hasRoom(state, agentId)) return reject("conflict", "You are at your chat capacity");
      return plan.emit({
        type: "ConversationAssigned",
        at,
        data: { conversationId: conversation.id, userId, agentId, by: "claim" },
      }).done();
    }
    case "Transfer": {
      const { agentId, userId, toAgentId, note, at } = command.data;
      const conversation = openConversation(state, userId);
      if (!conversation) return reject("not_found", `No open conversation with user '${userId}'`);
      if (conversation.assignee !== agentId) {
        return reject("forbidden", "Only the assigned agent can transfer a conversation");
      }
      if (toAgentId === agentId) return reject("invalid_payload", "Transfer to another agent");
      if (!isOnline(state.agents.get(toAgentId))) {
        return reject("not_found", `Agent '${toAgentId}' is not online`);
      }
      if (!hasRoom(state, toAgentId)) {
        return reject("conflict", `Agent '${toAgentId}' is at capacity`);
      }
      return plan.emit({
        type: "ConversationTransferred",
        at,
        data: { conversationId: conversation.id, userId, fromAgentId: agentId, toAgentId, note },
      }).drain(at).done();
    }
    case "Release": {
      const { agentId, userId, at } = command.data;
      const conversation = openConversation(state, userId);
      if (!conversation) return reject("not_found", `No open conversation with user '${userId}'`);
      if (conversation.assignee !== agentId) {
        return reject("forbidden", "Only the assigned agent can release a conversation");
      }
      return plan.emit({
        type: "ConversationQueued",
        at,
        data: { conversationId: conversation.id, userId, reason: "released", agentId },
      }).drain(at).done();
    }
    case "Resolve": {
      const { agentId, userId, returnToBot, at } = command.data;
      const conversation = openConversation(state, userId);
      if (!conversation) return reject("not_found", `No open conversation with user '${userId}'`);
      if (conversation.status === "assigned" && conversation.assignee !== agentId) {
        return reject("forbidden", "Only the assigned agent can resolve this conversation");
      }
      return plan.emit({
        type: "ConversationResolved",
        at,
        data: { conversationId: conversation.id, userId, agentId, returnToBot },
      }).drain(at).done();
    }
    case "SetAgentStatus": {
      const { agentId, status, at } = command.data;
      const agent = state.agents.get(agentId);
      if (!isOnline(agent)) return reject("not_found", "Connect before setting a status");
      if (agent!.status === status) return plan.done();
      plan.emit({ type: "AgentStatusChanged", at, data: { agentId, status } });
      return (status === "available" ? plan.drain(at) : plan).done();
    }
    case "Typing": {
      const { sender, userId, typing, socketId } = command.data;
      if (sender.role === "bot") return reject("forbidden", "Bots do not type");
      if (sender.role === "user" && sender.userId !== userId) {
        return reject("forbidden", "A user can only type in their own conversation");
      }
      const payload = { user_id: userId, from: sender.userId, role: sender.role, typing };
      const except = socketId === undefined ? {} : { except: socketId };
      const notify: Delivery[] = sender.role === "user"
        ? [{ to: { kind: "agents" }, event: "typing", payload }]
        : [
          { to: { kind: "user", userId }, event: "typing", payload },
          { to: { kind: "agents" }, ...except, event: "typing", payload },
        ];
      return { ok: true, events: [], notify };
    }
    case "MarkRead": {
      const { reader, userId, seq, at } = command.data;
      if (reader.role === "bot") return reject("forbidden", "Bots do not read conversations");
      if (reader.role === "user" && reader.userId !== userId) {
        return reject("forbidden", "A user can only read their own conversation");
      }
      const conversation = state.conversations.get(userId);
      if (!conversation) return reject("not_found", `No conversation with user '${userId}'`);
      const unread = reader.role === "user"
        ? conversation.unreadByUser
        : conversation.unreadByAgents;
      if (!unread.some((s) => s <= seq)) return plan.done();
      return plan.emit({
        type: "MessagesRead",
        at,
        data: {
          conversationId: conversation.id,
          userId,
          readerId: reader.userId,
          readerRole: reader.role,
          seq: Math.min(seq, state.version),
        },
      }).done();
    }
    case "ChangeSettings": {
      const { changes, at } = command.data;
      const changed = Object.fromEntries(
        Object.entries(changes).filter(([key, value]) =>
          value !== undefined && state.settings[key as keyof Settings] !== value
        ),
      ) as Partial<Settings>;
      if (Object.keys(changed).length === 0) return plan.done();
      return plan.emit({ type: "SettingsChanged", at, data: changed }).drain(at).done();
    }
    case "ExpireGrace": {
      const { agentId, at } = command.data;
      const agent = state.agents.get(agentId);
      if (!agent || isOnline(agent) || agent.offlineAt === null) return plan.done();
      if (at < agent.offlineAt + state.settings.agentGraceSeconds * 1000) return plan.done();
      // Each goes to the front; in reverse, so they keep their order there.
      for (const conversation of assignedTo(state, agentId).reverse()) {
        plan.emit({
          type: "ConversationQueued",
          at,
          data: {
            conversationId: conversation.id,
            userId: conversation.userId,
            reason: "agent_offline",
            agentId,
          },
        });
      }
      return plan.drain(at).done();
    }
    case "ResetPresence": {
      if (state.users.size === 0 && ![...state.agents.values()].some(isOnline)) return plan.done();
      return plan.emit({ type: "PresenceReset", at: command.data.at, data: {} }).done();
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

/** Applies one event. Never validates, never throws. */
export function evolve(state: CompanyState, event: CompanyEvent): CompanyState {
  const seq = state.version + 1;
  const next = { ...state, version: seq };
  switch (event.type) {
    case "SocketConnected": {
      const { userId, role, socketId } = event.data;
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
        // The agent is shown what was kept for agents (by `deliveries`); remember how far.
        const conversations = mapValues(state.conversations, (c) => {
          const last = c.forAgents.at(-1)?.seq;
          if (last === undefined || backlogSeenBy(c, userId) >= last) return c;
          return {
            ...c,
            backlogSeen: [
              ...c.backlogSeen.filter(([id]) => id !== userId),
              [userId, last] as const,
            ],
          };
        });
        return { ...next, agents: withEntry(state.agents, userId, updated), conversations };
      }
      const sockets = socketsOf(state, role, userId);
      const conversation = state.conversations.get(userId);
      const conversations = sockets.length === 0 && conversation?.forUser.length
        ? withEntry(state.conversations, userId, { ...conversation, forUser: [] })
        : state.conversations;
      return {
        ...next,
        users: withEntry(state.users, userId, [...sockets, socketId]),
        conversations,
      };
    }
    case "SocketDisconnected": {
      const { userId, role, socketId } = event.data;
      if (role === "agent") {
        const agent = state.agents.get(userId);
        if (!agent) return next;
        const sockets = agent.sockets.filter((s) => s !== socketId);
        const offlineAt = sockets.length ? null : event.at;
        return {
          ...next,
          agents: withEntry(state.agents, userId, { ...agent, sockets, offlineAt }),
        };
      }
      const rest = socketsOf(state, role, userId).filter((s) => s !== socketId);
      const users = rest.length
        ? withEntry(state.users, userId, rest)
        : without(state.users, userId);
      return { ...next, users };
    }
    case "ConversationOpened": {
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
        backlogSeen: [],
        forUser: [],
        unreadByAgents: [],
        unreadByUser: [],
      };
      return { ...next, conversations: withEntry(state.conversations, userId, conversation) };
    }
    case "MessageSent": {
      const { userId, senderRole, transcript, clientId } = event.data;
      if (clientId !== undefined) {
        const key = senderKey(senderRole, event.data.senderId);
        const record = {
          clientId,
          messageId: event.data.messageId,
          conversationId: event.data.conversationId,
          seq,
        };
        const kept = [...(state.sent.get(key) ?? []), record].slice(-CLIENT_IDS_PER_SENDER);
        return evolve({ ...state, sent: withEntry(state.sent, key, kept) }, {
          ...event,
          data: { ...event.data, clientId: undefined },
        });
      }
      const conversation = state.conversations.get(userId);
      if (!conversation || transcript) return next;
      const fromUser = senderRole === "user";
      const unseen = fromUser ? !anyAgentOnline(state) : !state.users.has(userId);
      let updated: Conversation = fromUser
        ? { ...conversation, unreadByAgents: withUnread(conversation.unreadByAgents, seq) }
        : { ...conversation, unreadByUser: withUnread(conversation.unreadByUser, seq) };
      if (unseen) {
        const { messageId, senderId, text } = event.data;
        const pending: Pending = {
          kind: "message",
          seq,
          at: event.at,
          messageId,
          senderId,
          senderRole,
          text,
        };
        updated = fromUser
          ? { ...updated, forAgents: [...updated.forAgents, pending] }
          : { ...updated, forUser: [...updated.forUser, pending] };
      }
      return { ...next, conversations: withEntry(state.conversations, userId, updated) };
    }
    case "HandedOff": {
      const { userId, context } = event.data;
      const conversation = state.conversations.get(userId);
      if (!conversation) return next;
      const forAgents = anyAgentOnline(state)
        ? conversation.forAgents
        : [...conversation.forAgents, { kind: "context", seq, at: event.at, context } as const];
      const updated = { ...conversation, context, forAgents };
      return { ...next, conversations: withEntry(state.conversations, userId, updated) };
    }
    case "ConversationQueued": {
      const { userId, reason } = event.data;
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
      return { ...next, conversations: withEntry(state.conversations, userId, updated), queue };
    }
    case "ConversationAssigned":
    case "ConversationTransferred": {
      const { userId } = event.data;
      const agentId = event.type === "ConversationAssigned"
        ? event.data.agentId
        : event.data.toAgentId;
      const conversation = state.conversations.get(userId);
      if (!conversation) return next;
      // The assignee has now been shown what was kept (by `deliveries`): nothing is kept after.
      const updated: Conversation = {
        ...conversation,
        status: "assigned",
        assignee: agentId,
        queuedAt: null,
        releasedBy: null,
        forAgents: [],
        backlogSeen: [],
      };
      const agent = state.agents.get(agentId);
      return {
        ...next,
        conversations: withEntry(state.conversations, userId, updated),
        queue: state.queue.includes(userId) ? state.queue.filter((u) => u !== userId) : state.queue,
        agents: agent
          ? withEntry(state.agents, agentId, { ...agent, lastAssignedSeq: seq })
          : state.agents,
      };
    }
    case "ConversationResolved": {
      const { userId, returnToBot } = event.data;
      const conversation = state.conversations.get(userId);
      if (!conversation) return next;
      const updated: Conversation = {
        ...conversation,
        status: returnToBot ? "bot" : "resolved",
        assignee: null,
        queuedAt: null,
        forAgents: [],
        backlogSeen: [],
      };
      return {
        ...next,
        conversations: withEntry(state.conversations, userId, updated),
        queue: state.queue.includes(userId) ? state.queue.filter((u) => u !== userId) : state.queue,
      };
    }
    case "AgentStatusChanged": {
      const { agentId, status } = event.data;
      const agent = state.agents.get(agentId);
      if (!agent) return next;
      return { ...next, agents: withEntry(state.agents, agentId, { ...agent, status }) };
    }
    case "MessagesRead": {
      const { userId, readerRole, seq: upTo } = event.data;
      const conversation = state.conversations.get(userId);
      if (!conversation) return next;
      const updated = readerRole === "user"
        ? { ...conversation, unreadByUser: conversation.unreadByUser.filter((s) => s > upTo) }
        : { ...conversation, unreadByAgents: conversation.unreadByAgents.filter((s) => s > upTo) };
      return { ...next, conversations: withEntry(state.conversations, userId, updated) };
    }
    case "SettingsChanged": {
      const settings = { ...state.settings, ...event.data };
      // A URL set where there was none hears only of what comes next; a changed URL takes
      // over what was still waiting for the old one.
      const fresh = event.data.webhookUrl && !state.settings.webhookUrl;
      return fresh ? { ...next, settings, webhookSince: seq } : { ...next, settings };
    }
    case "PresenceReset": {
      const agents = mapValues(
        state.agents,
        (a) => (isOnline(a) ? { ...a, sockets: [], offlineAt: event.at } : a),
      );
      return { ...next, users: new Map(), agents };
    }
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** Folds events over a state (the initial one unless given). */
export function fold(events: Iterable<CompanyEvent>, state = initialState()): CompanyState {
  // The intermediate states of a fold are never seen outside it, so the maps it copies can be
  // written in place after their first copy: each map is copied once per fold, not once per
  // event. The given state is never touched, and nothing outside sees a map change.
  const outer = drafts;
  drafts = new Set();
  try {
    for (const event of events) state = evolve(state, event);
    return state;
  } finally {
    drafts = outer;
  }
}

/** Inside `fold`: the maps this fold made, which it may write in place. */
let drafts: Set<ReadonlyMap<string, unknown>> | null = null;

function draft<V>(map: ReadonlyMap<string, V>): Map<string, V> {
  if (drafts?.has(map)) return map as Map<string, V>;
  const copy = new Map(map);
  drafts?.add(copy);
  return copy;
}

/** A timer the runtime must deliver: at `due`, dispatch `command`. */
export interface Timer {
  readonly due: number;
  readonly command: CompanyCommand;
}

/** The timers a state asks for: one per offline agent still holding conversations. */
export function pendingTimers(state: CompanyState): Timer[] {
  const timers: Timer[] = [];
  for (const [agentId, agent] of state.agents) {
    if (isOnline(agent) || agent.offlineAt === null) continue;
    if (assignedTo(state, agentId).length === 0) continue;
    const due = agent.offlineAt + state.settings.agentGraceSeconds * 1000;
    timers.push({ due, command: { type: "ExpireGrace", data: { agentId, at: due } } });
  }
  return timers;
}

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
  for (const agent of state.agents.values()) if (agent.sockets.length > 0) return true;
  return false;
}

/** The conversations assigned to an agent, oldest assignment first. */
export function assignedTo(state: CompanyState, agentId: string): Conversation[] {
  return [...state.conversations.values()].filter(
    (c) => c.status === "assigned" && c.assignee === agentId,
  );
}

/** How many conversations an agent holds. */
export function loadOf(state: CompanyState, agentId: string): number {
  let n = 0;
  for (const c of state.conversations.values()) {
    if (c.status === "assigned" && c.assignee === agentId) n++;
  }
  return n;
}

/** The seq of the last kept item an agent was shown (0 if none). */
export function backlogSeenBy(c: Conversation, agentId: string): number {
  return c.backlogSeen.find(([id]) => id === agentId)?.[1] ?? 0;
}

/** Unread counts saturate: a conversation tracks its newest unread seqs only. */
export const MAX_UNREAD = 100;

function withUnread(unread: readonly number[], seq: number): readonly number[] {
  return unread.length < MAX_UNREAD ? [...unread, seq] : [...unread.slice(1), seq];
}

function senderKey(role: string, id: string): string {
  return `${role}:${id}`;
}

/** Whether an agent can take one more conversation. */
function hasRoom(state: CompanyState, agentId: string): boolean {
  return loadOf(state, agentId) < state.settings.maxChatsPerAgent;
}

function openConversation(state: CompanyState, userId: string): Conversation | undefined {
  const c = state.conversations.get(userId);
  return c && (c.status === "queued" || c.status === "assigned") ? c : undefined;
}

/**
 * The agent auto-assignment picks: connected, available, with room; the least loaded,
 * then the one assigned least recently, then by id so the choice is deterministic.
 */
export function pickAgent(state: CompanyState, avoid?: string | null): string | undefined {
  let best: { id: string; load: number; last: number } | undefined;
  for (const [id, agent] of state.agents) {
    if (id === avoid || !isOnline(agent) || agent.status !== "available") continue;
    const load = loadOf(state, id);
    if (load >= state.settings.maxChatsPerAgent) continue;
    const candidate = { id, load, last: agent.lastAssignedSeq };
    if (
      !best || load < best.load || (load === best.load && candidate.last < best.last) ||
      (load === best.load && candidate.last === best.last && id < best.id)
    ) best = candidate;
  }
  return best?.id;
}

/** Events decided so far, applied to a working state so later steps see them. */
class Plan {
  readonly events: CompanyEvent[] = [];
  readonly states: CompanyState[];
  constructor(public state: CompanyState) {
    this.states = [state];
  }

  emit(event: CompanyEvent): this {
    this.events.push(event);
    this.state = evolve(this.state, event);
    this.states.push(this.state);
    return this;
  }

  conversation(userId: string): Conversation {
    return this.state.conversations.get(userId)!;
  }

  /** The user's current conversation id, opening a new one if there is none or it was closed. */
  ensureConversation(userId: string, freshId: string, at: number): string {
    const existing = this.state.conversations.get(userId);
    if (existing && existing.status !== "resolved") return existing.id;
    this.emit({ type: "ConversationOpened", at, data: { conversationId: freshId, userId } });
    return freshId;
  }

  /**
   * In auto mode, assigns queued conversations, first come first served, while an agent
   * has room. A released conversation never goes straight back to the agent who released it.
   */
  drain(at: number): this {
    if (this.state.settings.assignment !== "auto") return this;
    let assigned = true;
    while (assigned && pickAgent(this.state) !== undefined) {
      assigned = false;
      for (const userId of this.state.queue) {
        const agentId = pickAgent(this.state, this.conversation(userId).releasedBy);
        if (agentId === undefined) continue;
        this.assign(userId, agentId, at);
        assigned = true;
        break;
      }
    }
    return this;
  }

  done(): Decision {
    return this.events.length > 0
      ? { ok: true, events: this.events, states: this.states }
      : { ok: true, events: [] };
  }

  private assign(userId: string, agentId: string, at: number): void {
    const conversationId = this.conversation(userId).id;
    this.emit({
      type: "ConversationAssigned",
      at,
      data: { conversationId, userId, agentId, by: "auto" },
    });
  }
}

function reject(code: ErrorCode, message: string): Decision {
  return { ok: false, rejection: { code, message } };
}

function withEntry<V>(map: ReadonlyMap<string, V>, key: string, value: V): ReadonlyMap<string, V> {
  return draft(map).set(key, value);
}

function without<V>(map: ReadonlyMap<string, V>, key: string): ReadonlyMap<string, V> {
  const copy = draft(map);
  copy.delete(key);
  return copy;
}

function mapValues<V>(map: ReadonlyMap<string, V>, f: (v: V) => V): ReadonlyMap<string, V> {
  return new Map([...map].map(([k, v]) => [k, f(v)]));
}
