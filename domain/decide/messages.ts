/** Message decisions: users and agents write, the bot posts its transcript, typing, reading. */
import { type Plan, reject } from "../assignment.ts";
import { currentConversation, hasRoom, senderKey } from "../state.ts";
import type { CommandOf, Decision, Delivery } from "../types.ts";

/**
 * A message: a resend is answered with what the first send became; a user writing to the
 * bot is queued; an agent replying to a conversation nobody holds takes it if they have room.
 */
export function sendMessage(plan: Plan, data: CommandOf<"SendMessage">["data"]): Decision {
  const { sender, userId, text, messageId, socketId, clientId, attachments, at } = data;
  if (sender.role === "bot") {
    return reject("forbidden", "Bots post their transcript over HTTP");
  }
  if (sender.role === "user" && sender.userId !== userId) {
    return reject("forbidden", "A user can only write in their own conversation");
  }
  if (clientId !== undefined) {
    const first = plan.state.sent.get(senderKey(sender.role, sender.userId))
      ?.find((r) => r.clientId === clientId);
    if (first) return { ok: true, events: [], duplicateOf: first };
  }
  if (text.trim() === "" && !attachments?.length) {
    return reject("invalid_payload", "A message needs some content or an attachment");
  }
  const conversationId = plan.ensureConversation(userId, data.conversationId, at);
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
      ...(attachments?.length ? { attachments } : {}),
    },
  }).done();
}

/** An agent's private note on the user's conversation (the open one, or the one closed last). */
export function addNote(plan: Plan, data: CommandOf<"AddNote">["data"]): Decision {
  const { agentId, userId, noteId, text, at } = data;
  if (text.trim() === "") return reject("invalid_payload", "A note needs some content");
  const conversation = currentConversation(plan.state, userId);
  if (!conversation) return reject("not_found", `No conversation with user '${userId}'`);
  return plan.emit({
    type: "NoteAdded",
    at,
    data: { noteId, conversationId: conversation.id, userId, agentId, text },
  }).done();
}

/** The bot's transcript of the time before the handoff, recorded as history. */
export function postTranscript(plan: Plan, data: CommandOf<"PostTranscript">["data"]): Decision {
  const { botId, userId, lines, at } = data;
  if (lines.length === 0) {
    return reject("invalid_payload", "A transcript needs at least one line");
  }
  if (lines.some((l) => l.text.trim() === "")) {
    return reject("invalid_payload", "Every transcript line needs some content");
  }
  const conversationId = plan.ensureConversation(userId, data.conversationId, at);
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

/** Typing is routed to the other side (and the sender's other agents), never recorded. */
export function typing(_plan: Plan, data: CommandOf<"Typing">["data"]): Decision {
  const { sender, userId, typing, socketId } = data;
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

/** One side read up to a seq (never past the log); recorded only if it read something new. */
export function markRead(plan: Plan, data: CommandOf<"MarkRead">["data"]): Decision {
  const { reader, userId, seq, at } = data;
  const state = plan.state;
  if (reader.role === "bot") return reject("forbidden", "Bots do not read conversations");
  if (reader.role === "user" && reader.userId !== userId) {
    return reject("forbidden", "A user can only read their own conversation");
  }
  // A resolved conversation is still read (the goodbye is read after the agent closed it).
  const conversation = currentConversation(state, userId);
  if (!conversation) return reject("not_found", `No conversation with user '${userId}'`);
  const upTo = Math.min(seq, state.version);
  const result = { kind: "read", seq: upTo } as const;
  const unread = reader.role === "user" ? conversation.unreadByUser : conversation.unreadByAgents;
  if (!unread.some((s) => s <= seq)) return plan.done(result);
  return plan.emit({
    type: "MessagesRead",
    at,
    data: {
      conversationId: conversation.id,
      userId,
      readerId: reader.userId,
      readerRole: reader.role,
      seq: upTo,
    },
  }).done(result);
}
