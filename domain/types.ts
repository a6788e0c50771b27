/**
 * The company's vocabulary: commands, events, state, rejections and deliveries.
 *
 * Everything here is data. Identities are scoped by company: the company is the
 * stream a state belongs to, so no type in this folder names another company.
 *
 * Over 400 lines on purpose: the whole vocabulary in one file, so each union is read whole.
 */
import type { PQueue } from "./_pqueue.ts";

/** Any value that survives a JSON round trip. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** The roles that may hold a socket: end users and agents. */
export type SocketRole = "user" | "agent";

/** Who acts: an end user, an agent, or the company's chatbot server. */
export type Role = SocketRole | "bot";

/** An authenticated identity inside one company. */
export interface Participant {
  readonly userId: string;
  readonly role: Role;
}

/** Error codes shared by the domain, the acks and the HTTP answers (docs/design.md §5.2). */
export const ERROR_CODES = [
  "invalid_payload",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "too_large",
  "rate_limited",
  "unavailable",
  "internal",
] as const;

/** One of `ERROR_CODES`. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A business refusal: a value, never a throw. */
export interface Rejection {
  readonly code: ErrorCode;
  readonly message: string;
}

/** How queued conversations reach agents. */
export type AssignmentMode = "manual" | "auto";

/** An agent's own presence choice. */
export type AgentStatus = "available" | "away";

/** A conversation's place in the lifecycle: bot → queued → assigned → resolved. */
export type ConversationStatus = "bot" | "queued" | "assigned" | "resolved";

/** Why a conversation entered the queue. */
export type QueueReason = "handoff" | "message" | "released" | "agent_offline";

/** Per-company settings, changed by the company's bot (server-side) credential. */
export interface Settings {
  readonly assignment: AssignmentMode;
  readonly maxChatsPerAgent: number;
  readonly agentGraceSeconds: number;
  readonly webhookUrl: string | null;
  readonly webhookSecret: string | null;
}

/** A file sent with a message: stored outside the log (a blob), described here. */
export interface Attachment {
  readonly id: string;
  /** The file name its uploader gave. */
  readonly name: string;
  /** In bytes. */
  readonly size: number;
  readonly contentType: string;
}

/** A reply the company's agents insert by typing `/` and its shortcut. */
export interface CannedResponse {
  readonly shortcut: string;
  readonly title: string;
  readonly text: string;
}

/** A user's satisfaction rating of a resolved conversation. */
export interface Rating {
  /** 1 (poor) to 5 (great). */
  readonly score: number;
  readonly comment: string | null;
}

/** One line of the bot's transcript: what the user or the bot said before the handoff. */
export interface TranscriptLine {
  readonly role: "user" | "bot";
  readonly text: string;
  readonly messageId: string;
}

/** What a company can be asked to do. Time and fresh ids arrive inside the command. */
export type CompanyCommand =
  | {
    readonly type: "Connect";
    readonly data: {
      userId: string;
      role: Role;
      socketId: string;
      at: number;
      /** The socket resumes from the log: what it missed is replayed, not re-sent. */
      resumed?: boolean;
    };
  }
  | {
    readonly type: "Disconnect";
    readonly data: {
      userId: string;
      role: Role;
      socketId: string;
      at: number;
      /** The identity's last socket closed: it goes offline even if another socket was recorded. */
      last?: boolean;
    };
  }
  | {
    readonly type: "SendMessage";
    readonly data: {
      sender: Participant;
      /** The end user whose conversation this is: the sender itself when a user writes. */
      userId: string;
      text: string;
      messageId: string;
      /** Used only if the message opens a new conversation. */
      conversationId: string;
      /** The socket it came from, so the sender's other tabs get a copy and this one does not. */
      socketId?: string;
      /** Chosen by the client: a resend with the same id is answered, not recorded again. */
      clientId?: string;
      /** Files already stored (and checked as the sender's to send) by the runtime. */
      attachments?: readonly Attachment[];
      at: number;
    };
  }
  | {
    readonly type: "TransferToAgent";
    readonly data: {
      userId: string;
      context: JsonValue;
      /** Used only if the handoff opens a new conversation. */
      conversationId: string;
      at: number;
    };
  }
  | {
    readonly type: "PostTranscript";
    readonly data: {
      botId: string;
      userId: string;
      lines: readonly TranscriptLine[];
      conversationId: string;
      at: number;
    };
  }
  | { readonly type: "Claim"; readonly data: { agentId: string; userId: string; at: number } }
  | {
    readonly type: "Transfer";
    readonly data: {
      agentId: string;
      userId: string;
      toAgentId: string;
      note: string;
      /** The id of the note a non-empty `note` is recorded as (without one, it is not). */
      noteId?: string;
      at: number;
    };
  }
  | {
    /** An agent's private note on a conversation: agents see it, the user never does. */
    readonly type: "AddNote";
    readonly data: { agentId: string; userId: string; noteId: string; text: string; at: number };
  }
  | {
    /** The user rates their conversation, once, after an agent resolved it. */
    readonly type: "Rate";
    readonly data: { userId: string; score: number; comment: string | null; at: number };
  }
  | {
    /** The company's canned responses, replaced whole. */
    readonly type: "SetCannedResponses";
    readonly data: { responses: readonly CannedResponse[]; at: number };
  }
  | { readonly type: "Release"; readonly data: { agentId: string; userId: string; at: number } }
  | {
    readonly type: "Resolve";
    readonly data: { agentId: string; userId: string; returnToBot: boolean; at: number };
  }
  | {
    readonly type: "SetAgentStatus";
    readonly data: { agentId: string; status: AgentStatus; at: number };
  }
  | {
    /** Ephemeral: routed, never recorded. */
    readonly type: "Typing";
    readonly data: { sender: Participant; userId: string; typing: boolean; socketId?: string };
  }
  | {
    readonly type: "MarkRead";
    readonly data: { reader: Participant; userId: string; seq: number; at: number };
  }
  | {
    readonly type: "ChangeSettings";
    readonly data: { changes: Partial<Settings>; at: number };
  }
  | {
    /** Delivered by the runtime when an offline agent's grace period may have ended. */
    readonly type: "ExpireGrace";
    readonly data: { agentId: string; at: number };
  }
  | {
    /** Sent by a runtime that starts: presence seen by an earlier process is gone. */
    readonly type: "ResetPresence";
    readonly data: { at: number };
  };

/** What happened. `at` is the command's time (Unix ms); storage adds `seq` and a version. */
export type CompanyEvent =
  | {
    readonly type: "SocketConnected";
    readonly at: number;
    readonly data: { userId: string; role: SocketRole; socketId: string; resumed?: boolean };
  }
  | {
    readonly type: "SocketDisconnected";
    readonly at: number;
    readonly data: { userId: string; role: SocketRole; socketId: string };
  }
  | {
    readonly type: "ConversationOpened";
    readonly at: number;
    readonly data: { conversationId: string; userId: string };
  }
  | {
    readonly type: "MessageSent";
    readonly at: number;
    readonly data: {
      messageId: string;
      conversationId: string;
      userId: string;
      senderId: string;
      senderRole: Role;
      text: string;
      socketId?: string;
      clientId?: string;
      /** Posted by the bot from its own transcript of the time before the handoff. */
      transcript?: boolean;
      /** Files sent with it (absent: none). */
      attachments?: readonly Attachment[];
    };
  }
  | {
    readonly type: "HandedOff";
    readonly at: number;
    readonly data: { conversationId: string; userId: string; context: JsonValue };
  }
  | {
    readonly type: "ConversationQueued";
    readonly at: number;
    readonly data: {
      conversationId: string;
      userId: string;
      reason: QueueReason;
      /** The agent it was taken from, for a release or an expired grace period. */
      agentId?: string;
    };
  }
  | {
    readonly type: "ConversationAssigned";
    readonly at: number;
    readonly data: {
      conversationId: string;
      userId: string;
      agentId: string;
      by: "auto" | "claim" | "reply";
    };
  }
  | {
    readonly type: "ConversationTransferred";
    readonly at: number;
    readonly data: {
      conversationId: string;
      userId: string;
      fromAgentId: string;
      toAgentId: string;
      note: string;
    };
  }
  | {
    readonly type: "ConversationResolved";
    readonly at: number;
    readonly data: {
      conversationId: string;
      userId: string;
      agentId: string;
      returnToBot: boolean;
    };
  }
  | {
    readonly type: "AgentStatusChanged";
    readonly at: number;
    readonly data: { agentId: string; status: AgentStatus };
  }
  | {
    readonly type: "MessagesRead";
    readonly at: number;
    readonly data: {
      conversationId: string;
      userId: string;
      readerId: string;
      readerRole: SocketRole;
      seq: number;
    };
  }
  | {
    readonly type: "SettingsChanged";
    readonly at: number;
    readonly data: Partial<Settings>;
  }
  | {
    /** An agent's private note; `toAgentId` when it came with a transfer to that agent. */
    readonly type: "NoteAdded";
    readonly at: number;
    readonly data: {
      noteId: string;
      conversationId: string;
      userId: string;
      agentId: string;
      text: string;
      toAgentId?: string;
    };
  }
  | {
    /** The user rated the conversation; `agentId` resolved it. */
    readonly type: "ConversationRated";
    readonly at: number;
    readonly data: {
      conversationId: string;
      userId: string;
      agentId: string;
      score: number;
      comment: string | null;
    };
  }
  | {
    readonly type: "CannedResponsesSet";
    readonly at: number;
    readonly data: { responses: readonly CannedResponse[] };
  }
  | {
    readonly type: "PresenceReset";
    readonly at: number;
    readonly data: Record<string, never>;
  };

/** The command of one type. */
export type CommandOf<T extends CompanyCommand["type"]> = Extract<CompanyCommand, { type: T }>;

/** The event of one type. */
export type EventOf<T extends CompanyEvent["type"]> = Extract<CompanyEvent, { type: T }>;

/** The outcome of `decide`: events to record (and ephemeral deliveries), or a rejection. */
export type Decision =
  | {
    readonly ok: true;
    readonly events: readonly CompanyEvent[];
    /** Deliveries that are not recorded (typing). */
    readonly notify?: readonly Delivery[];
    /** A resent message: what the first send became; nothing new was recorded. */
    readonly duplicateOf?: SentRecord;
    /** What the command's ack shows, as of just after its own events. */
    readonly result?: DecisionResult;
  }
  | { readonly ok: false; readonly rejection: Rejection };

/**
 * A decision's answer beside its events (Equinox's `transactResult`): the view its caller
 * acknowledges with, so nobody reads the company's state after dispatching.
 */
export type DecisionResult =
  | {
    /** Claim, Transfer, Release, Resolve: the conversation as agents now see it. */
    readonly kind: "conversation";
    readonly conversation: { readonly [key: string]: JsonValue } | null;
  }
  | {
    /** MarkRead: the seq recorded as read (never ahead of the log). */
    readonly kind: "read";
    readonly seq: number;
  }
  | {
    /** ChangeSettings: the settings now in force. */
    readonly kind: "settings";
    readonly settings: Settings;
  };

/** Something an agent or a user has not been shown yet because nobody of theirs was online. */
export type Pending =
  | {
    readonly kind: "message";
    readonly seq: number;
    readonly at: number;
    readonly messageId: string;
    readonly senderId: string;
    readonly senderRole: Role;
    readonly text: string;
    readonly attachments?: readonly Attachment[];
  }
  | {
    readonly kind: "context";
    readonly seq: number;
    readonly at: number;
    readonly context: JsonValue;
  };

/** One end user's current conversation with the company. */
export interface Conversation {
  readonly id: string;
  readonly userId: string;
  /** The seq of its `ConversationOpened`: open conversations are listed in this order. */
  readonly openedSeq: number;
  readonly status: ConversationStatus;
  readonly assignee: string | null;
  /** The latest handoff's context. */
  readonly context: JsonValue | null;
  /** When it last entered the queue (Unix ms). */
  readonly queuedAt: number | null;
  /** The agent who released it back to the queue: auto assignment gives it to someone else. */
  readonly releasedBy: string | null;
  /**
   * What users said while no agent was online: kept until the conversation is assigned, the
   * newest `KEPT_PER_CONVERSATION` of it (the earlier ones are in the history).
   */
  readonly forAgents: readonly Pending[];
  /** How many earlier items were not kept for agents, and the seq of the newest of them. */
  readonly forAgentsEarlier: number;
  readonly forAgentsEarlierUpTo: number;
  /** Per agent, the last kept item they were shown (so nobody gets one twice). */
  readonly backlogSeen: readonly (readonly [string, number])[];
  /** Kept for the user's next connection (the newest `KEPT_PER_CONVERSATION`). */
  readonly forUser: readonly Pending[];
  /** How many earlier items were not kept for the user. */
  readonly forUserEarlier: number;
  /** Seqs of the user's messages no agent has read yet. */
  readonly unreadByAgents: readonly number[];
  /** Seqs of agent messages the user has not read yet. */
  readonly unreadByUser: readonly number[];
  /** The seq the user has read up to (absent: nothing yet), for agents' read marks. */
  readonly userReadSeq?: number;
  /** The agent who last resolved it (absent: never resolved): it may then be rated. */
  readonly resolvedBy?: string;
  /** The user's rating (absent: not rated). */
  readonly rating?: Rating;
}

/** An agent the company has seen. */
export interface Agent {
  readonly sockets: readonly string[];
  readonly status: AgentStatus;
  /** When their last socket closed (Unix ms); null while connected. */
  readonly offlineAt: number | null;
  /** The seq of their latest assignment; 0 if never assigned. */
  readonly lastAssignedSeq: number;
}

/**
 * A company's state, folded from its events: what is open (DESIGN §7). Resolved conversations
 * leave it (their messages stay in the log and the history), client ids leave it after a day.
 */
export interface CompanyState {
  /** How many events have been applied: the `seq` of the last one. */
  readonly version: number;
  readonly settings: Settings;
  /** Online end users → their open socket ids. */
  readonly users: ReadonlyMap<string, readonly string[]>;
  /** Agents seen since the last restart (online or within their grace period). */
  readonly agents: ReadonlyMap<string, Agent>;
  /** Agents with at least one socket. */
  readonly onlineAgents: number;
  /** Agents with at least one socket and the status `available`: users are told if any. */
  readonly availableAgents: number;
  /** Open conversations (with the bot, queued or assigned) by end user id; a persistent map. */
  readonly conversations: ReadonlyMap<string, Conversation>;
  /** User ids of queued conversations, first to be served first; ranked and persistent. */
  readonly queue: PQueue;
  /** How many conversations each agent holds (agents holding none are absent). */
  readonly loads: ReadonlyMap<string, number>;
  /** The seq at which the webhook URL was last set: earlier events are not announced to it. */
  readonly webhookSince: number;
  /**
   * Client ids of the last day per sender (`role:id`), newest last, to answer resends; a
   * persistent map.
   */
  readonly sent: ReadonlyMap<string, readonly SentRecord[]>;
  /** Which sender each remembered client id is of, by its seq (`seqKey`), oldest first. */
  readonly sentOrder: ReadonlyMap<string, SentAge>;
  /**
   * Per user, their last closed conversation, while they have no open one: for a day, the
   * newest `CLOSED_KEPT` of them (a persistent map). What the user's view and a late read
   * receipt need of it.
   */
  readonly closed: ReadonlyMap<string, Closed>;
  /** The user of each closed conversation kept, by its resolution's seq (`seqKey`), oldest first. */
  readonly closedOrder: ReadonlyMap<string, string>;
  /** The company's canned responses (a short, bounded list, like the settings). */
  readonly cannedResponses: readonly CannedResponse[];
}

/** A user's last closed conversation, kept a while after it left the open ones. */
export interface Closed {
  /** As it was closed (status `resolved`; nothing kept for agents). */
  readonly conversation: Conversation;
  /** The seq and time (Unix ms) of its resolution. */
  readonly seq: number;
  readonly at: number;
}

/** When a remembered client id was sent, and by whom: what forgetting it needs. */
export interface SentAge {
  readonly sender: string;
  readonly at: number;
}

/** What a sender's message with a client id became. */
export interface SentRecord {
  readonly clientId: string;
  readonly messageId: string;
  readonly conversationId: string;
  readonly seq: number;
  /** When it was sent (Unix ms): remembered for `CLIENT_ID_TTL_MS` after. */
  readonly at: number;
}

/** Who receives a delivery, inside the company whose event it is. */
export type Audience =
  | { readonly kind: "socket"; readonly socketId: string }
  | { readonly kind: "user"; readonly userId: string }
  | { readonly kind: "agent"; readonly userId: string }
  | { readonly kind: "agents" }
  /** Every end user's sockets: one emit to a room, whatever the number of users. */
  | { readonly kind: "users" };

/** The client events the server emits. */
export type ClientEventName =
  | "message"
  | "user_list"
  | "user_connected"
  | "user_disconnected"
  | "chatbot_context"
  | "conversation"
  | "queue"
  | "queue_changed"
  | "typing"
  | "read"
  | "agent_status"
  | "note"
  | "rating"
  | "availability";

/** One emit: an audience, an optional socket to leave out, the event and its payload. */
export interface Delivery {
  readonly to: Audience;
  readonly except?: string;
  readonly event: ClientEventName;
  readonly payload: { readonly [key: string]: JsonValue };
}
