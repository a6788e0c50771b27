/**
 * A user's conversation history, paginated by `seq`, read through the store's index. The user
 * and agents read the same messages; agents also read what is theirs alone (private notes and
 * ratings), kept under a separate index key so that the user's pages never hold them, not even
 * as gaps.
 */
import { type CompanyEvent, messagePayload, notePayload, ratingPayload } from "../domain/mod.ts";
import { decode } from "./codec.ts";
import type { HistoryIndex, NewEvent, StoredEvent } from "./ports.ts";

/** The most a page may hold. */
export const MAX_HISTORY_PAGE = 200;

/** One page of history, oldest first; `has_more` when older items exist. */
export interface HistoryPage {
  /** Messages; for agents also notes (`kind: "note"`) and ratings (`kind: "rating"`). */
  readonly messages: ReturnType<typeof messagePayload>[];
  readonly has_more: boolean;
}

/** Whose history is read: the user's side (messages) or the agents' (messages, notes, ratings). */
export type HistorySide = "user" | "agent";

/**
 * The index key of what only agents read of `userId`'s history. A tab can be in no id (ids hold
 * no control character), so this key is nobody's user id.
 */
export function agentSideKey(userId: string): string {
  return `agents\t${userId}`;
}

/**
 * The history index's rule: a message belongs to the history of its conversation's user; a
 * note or a rating to the agents' side of it.
 */
export function historyUsers(event: NewEvent): readonly string[] {
  const e = event as CompanyEvent;
  // The store hands any event it is given (`data: unknown`): one without a user is in no history.
  const userId = (e.data as { userId?: unknown } | undefined)?.userId;
  if (typeof userId !== "string") return [];
  switch (e.type) {
    case "MessageSent":
      return [userId];
    case "NoteAdded":
    case "ConversationRated":
      return [agentSideKey(userId)];
    default:
      return [];
  }
}

/**
 * The items of `userId`'s conversations with `seq < before`, the newest `limit` of them: their
 * messages, and for agents (`side: "agent"`) their notes and ratings among them in seq order.
 */
export async function readHistory(
  index: HistoryIndex,
  companyId: string,
  userId: string,
  { before, limit = 50, side = "user" }: { before?: number; limit?: number; side?: HistorySide } =
    {},
): Promise<HistoryPage> {
  const size = Math.min(Math.max(limit, 1), MAX_HISTORY_PAGE);
  const read = (key: string) => index.readHistory(companyId, key, { before, limit: size + 1 });
  // Both keys' newest `size + 1`, merged: the newest `size + 1` of the two together are among them.
  const events = side === "agent"
    ? (await Promise.all([read(userId), read(agentSideKey(userId))])).flat()
      .sort((a, b) => a.seq - b.seq).slice(-(size + 1))
    : await read(userId);
  const page = events.slice(Math.max(events.length - size, 0));
  return { messages: page.flatMap(item), has_more: events.length > size };
}

/** A stored event as a history item; none for an event of no history. */
function item(stored: StoredEvent): ReturnType<typeof messagePayload>[] {
  const e = decode(stored);
  switch (e.type) {
    case "MessageSent":
      return [messagePayload({ ...e.data, seq: e.seq, at: e.at })];
    case "NoteAdded":
      return [{ kind: "note", ...notePayload(e, e.seq) }];
    case "ConversationRated":
      return [{ kind: "rating", ...ratingPayload(e, e.seq) }];
    default:
      return [];
  }
}
