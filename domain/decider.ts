/**
 * The company decider: `initialState`, `decide` and `evolve`. Pure functions; the
 * runtime feeds them commands that already carry time and fresh ids.
 */
import type {
  CompanyCommand,
  CompanyEvent,
  CompanyState,
  Conversation,
  Decision,
  ErrorCode,
  Pending,
  SocketRole,
} from "./types.ts";

/** The state of a company with no events. */
export function initialState(): CompanyState {
  return { version: 0, users: new Map(), agents: new Map(), conversations: new Map() };
}

/** Decides what a command does to a company: events to record, or a rejection. */
export function decide(state: CompanyState, command: CompanyCommand): Decision {
  switch (command.type) {
    case "Connect": {
      const { userId, role, socketId, at } = command.data;
      if (role === "bot") return reject("forbidden", "Bot tokens are for the HTTP API only");
      if (socketsOf(state, role, userId).includes(socketId)) return accept([]);
      return accept([{ type: "SocketConnected", at, data: { userId, role, socketId } }]);
    }
    case "Disconnect": {
      const { userId, role, socketId, at } = command.data;
      if (role === "bot" || !socketsOf(state, role, userId).includes(socketId)) return accept([]);
      return accept([{ type: "SocketDisconnected", at, data: { userId, role, socketId } }]);
    }
    case "SendMessage": {
      const { sender, userId, text, messageId, socketId, at } = command.data;
      if (sender.role === "bot") {
        return reject("forbidden", "Bots hand users over with /transfer_to_agent");
      }
      if (sender.role === "user" && sender.userId !== userId) {
        return reject("forbidden", "A user can only write in their own conversation");
      }
      if (text.trim() === "") return reject("invalid_payload", "A message needs some content");
      const [opened, conversationId] = openIfNeeded(state, userId, command.data.conversationId, at);
      const sent: CompanyEvent = {
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
        },
      };
      return accept([...opened, sent]);
    }
    case "TransferToAgent": {
      const { userId, context, at } = command.data;
      const [opened, conversationId] = openIfNeeded(state, userId, command.data.conversationId, at);
      return accept([...opened, {
        type: "HandedOff",
        at,
        data: { conversationId, userId, context },
      }]);
    }
    case "ResetPresence": {
      if (state.users.size === 0 && state.agents.size === 0) return accept([]);
      return accept([{ type: "PresenceReset", at: command.data.at, data: {} }]);
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
      const sockets = socketsOf(state, role, userId);
      if (role === "agent") {
        const conversations = state.agents.size === 0
          ? mapValues(state.conversations, (c) => c.forAgents.length ? { ...c, forAgents: [] } : c)
          : state.conversations;
        return {
          ...next,
          agents: withEntry(state.agents, userId, [...sockets, socketId]),
          conversations,
        };
      }
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
      const key = role === "agent" ? "agents" : "users";
      const rest = socketsOf(state, role, userId).filter((s) => s !== socketId);
      return {
        ...next,
        [key]: rest.length ? withEntry(state[key], userId, rest) : without(state[key], userId),
      };
    }
    case "ConversationOpened": {
      const { conversationId: id, userId } = event.data;
      const conversation: Conversation = { id, userId, context: null, forAgents: [], forUser: [] };
      return { ...next, conversations: withEntry(state.conversations, userId, conversation) };
    }
    case "MessageSent": {
      const { userId, senderRole } = event.data;
      const conversation = state.conversations.get(userId);
      const unseen = senderRole === "user" ? state.agents.size === 0 : !state.users.has(userId);
      if (!conversation || !unseen) return next;
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
      const updated = senderRole === "user"
        ? { ...conversation, forAgents: [...conversation.forAgents, pending] }
        : { ...conversation, forUser: [...conversation.forUser, pending] };
      return { ...next, conversations: withEntry(state.conversations, userId, updated) };
    }
    case "HandedOff": {
      const { userId, context } = event.data;
      const conversation = state.conversations.get(userId);
      if (!conversation) return next;
      const forAgents = state.agents.size === 0
        ? [...conversation.forAgents, { kind: "context", seq, at: event.at, context } as const]
        : conversation.forAgents;
      const updated = { ...conversation, context, forAgents };
      return { ...next, conversations: withEntry(state.conversations, userId, updated) };
    }
    case "PresenceReset":
      return { ...next, users: new Map(), agents: new Map() };
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** Folds events over a state (the initial one unless given). */
export function fold(events: Iterable<CompanyEvent>, state = initialState()): CompanyState {
  for (const event of events) state = evolve(state, event);
  return state;
}

/** The open sockets of a user or an agent. */
export function socketsOf(
  state: CompanyState,
  role: SocketRole,
  userId: string,
): readonly string[] {
  return (role === "agent" ? state.agents : state.users).get(userId) ?? [];
}

function openIfNeeded(
  state: CompanyState,
  userId: string,
  freshId: string,
  at: number,
): [CompanyEvent[], string] {
  const existing = state.conversations.get(userId);
  if (existing) return [[], existing.id];
  return [[{ type: "ConversationOpened", at, data: { conversationId: freshId, userId } }], freshId];
}

function accept(events: readonly CompanyEvent[]): Decision {
  return { ok: true, events };
}

function reject(code: ErrorCode, message: string): Decision {
  return { ok: false, rejection: { code, message } };
}

function withEntry<V>(map: ReadonlyMap<string, V>, key: string, value: V): ReadonlyMap<string, V> {
  return new Map(map).set(key, value);
}

function without<V>(map: ReadonlyMap<string, V>, key: string): ReadonlyMap<string, V> {
  const copy = new Map(map);
  copy.delete(key);
  return copy;
}

function mapValues<V>(map: ReadonlyMap<string, V>, f: (v: V) => V): ReadonlyMap<string, V> {
  return new Map([...map].map(([k, v]) => [k, f(v)]));
}
