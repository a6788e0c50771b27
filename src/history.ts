/** A user's conversation history, paginated by `seq`, read through the store's index. */
import { type CompanyEvent, messagePayload } from "../domain/mod.ts";
import { decode } from "./codec.ts";
import type { HistoryIndex, NewEvent } from "./ports.ts";

/** The most a page may hold. */
export const MAX_HISTORY_PAGE = 200;

/** One page of history, oldest first; `has_more` when older messages exist. */
export interface HistoryPage {
  readonly messages: ReturnType<typeof messagePayload>[];
  readonly has_more: boolean;
}

/** The history index's rule: a message belongs to the history of its conversation's user. */
export function historyUsers(event: NewEvent): readonly string[] {
  const e = event as CompanyEvent;
  // The store hands any event it is given (`data: unknown`): one without a user is in no history.
  return e.type === "MessageSent" && typeof e.data?.userId === "string" ? [e.data.userId] : [];
}

/** The messages of `userId`'s conversations with `seq < before`, the newest `limit` of them. */
export async function readHistory(
  index: HistoryIndex,
  companyId: string,
  userId: string,
  { before, limit = 50 }: { before?: number; limit?: number } = {},
): Promise<HistoryPage> {
  const size = Math.min(Math.max(limit, 1), MAX_HISTORY_PAGE);
  const events = await index.readHistory(companyId, userId, { before, limit: size + 1 });
  const page = events.slice(Math.max(events.length - size, 0));
  const messages = page.flatMap((stored) => {
    const e = decode(stored);
    return e.type === "MessageSent" ? [messagePayload({ ...e.data, seq: e.seq, at: e.at })] : [];
  });
  return { messages, has_more: events.length > size };
}
