/**
 * Routing: who receives what when an event happens. Pure; the Socket.IO adapter only
 * maps audiences to rooms (inside the event's company) and emits.
 */
import { backlogSeenBy, evolve, isOnline, loadOf, MAX_UNREAD } from "./decider.ts";
import type {
  Audience,
  CompanyEvent,
  CompanyState,
  Conversation,
  Delivery,
  Pending,
  Role,
} from "./types.ts";

type Payload = Delivery["payload"];

const AGENTS = { kind: "agents" } as const;

/**
 * The deliveries of `event`, given the state just before it was applied (and the state after
 * it, when the caller has it already).
 */
export function deliveries(
  state: CompanyState,
  event: CompanyEvent,
  applied?: CompanyState,
): Delivery[] {
  const seq = state.version + 1;
  const next = () => applied ?? evolve(state, event);
  switch (event.type) {
    case "SocketConnected": {
      const { userId, role, socketId, resumed } = event.data;
      const socket = { kind: "socket", socketId } as const;
      const conversation = state.conversations.get(userId);
      // What was kept for an absent side goes to its next socket, unless that socket resumes
      // from the log and gets it from there.
      if (role === "user") {
        const first = !state.users.has(userId);
        return [
          ...(first
            ? [{ to: AGENTS, event: "user_connected", payload: { user_id: userId } } as const]
            : []),
          ...(conversation ? [conversationDelivery(socket, state, conversation, false)] : []),
          ...(conversation?.status === "queued"
            ? [
              {
                to: socket,
                event: "queue",
                payload: { position: positionOf(state, userId) },
              } as const,
            ]
            : []),
          ...(first && !resumed ? conversation?.forUser ?? [] : []).map((p) =>
            pendingDelivery(socket, conversation!, p, false)
          ),
        ];
      }
      const after = next();
      const comingOnline = !isOnline(state.agents.get(userId));
      const open = [...state.conversations.values()].filter(
        (c) => c.status === "queued" || c.status === "assigned",
      );
      // What users said while no agent was online, not yet shown to this agent (a resuming
      // socket gets it from the log instead).
      const waiting = resumed ? [] : [...state.conversations.values()]
        .flatMap((c) => {
          const seen = backlogSeenBy(c, userId);
          return c.forAgents.filter((p) => p.seq > seen).map((p) => ({ c, p }));
        })
        .sort((a, b) => a.p.seq - b.p.seq);
      return [
        { to: socket, event: "user_list", payload: { users: [...state.users.keys()] } },
        { to: socket, event: "queue", payload: queueView(state) },
        ...open.map((c) => conversationDelivery(socket, state, c, true)),
        ...[...after.agents.keys()].filter((id) => id !== userId && isOnline(after.agents.get(id)))
          .map((
            id,
          ) => ({ to: socket, event: "agent_status", payload: agentView(after, id) } as const)),
        ...(comingOnline
          ? [{ to: AGENTS, event: "agent_status", payload: agentView(after, userId) } as const]
          : []),
        ...waiting.map(({ c, p }) => pendingDelivery(socket, c, p, true)),
      ];
    }
    case "SocketDisconnected": {
      const { userId, role, socketId } = event.data;
      const sockets = role === "user" ? state.users.get(userId) : state.agents.get(userId)?.sockets;
      if (!sockets || sockets.length !== 1 || sockets[0] !== socketId) return [];
      if (role === "agent") {
        return [{
          to: AGENTS,
          event: "agent_status",
          payload: agentView(next(), userId),
        }];
      }
      return [{ to: AGENTS, event: "user_disconnected", payload: { user_id: userId } }];
    }
    case "MessageSent": {
      const { userId, senderId, senderRole, socketId, transcript } = event.data;
      // The bot's transcript is history, not live traffic: it is read with `history`.
      if (transcript) return [];
      const payload = messagePayload({ ...event.data, seq, at: event.at });
      const other: Audience = senderRole === "user" ? AGENTS : { kind: "user", userId };
      const out: Delivery[] = [{ to: other, event: "message", payload }];
      // The sender's other tabs get a copy; a sender with no other tab costs no second emit.
      const own = senderRole === "user"
        ? state.users.get(userId)
        : senderRole === "agent"
        ? state.agents.get(senderId)?.sockets
        : undefined;
      // Only the first socket of an identity is recorded, so its other tabs are not known here:
      // the copy goes to the sender's room without the sending socket (an adapter skips it when
      // that socket is alone there).
      if (own && own.length > 0 && socketId !== undefined) {
        const self: Audience = senderRole === "user"
          ? { kind: "user", userId }
          : { kind: "agent", userId: senderId };
        out.push({
          to: self,
          except: socketId,
          event: "message",
          payload,
        });
      }
      // The receiving side's unread count moved: its `conversation` says so.
      const conversation = state.conversations.get(userId);
      if (conversation) {
        const forAgents = senderRole === "user";
        const unread = Math.min(
          (forAgents ? conversation.unreadByAgents : conversation.unreadByUser).length + 1,
          MAX_UNREAD,
        );
        out.push({
          to: other,
          event: "conversation",
          payload: { ...conversationView(state, conversation, forAgents), unread },
        });
      }
      return out;
    }
    case "HandedOff": {
      const { userId, context } = event.data;
      const out: Delivery[] = [
        { to: { kind: "user", userId }, event: "chatbot_context", payload: { context } },
        { to: AGENTS, event: "chatbot_context", payload: { context, user_id: userId } },
      ];
      const after = next();
      const conversation = after.conversations.get(userId);
      // A fresh handoff is announced by the queueing that follows; a repeated one here.
      if (conversation && conversation.status !== "bot") {
        out.push(...conversationChanged(after, conversation));
      }
      return out;
    }
    case "ConversationQueued":
    case "ConversationAssigned":
    case "ConversationTransferred":
    case "ConversationResolved": {
      const after = next();
      const conversation = after.conversations.get(event.data.userId);
      // The agent who picks the conversation up is shown what was kept that they have not seen.
      const assignee = event.type === "ConversationAssigned"
        ? event.data.agentId
        : event.type === "ConversationTransferred"
        ? event.data.toAgentId
        : undefined;
      const before = state.conversations.get(event.data.userId);
      const kept = assignee && before
        ? before.forAgents.filter((p) => p.seq > backlogSeenBy(before, assignee))
        : [];
      return [
        ...kept.map((p) => pendingDelivery({ kind: "agent", userId: assignee! }, before!, p, true)),
        ...(conversation ? conversationChanged(after, conversation) : []),
        ...queueChanges(state, after),
        ...agentLoadChanges(state, after, event),
      ];
    }
    case "AgentStatusChanged": {
      const after = next();
      return [{ to: AGENTS, event: "agent_status", payload: agentView(after, event.data.agentId) }];
    }
    case "MessagesRead": {
      const { userId, readerId, readerRole, seq: upTo } = event.data;
      const payload = { user_id: userId, reader: readerId, role: readerRole, seq: upTo };
      const after = next();
      const conversation = after.conversations.get(userId);
      return [
        { to: { kind: "user", userId }, event: "read", payload },
        { to: AGENTS, event: "read", payload },
        ...(conversation ? conversationChanged(after, conversation) : []),
      ];
    }
    case "ConversationOpened":
    case "SettingsChanged":
    case "PresenceReset":
      return [];
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** The `message` payload: the predecessor's fields plus the engine's (DESIGN §5.2). */
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

function positionOf(state: CompanyState, userId: string): number | null {
  const i = state.queue.indexOf(userId);
  return i < 0 ? null : i + 1;
}

function conversationDelivery(
  to: Audience,
  state: CompanyState,
  c: Conversation,
  forAgents: boolean,
): Delivery {
  return { to, event: "conversation", payload: conversationView(state, c, forAgents) };
}

function conversationChanged(after: CompanyState, c: Conversation): Delivery[] {
  return [
    conversationDelivery({ kind: "user", userId: c.userId }, after, c, false),
    conversationDelivery(AGENTS, after, c, true),
  ];
}

/** `queue` to agents when the queue changed, and to each user whose position changed. */
function queueChanges(before: CompanyState, after: CompanyState): Delivery[] {
  if (before.queue === after.queue) return [];
  const out: Delivery[] = [{ to: AGENTS, event: "queue", payload: queueView(after) }];
  for (const userId of new Set([...before.queue, ...after.queue])) {
    const was = positionOf(before, userId);
    const is = positionOf(after, userId);
    if (was !== is) {
      out.push({ to: { kind: "user", userId }, event: "queue", payload: { position: is } });
    }
  }
  return out;
}

/** `agent_status` for agents whose load an assignment change moved. */
function agentLoadChanges(
  before: CompanyState,
  after: CompanyState,
  event: CompanyEvent,
): Delivery[] {
  const was = before.conversations.get((event.data as { userId: string }).userId)?.assignee;
  const is = after.conversations.get((event.data as { userId: string }).userId)?.assignee;
  if (was === is) return [];
  return [was, is].filter((id): id is string => typeof id === "string")
    .map((id) => ({ to: AGENTS, event: "agent_status", payload: agentView(after, id) }));
}

function pendingDelivery(
  to: Audience,
  conversation: Conversation,
  pending: Pending,
  forAgents: boolean,
): Delivery {
  const { userId, id: conversationId } = conversation;
  if (pending.kind === "context") {
    const payload: Payload = forAgents
      ? { context: pending.context, user_id: userId }
      : { context: pending.context };
    return { to, event: "chatbot_context", payload };
  }
  return { to, event: "message", payload: messagePayload({ ...pending, userId, conversationId }) };
}
