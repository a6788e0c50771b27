/** Message evolutions: a message sent (unread counts, what is kept for an absent side), read. */
import { type Draft, withEntry, without } from "../_draft.ts";
import { PMap } from "../_pmap.ts";
import {
  anyAgentOnline,
  CLIENT_ID_TTL_MS,
  CLIENT_IDS_PER_SENDER,
  FORGET_PER_EVENT,
  keptForAgents,
  keptForUser,
  MAX_UNREAD,
  senderKey,
  seqKey,
} from "../state.ts";
import type { CompanyState, Conversation, EventOf, Pending } from "../types.ts";

/** A message: remembered by client id, counted unread, kept if its readers are all away. */
export function messageSent(
  state: CompanyState,
  event: EventOf<"MessageSent">,
  draft: Draft,
): CompanyState {
  const seq = state.version + 1;
  const { userId, senderRole, transcript, clientId } = event.data;
  const ids = clientId === undefined
    ? state
    : { ...state, ...remembered(state, event, seq, draft) };
  const next = { ...ids, version: seq, ...forgotten(ids, event.at, draft) };
  const conversation = state.conversations.get(userId);
  if (!conversation || transcript) return next;
  const fromUser = senderRole === "user";
  const unseen = fromUser ? !anyAgentOnline(state) : !state.users.has(userId);
  let updated: Conversation = fromUser
    ? { ...conversation, unreadByAgents: withUnread(conversation.unreadByAgents, seq) }
    : { ...conversation, unreadByUser: withUnread(conversation.unreadByUser, seq) };
  if (unseen) {
    const { messageId, senderId, text, attachments } = event.data;
    const pending: Pending = {
      kind: "message",
      seq,
      at: event.at,
      messageId,
      senderId,
      senderRole,
      text,
      ...(attachments?.length ? { attachments } : {}),
    };
    updated = fromUser ? keptForAgents(updated, pending) : keptForUser(updated, pending);
  }
  return { ...next, conversations: withEntry(draft, state.conversations, userId, updated) };
}

/** The client ids remembered with this message's added (the sender's oldest beyond the cap dropped). */
function remembered(
  state: CompanyState,
  event: EventOf<"MessageSent">,
  seq: number,
  draft: Draft,
): Pick<CompanyState, "sent" | "sentOrder"> {
  const { clientId, messageId, conversationId, senderRole, senderId } = event.data;
  const at = event.at;
  const key = senderKey(senderRole, senderId);
  const record = { clientId: clientId!, messageId, conversationId, seq, at };
  const kept = [...(state.sent.get(key) ?? []), record].slice(-CLIENT_IDS_PER_SENDER);
  return {
    sent: withEntry(draft, state.sent, key, kept),
    sentOrder: withEntry(draft, state.sentOrder, seqKey(seq), { sender: key, at }),
  };
}

/**
 * The client ids remembered without those sent more than `CLIENT_ID_TTL_MS` before `at`: at
 * most `FORGET_PER_EVENT` of the oldest per message. Each id is forgotten once, so this is
 * O(log n) per message amortised, and a quiet day after a busy one is caught up within a few
 * messages: what is remembered is what the last day sent.
 */
function forgotten(
  state: CompanyState,
  at: number,
  draft: Draft,
): Pick<CompanyState, "sent" | "sentOrder"> {
  let { sent, sentOrder } = state;
  const cutoff = at - CLIENT_ID_TTL_MS;
  for (let i = 0; i < FORGET_PER_EVENT; i++) {
    const oldest = sentOrder instanceof PMap ? sentOrder.first() : undefined;
    if (!oldest || oldest[1].at >= cutoff) break;
    sentOrder = without(draft, sentOrder, oldest[0]);
    const records = sent.get(oldest[1].sender);
    // Newest last: nothing to forget of a sender whose oldest is recent (or already gone).
    if (!records || records[0].at >= cutoff) continue;
    const fresh = records.filter((r) => r.at >= cutoff);
    sent = fresh.length
      ? withEntry(draft, sent, oldest[1].sender, fresh)
      : without(draft, sent, oldest[1].sender);
  }
  return { sent, sentOrder };
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
  const readIn = (conversation: Conversation): Conversation =>
    readerRole === "user"
      ? {
        ...conversation,
        unreadByUser: conversation.unreadByUser.filter((s) => s > upTo),
        userReadSeq: Math.max(conversation.userReadSeq ?? 0, upTo),
      }
      : { ...conversation, unreadByAgents: conversation.unreadByAgents.filter((s) => s > upTo) };
  const conversation = state.conversations.get(userId);
  if (conversation) {
    return {
      ...next,
      conversations: withEntry(draft, state.conversations, userId, readIn(conversation)),
    };
  }
  // Read after it was closed: the closed conversation kept for the user's view.
  const closed = state.closed.get(userId);
  if (!closed) return next;
  const updated = { ...closed, conversation: readIn(closed.conversation) };
  return { ...next, closed: withEntry(draft, state.closed, userId, updated) };
}

/** A private note: the log and the agents' history keep it; the state has nothing to change. */
export function noteAdded(state: CompanyState, _event: EventOf<"NoteAdded">): CompanyState {
  return { ...state, version: state.version + 1 };
}
