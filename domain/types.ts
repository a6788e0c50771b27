/**
 * The company's vocabulary: commands, events, state, rejections and deliveries.
 *
 * Everything here is data. Identities are scoped by company: the company is the
 * stream a state belongs to, so no type in this folder names another company.
 */

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

/** Error codes shared by the domain, the acks and the HTTP answers (DESIGN §5.2). */
export type ErrorCode =
  | "invalid_payload"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "too_large"
  | "rate_limited"
  | "unavailable";

/** A business refusal: a value, never a throw. */
export interface Rejection {
  readonly code: ErrorCode;
  readonly message: string;
}

/** What a company can be asked to do. Time and fresh ids arrive inside the command. */
export type CompanyCommand =
  | {
    readonly type: "Connect";
    readonly data: { userId: string; role: Role; socketId: string; at: number };
  }
  | {
    readonly type: "Disconnect";
    readonly data: { userId: string; role: Role; socketId: string; at: number };
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
    /** Sent by a runtime that starts: presence seen by an earlier process is gone. */
    readonly type: "ResetPresence";
    readonly data: { at: number };
  };

/** What happened. `at` is the command's time (Unix ms); storage adds `seq` and a version. */
export type CompanyEvent =
  | {
    readonly type: "SocketConnected";
    readonly at: number;
    readonly data: { userId: string; role: SocketRole; socketId: string };
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
      senderRole: SocketRole;
      text: string;
      socketId?: string;
    };
  }
  | {
    readonly type: "HandedOff";
    readonly at: number;
    readonly data: { conversationId: string; userId: string; context: JsonValue };
  }
  | {
    readonly type: "PresenceReset";
    readonly at: number;
    readonly data: Record<string, never>;
  };

/** The outcome of `decide`. */
export type Decision =
  | { readonly ok: true; readonly events: readonly CompanyEvent[] }
  | { readonly ok: false; readonly rejection: Rejection };

/** Something an agent or a user has not been shown yet because nobody of theirs was online. */
export type Pending =
  | {
    readonly kind: "message";
    readonly seq: number;
    readonly at: number;
    readonly messageId: string;
    readonly senderId: string;
    readonly senderRole: SocketRole;
    readonly text: string;
  }
  | {
    readonly kind: "context";
    readonly seq: number;
    readonly at: number;
    readonly context: JsonValue;
  };

/** One end user's conversation with the company. */
export interface Conversation {
  readonly id: string;
  readonly userId: string;
  readonly context: JsonValue | null;
  /** Kept for the first agent who comes online. */
  readonly forAgents: readonly Pending[];
  /** Kept for the user's next connection. */
  readonly forUser: readonly Pending[];
}

/** A company's state, folded from its events. */
export interface CompanyState {
  /** How many events have been applied: the `seq` of the last one. */
  readonly version: number;
  /** Online end users → their open socket ids. */
  readonly users: ReadonlyMap<string, readonly string[]>;
  /** Online agents → their open socket ids. */
  readonly agents: ReadonlyMap<string, readonly string[]>;
  /** Conversations by end user id. */
  readonly conversations: ReadonlyMap<string, Conversation>;
}

/** Who receives a delivery, inside the company whose event it is. */
export type Audience =
  | { readonly kind: "socket"; readonly socketId: string }
  | { readonly kind: "user"; readonly userId: string }
  | { readonly kind: "agent"; readonly userId: string }
  | { readonly kind: "agents" };

/** The client events the server emits. */
export type ClientEventName =
  | "message"
  | "user_list"
  | "user_connected"
  | "user_disconnected"
  | "chatbot_context";

/** One emit: an audience, an optional socket to leave out, the event and its payload. */
export interface Delivery {
  readonly to: Audience;
  readonly except?: string;
  readonly event: ClientEventName;
  readonly payload: { readonly [key: string]: JsonValue };
}
