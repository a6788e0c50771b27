/**
 * Routing: who receives what when an event happens. Pure; the Socket.IO adapter only
 * maps audiences to rooms (inside the event's company) and emits.
 */
import type {
  CompanyEvent,
  CompanyState,
  Conversation,
  Delivery,
  JsonValue,
  Pending,
  SocketRole,
} from "./types.ts";

const AGENTS = { kind: "agents" } as const;

/** The deliveries of `event`, given the state just before it was applied. */
export function deliveries(state: CompanyState, event: CompanyEvent): Delivery[] {
  const seq = state.version + 1;
  switch (event.type) {
    case "SocketConnected": {
      const { userId, role, socketId } = event.data;
      const socket = { kind: "socket", socketId } as const;
      if (role === "user") {
        if (state.users.has(userId)) return [];
        const conversation = state.conversations.get(userId);
        return [
          { to: AGENTS, event: "user_connected", payload: { user_id: userId } },
          ...(conversation?.forUser ?? []).map((p) =>
            pendingDelivery(socket, conversation!, p, false)
          ),
        ];
      }
      const list: Delivery = {
        to: socket,
        event: "user_list",
        payload: { users: [...state.users.keys()] },
      };
      if (state.agents.size > 0) return [list];
      const waiting = [...state.conversations.values()]
        .flatMap((c) => c.forAgents.map((p) => ({ c, p })))
        .sort((a, b) => a.p.seq - b.p.seq);
      return [list, ...waiting.map(({ c, p }) => pendingDelivery(socket, c, p, true))];
    }
    case "SocketDisconnected": {
      const { userId, role, socketId } = event.data;
      const sockets = role === "user" ? state.users.get(userId) : undefined;
      if (!sockets || sockets.length !== 1 || sockets[0] !== socketId) return [];
      return [{ to: AGENTS, event: "user_disconnected", payload: { user_id: userId } }];
    }
    case "MessageSent": {
      const { userId, senderId, senderRole, socketId, messageId, conversationId, text } =
        event.data;
      const payload = messagePayload({
        seq,
        at: event.at,
        messageId,
        conversationId,
        userId,
        senderId,
        senderRole,
        text,
      });
      const self = senderRole === "user"
        ? { kind: "user", userId } as const
        : { kind: "agent", userId: senderId } as const;
      const other = senderRole === "user" ? AGENTS : { kind: "user", userId } as const;
      return [
        { to: other, event: "message", payload },
        {
          to: self,
          ...(socketId === undefined ? {} : { except: socketId }),
          event: "message",
          payload,
        },
      ];
    }
    case "HandedOff": {
      const { userId, context } = event.data;
      return [
        { to: { kind: "user", userId }, event: "chatbot_context", payload: { context } },
        { to: AGENTS, event: "chatbot_context", payload: { context, user_id: userId } },
      ];
    }
    case "ConversationOpened":
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
  senderRole: SocketRole;
  text: string;
}): { [key: string]: JsonValue } {
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

function pendingDelivery(
  to: Delivery["to"],
  conversation: Conversation,
  pending: Pending,
  forAgents: boolean,
): Delivery {
  const { userId, id: conversationId } = conversation;
  if (pending.kind === "context") {
    const payload: Delivery["payload"] = forAgents
      ? { context: pending.context, user_id: userId }
      : { context: pending.context };
    return { to, event: "chatbot_context", payload };
  }
  return { to, event: "message", payload: messagePayload({ ...pending, userId, conversationId }) };
}
