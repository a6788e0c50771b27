/**
 * Routing: who receives what. Pure; the Socket.IO adapter only maps audiences to rooms
 * (inside the event's company) and emits.
 *
 * One set of per-event rules serves both paths: `deliveries` for a live event, and
 * `resumeDeliveries` for a socket that reconnects and is replayed, from the log, what
 * clients keep (messages, handoff contexts, read receipts, agents' notes and ratings).
 * `reaches` says which sockets an audience holds, for the publisher.
 *
 * Over 400 lines on purpose: who receives what is read as one piece, and the rules that
 * resume shares with live delivery must sit beside the ones it does not.
 */
import { evolve } from "./evolve/mod.ts";
import {
  anyAgentAvailable,
  backlogSeenBy,
  currentConversation,
  inOpeningOrder,
  isOnline,
  MAX_UNREAD,
  resolvedConversation,
} from "./state.ts";
import type {
  Audience,
  CompanyEvent,
  CompanyState,
  Conversation,
  Delivery,
  EventOf,
  Pending,
  SocketRole,
} from "./types.ts";
import {
  agentView,
  conversationView,
  messagePayload,
  notePayload,
  type Payload,
  QUEUE_PAGE,
  queueEntry,
  queueView,
  ratingPayload,
  shownPosition,
  shownPositionOf,
} from "./views.ts";

const AGENTS = { kind: "agents" } as const;
const USERS = { kind: "users" } as const;

/** A socket of a company: who holds it, and its id when it has one yet. */
export interface Recipient {
  readonly role: SocketRole;
  readonly userId: string;
  readonly socketId?: string;
}

/** Whether an audience includes a socket held by `who`. */
export function reaches(to: Audience, who: Recipient): boolean {
  switch (to.kind) {
    case "socket":
      return to.socketId === who.socketId;
    case "user":
      return who.role === "user" && to.userId === who.userId;
    case "agent":
      return who.role === "agent" && to.userId === who.userId;
    case "agents":
      return who.role === "agent";
    case "users":
      return who.role === "user";
    default: {
      const _exhaustive: never = to;
      return _exhaustive;
    }
  }
}

/** The deliveries of `event`, given the state just before it was applied. */
export function deliveries(state: CompanyState, event: CompanyEvent): Delivery[] {
  return routed(state, event, () => evolve(state, event));
}

/**
 * What a socket of `who` that reconnects is replayed of a stored event (its `seq`): the
 * deliveries clients keep that reach it. A reconnecting socket is new, so what skipped
 * the sending socket (`except`) reaches it.
 */
export function resumeDeliveries(
  event: CompanyEvent,
  seq: number,
  who: Recipient,
): Omit<Delivery, "to" | "except">[] {
  return kept(event, seq)
    .filter((d) => reaches(d.to, who))
    .map(({ event, payload }) => ({ event, payload }));
}

/**
 * The deliveries of `event` given the state before it and, when a rule needs it, the state
 * after it (`after` is called at most once, and only then).
 */
export function routed(
  before: CompanyState,
  event: CompanyEvent,
  after: () => CompanyState,
): Delivery[] {
  const seq = before.version + 1;
  switch (event.type) {
    case "SocketConnected": {
      if (event.data.role === "user") return userConnected(before, event);
      const next = after();
      return [...agentConnected(before, event, next), ...availabilityChange(before, next)];
    }
    case "SocketDisconnected": {
      if (event.data.role === "user") return socketDisconnected(before, event, after);
      const next = after();
      return [
        ...socketDisconnected(before, event, () => next),
        ...availabilityChange(before, next),
      ];
    }
    case "MessageSent":
      return messageSent(before, event, seq);
    case "HandedOff":
      return handedOff(event, after());
    case "ConversationQueued":
    case "ConversationAssigned":
    case "ConversationTransferred":
    case "ConversationResolved":
      return conversationMoved(before, event, after());
    case "AgentStatusChanged": {
      const next = after();
      return [
        { to: AGENTS, event: "agent_status", payload: agentView(next, event.data.agentId) },
        ...availabilityChange(before, next),
      ];
    }
    case "MessagesRead":
      return messagesRead(event, after());
    case "NoteAdded":
      return [noteRoute(event, seq)];
    case "ConversationRated":
      return conversationRated(event, seq, after());
    case "ConversationOpened":
    case "SettingsChanged":
    case "CannedResponsesSet":
    // Nobody is online after a reset: each user is told of the agents when they reconnect.
    case "PresenceReset":
      return [];
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/**
 * The deliveries clients keep (messages, handoff contexts, read receipts; for agents, notes and
 * ratings), as addressed by the event alone: the live rules send these (the sender's own copy
 * to its other tabs), and a reconnecting socket is replayed the ones that reach it.
 */
function kept(event: CompanyEvent, seq: number): Delivery[] {
  switch (event.type) {
    case "MessageSent": {
      const routes = messageRoutes(event, seq);
      return routes ? (routes.own ? [routes.other, routes.own] : [routes.other]) : [];
    }
    case "HandedOff":
      return contextRoutes(event);
    case "MessagesRead":
      return readRoutes(event);
    case "NoteAdded":
      return [noteRoute(event, seq)];
    case "ConversationRated":
      return [ratingRoute(event, seq)];
    case "SocketConnected":
    case "SocketDisconnected":
    case "ConversationOpened":
    case "ConversationQueued":
    case "ConversationAssigned":
    case "ConversationTransferred":
    case "ConversationResolved":
    case "AgentStatusChanged":
    case "SettingsChanged":
    case "CannedResponsesSet":
    case "PresenceReset":
      return [];
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** A private note: to the company's agents, never to the user. */
function noteRoute(event: EventOf<"NoteAdded">, seq: number): Delivery {
  return { to: AGENTS, event: "note", payload: notePayload(event, seq) };
}

/** A rating: to the company's agents. */
function ratingRoute(event: EventOf<"ConversationRated">, seq: number): Delivery {
  return { to: AGENTS, event: "rating", payload: ratingPayload(event, seq) };
}

/**
 * `availability` to every user's sockets when the company goes from no available agent to one,
 * or back: one delivery to the users' room, only on a flip, so an agent's coming and going
 * costs nothing per user besides that one emit.
 */
function availabilityChange(before: CompanyState, after: CompanyState): Delivery[] {
  const online = anyAgentAvailable(after);
  if (anyAgentAvailable(before) === online) return [];
  return [{ to: USERS, event: "availability", payload: { agents_online: online } }];
}

/** A message to the other side, and a copy to the sender's other tabs; none for a transcript. */
function messageRoutes(
  event: EventOf<"MessageSent">,
  seq: number,
): { other: Delivery; own: Delivery | null } | null {
  const { userId, senderId, senderRole, socketId, transcript } = event.data;
  // The bot's transcript is history, not live traffic: it is read with `history`.
  if (transcript) return null;
  const payload = messagePayload({ ...event.data, seq, at: event.at });
  const other: Audience = senderRole === "user" ? AGENTS : { kind: "user", userId };
  const self: Audience | null = senderRole === "user"
    ? { kind: "user", userId }
    : senderRole === "agent"
    ? { kind: "agent", userId: senderId }
    : null;
  return {
    other: { to: other, event: "message", payload },
    own: self &&
      {
        to: self,
        ...(socketId === undefined ? {} : { except: socketId }),
        event: "message",
        payload,
      },
  };
}

/** The bot's context, to the user and to the agents (who are told whose it is). */
function contextRoutes(event: EventOf<"HandedOff">): Delivery[] {
  const { userId, context } = event.data;
  return [
    { to: { kind: "user", userId }, event: "chatbot_context", payload: { context } },
    { to: AGENTS, event: "chatbot_context", payload: { context, user_id: userId } },
  ];
}

/** A read receipt, to the user and to the agents. */
function readRoutes(event: EventOf<"MessagesRead">): Delivery[] {
  const { userId, readerId, readerRole, seq } = event.data;
  const payload = { user_id: userId, reader: readerId, role: readerRole, seq };
  return [
    { to: { kind: "user", userId }, event: "read", payload },
    { to: AGENTS, event: "read", payload },
  ];
}

/**
 * A user's socket opens: agents hear of a user coming online; the socket gets its
 * conversation, whether an agent is available, its queue place, and what was kept for the user
 * (unless it resumes from the log and gets that from there).
 */
function userConnected(state: CompanyState, event: EventOf<"SocketConnected">): Delivery[] {
  const { userId, socketId, resumed } = event.data;
  const socket = { kind: "socket", socketId } as const;
  // The open conversation, or the one closed last (its status, what was kept for the user).
  const conversation = currentConversation(state, userId);
  const first = !state.users.has(userId);
  return [
    ...(first
      ? [{ to: AGENTS, event: "user_connected", payload: { user_id: userId } } as const]
      : []),
    ...(conversation ? [conversationDelivery(socket, state, conversation, false)] : []),
    { to: socket, event: "availability", payload: { agents_online: anyAgentAvailable(state) } },
    ...(conversation?.status === "queued"
      ? [
        {
          to: socket,
          event: "queue",
          payload: { position: shownPositionOf(state, userId) },
        } as const,
      ]
      : []),
    ...(first && !resumed ? conversation?.forUser ?? [] : []).map((p, i) =>
      pendingDelivery(socket, conversation!, p, false, i === 0 ? conversation!.forUserEarlier : 0)
    ),
  ];
}

/**
 * An agent's socket opens: it gets the online users, the queue, the open conversations,
 * every online agent's status (its own included, so a second tab or a reload shows the status
 * chosen in another), and what users said while no agent was online that this agent has not
 * seen (unless it resumes from the log); the other agents hear of an agent coming online.
 */
function agentConnected(
  state: CompanyState,
  event: EventOf<"SocketConnected">,
  after: CompanyState,
): Delivery[] {
  const { userId, socketId, resumed } = event.data;
  const socket = { kind: "socket", socketId } as const;
  const comingOnline = !isOnline(state.agents.get(userId));
  const open = inOpeningOrder(state).filter(
    (c) => c.status === "queued" || c.status === "assigned",
  );
  const waiting = resumed ? [] : [...state.conversations.values()]
    .flatMap((c) => {
      const seen = backlogSeenBy(c, userId);
      const earlier = earlierFor(c, seen);
      return c.forAgents.filter((p) => p.seq > seen)
        .map((p, i) => ({ c, p, earlier: i === 0 ? earlier : 0 }));
    })
    .sort((a, b) => a.p.seq - b.p.seq);
  return [
    { to: socket, event: "user_list", payload: { users: [...state.users.keys()] } },
    { to: socket, event: "queue", payload: queueView(state) },
    ...open.map((c) => conversationDelivery(socket, state, c, true)),
    ...[...after.agents.keys()].filter((id) => isOnline(after.agents.get(id)))
      .map((id) => ({ to: socket, event: "agent_status", payload: agentView(after, id) } as const)),
    ...(comingOnline
      ? [
        {
          to: AGENTS,
          except: socketId,
          event: "agent_status",
          payload: agentView(after, userId),
        } as const,
      ]
      : []),
    ...waiting.map(({ c, p, earlier }) => pendingDelivery(socket, c, p, true, earlier)),
  ];
}

/** A last socket closes: agents hear that the user or the agent went offline. */
function socketDisconnected(
  state: CompanyState,
  event: EventOf<"SocketDisconnected">,
  after: () => CompanyState,
): Delivery[] {
  const { userId, role, socketId } = event.data;
  const sockets = role === "user" ? state.users.get(userId) : state.agents.get(userId)?.sockets;
  if (!sockets || sockets.length !== 1 || sockets[0] !== socketId) return [];
  if (role === "agent") {
    return [{ to: AGENTS, event: "agent_status", payload: agentView(after(), userId) }];
  }
  return [{ to: AGENTS, event: "user_disconnected", payload: { user_id: userId } }];
}

/** A message, its copy for the sender's other tabs, and the receiving side's unread count. */
function messageSent(state: CompanyState, event: EventOf<"MessageSent">, seq: number): Delivery[] {
  const routes = messageRoutes(event, seq);
  if (!routes) return [];
  const { userId, senderId, senderRole, socketId } = event.data;
  const out: Delivery[] = [routes.other];
  // The sender's other tabs get a copy. Only an identity's first socket is recorded, so its
  // other tabs are not known here: the copy goes to the sender's room without the sending
  // socket (the publisher skips it when that socket is alone there).
  const own = senderRole === "user"
    ? state.users.get(userId)
    : senderRole === "agent"
    ? state.agents.get(senderId)?.sockets
    : undefined;
  if (routes.own && own && own.length > 0 && socketId !== undefined) out.push(routes.own);
  // The receiving side's unread count moved: its `conversation` says so.
  const conversation = state.conversations.get(userId);
  if (conversation) {
    const forAgents = senderRole === "user";
    const unread = Math.min(
      (forAgents ? conversation.unreadByAgents : conversation.unreadByUser).length + 1,
      MAX_UNREAD,
    );
    out.push({
      to: routes.other.to,
      event: "conversation",
      payload: { ...conversationView(state, conversation, forAgents), unread },
    });
  }
  return out;
}

/** The bot's context; a repeated handoff (the conversation already queued) is announced here. */
function handedOff(event: EventOf<"HandedOff">, after: CompanyState): Delivery[] {
  const conversation = after.conversations.get(event.data.userId);
  // A fresh handoff is announced by the queueing that follows.
  return conversation && conversation.status !== "bot"
    ? [...contextRoutes(event), ...conversationChanged(after, conversation)]
    : contextRoutes(event);
}

/**
 * A conversation queued, assigned, transferred or resolved: both sides see it; the queue and
 * the agents' loads that moved are announced; an agent picking it up is shown what was kept
 * that they have not seen.
 */
function conversationMoved(
  before: CompanyState,
  event: EventOf<
    | "ConversationQueued"
    | "ConversationAssigned"
    | "ConversationTransferred"
    | "ConversationResolved"
  >,
  after: CompanyState,
): Delivery[] {
  const { userId } = event.data;
  const was = before.conversations.get(userId);
  // A closed conversation left the state: both sides are shown it as it was closed.
  const conversation = after.conversations.get(userId) ??
    (event.type === "ConversationResolved" && was ? resolvedConversation(was) : undefined);
  const assignee = event.type === "ConversationAssigned"
    ? event.data.agentId
    : event.type === "ConversationTransferred"
    ? event.data.toAgentId
    : undefined;
  const seen = assignee && was ? backlogSeenBy(was, assignee) : 0;
  const backlog = assignee && was ? was.forAgents.filter((p) => p.seq > seen) : [];
  const earlier = was ? earlierFor(was, seen) : 0;
  return [
    ...backlog.map((p, i) =>
      pendingDelivery({ kind: "agent", userId: assignee! }, was!, p, true, i === 0 ? earlier : 0)
    ),
    ...(conversation ? conversationChanged(after, conversation) : []),
    ...queueChanges(before, after, userId),
    ...agentLoadChanges(before, after, userId),
  ];
}

/** A rating: agents are told, and both sides see the conversation with it. */
function conversationRated(
  event: EventOf<"ConversationRated">,
  seq: number,
  after: CompanyState,
): Delivery[] {
  const conversation = currentConversation(after, event.data.userId);
  return [
    ratingRoute(event, seq),
    ...(conversation ? conversationChanged(after, conversation) : []),
  ];
}

/** A read receipt, and the conversation whose unread count it moved. */
function messagesRead(event: EventOf<"MessagesRead">, after: CompanyState): Delivery[] {
  const conversation = currentConversation(after, event.data.userId);
  return [
    ...readRoutes(event),
    ...(conversation ? conversationChanged(after, conversation) : []),
  ];
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

/**
 * A conversation entered, left or moved in the queue (only `userId`'s did: one event moves one
 * conversation). Agents get `queue` (the first page and the total) when the first page changed,
 * else `queue_changed` (what was added and removed past it, and the total); each user whose
 * shown place changed gets `queue { position }`. O(log n) in the queue's length, besides the
 * page and the places near the front, which are bounded.
 */
function queueChanges(before: CompanyState, after: CompanyState, userId: string): Delivery[] {
  if (before.queue === after.queue) return [];
  const was = before.queue.indexOf(userId);
  const is = after.queue.indexOf(userId);
  const pageChanged = (was >= 0 && was < QUEUE_PAGE) || (is >= 0 && is < QUEUE_PAGE);
  const out: Delivery[] = [
    pageChanged ? { to: AGENTS, event: "queue", payload: queueView(after) } : {
      to: AGENTS,
      event: "queue_changed",
      payload: {
        added: is >= 0 ? [queueEntry(after, userId, is)] : [],
        removed: was >= 0 ? [userId] : [],
        total: after.queue.size,
      },
    },
  ];
  const shownWas = was < 0 ? null : shownPosition(was + 1);
  const shownIs = is < 0 ? null : shownPosition(is + 1);
  if (shownWas !== shownIs) {
    out.push({ to: { kind: "user", userId }, event: "queue", payload: { position: shownIs } });
  }
  for (const index of shiftedShown(was, is, after.queue.size)) {
    const other = after.queue.at(index)!;
    out.push({
      to: { kind: "user", userId: other },
      event: "queue",
      payload: { position: shownPosition(index + 1) },
    });
  }
  return out;
}

/**
 * The places (from 0, after the move) of the others whose shown place changed when one user
 * left place `was` and took place `is` (-1: not queued): those between moved by one, and of
 * them only the ones crossing a step of `shownPosition`.
 */
function* shiftedShown(was: number, is: number, size: number): Generator<number> {
  // The others at places lo..hi moved back by one (`+1`: they were one further) or on by one.
  const [lo, hi, from] = is < 0
    ? [was, size - 1, 1]
    : was < 0
    ? [is + 1, size - 1, -1]
    : is >= was
    ? [was, is - 1, 1]
    : [is + 1, was, -1];
  // Moved on from position p + 1 to p: shown differently iff p is a step (shown as itself);
  // moved back from p - 1 to p: iff p - 1 is.
  const first = from === 1 ? lo + 1 : lo;
  const last = from === 1 ? hi + 1 : hi;
  for (const step of stepsBetween(first, last)) yield from === 1 ? step - 1 : step;
}

/** The positions in `from..to` that `shownPosition` shows as themselves, in order. */
function* stepsBetween(from: number, to: number): Generator<number> {
  let p = Math.max(from, 1);
  while (p <= to) {
    const step = shownPosition(p);
    if (step > to) return;
    yield step;
    p = step + 1;
  }
}

/** `agent_status` for agents whose load an assignment change moved. */
function agentLoadChanges(before: CompanyState, after: CompanyState, userId: string): Delivery[] {
  const was = before.conversations.get(userId)?.assignee;
  const is = after.conversations.get(userId)?.assignee;
  if (was === is) return [];
  return [was, is].filter((id): id is string => typeof id === "string")
    .map((id) => ({ to: AGENTS, event: "agent_status", payload: agentView(after, id) }));
}

/**
 * How many items kept for agents were dropped (the newest are kept) that an agent who has seen
 * up to `seen` may not have been shown: all of them unless they saw past the newest dropped.
 */
function earlierFor(c: Conversation, seen: number): number {
  return seen >= c.forAgentsEarlierUpTo ? 0 : c.forAgentsEarlier;
}

/**
 * Something kept for an absent side, as the delivery it would have been. The first of a
 * conversation's says how many earlier ones were not kept (`earlier`: read them in `history`).
 */
function pendingDelivery(
  to: Audience,
  conversation: Conversation,
  pending: Pending,
  forAgents: boolean,
  earlier = 0,
): Delivery {
  const { userId, id: conversationId } = conversation;
  const more: Payload = earlier > 0 ? { earlier } : {};
  if (pending.kind === "context") {
    const payload: Payload = forAgents
      ? { context: pending.context, user_id: userId, ...more }
      : { context: pending.context, ...more };
    return { to, event: "chatbot_context", payload };
  }
  const payload = messagePayload({ ...pending, userId, conversationId });
  return { to, event: "message", payload: { ...payload, ...more } };
}
