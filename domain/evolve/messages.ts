/** Message evolutions: a message sent (unread counts, what is kept for an absent side), read. */
import { type Draft, withEntry } from "../_draft.ts";
import { anyAgentOnline, CLIENT_IDS_PER_SENDER, MAX_UNREAD, senderKey } from "../state.ts";
import type { CompanyState, Conversation, EventOf, Pending, SentRecord } from "../types.ts";

/** A message: remembered by client id, counted unread, kept if its readers are all away. */
export function messageSent(
  state: CompanyState,
  event: EventOf<"MessageSent">,
  draft: Draft,
): CompanyState {
  const seq = state.version + 1;
  const { userId, senderRole, transcript, clientId } = event.data;
  const sent = clientId === undefined ? state.sent : remembered(state, event, seq, draft);
  const next = { ...state, version: seq, sent };
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
  return { ...next, conversations: withEntry(draft, state.conversations, userId, updated) };
}

/** The sender's recent client ids with this message's added (the oldest forgotten). */
function remembered(
  state: CompanyState,
  event: EventOf<"MessageSent">,
  seq: number,
  draft: Draft,
): ReadonlyMap<string, readonly SentRecord[]> {
  const { clientId, messageId, conversationId, senderRole, senderId } = event.data;
  const key = senderKey(senderRole, senderId);
  const record = { clientId: clientId!, messageId, conversationId, seq };
  const kept = [...(state.sent.get(key) ?? []), record].slice(-CLIENT_IDS_PER_SENDER);
  return withEntry(draft, state.sent, key, kept);
}

function withUnread(unread: readonly number[], seq: number): readonly number[] {
  return unread.length < MAX_UNREAD ? [...unread, seq] : [...unread.slice(1), seq];
}

/** One side read up to a seq: what it had unread up to there is read. */
export function messagesRead(
  state: CompanyState,
  event: EventOf<"MessagesRead">,
  draft: Draft,
): CompanyState {
  const { userId, readerRole, seq: upTo } = event.data;
  const next = { ...state, version: state.version + 1 };
  const conversation = state.conversations.get(userId);
  if (!conversation) return next;
  const updated = readerRole === "user"
    ? { ...conversation, unreadByUser: conversation.unreadByUser.filter((s) => s > upTo) }
    : { ...conversation, unreadByAgents: conversation.unreadByAgents.filter((s) => s > upTo) };
  return { ...next, conversations: withEntry(draft, state.conversations, userId, updated) };
}
