/**
 * Resume: what a reconnecting socket missed. A client that saw every delivery up to
 * `last_seq` gets, from the log, the deliveries meant for it with a greater seq (messages,
 * handoff contexts, read receipts), before any live event; its current state (conversation,
 * queue, online users) follows in the Connect's own deliveries.
 */
import { type Delivery, resumeDeliveries, type SocketRole } from "../domain/mod.ts";
import { decode } from "./codec.ts";
import type { EventLog, HistoryIndex, StoredEvent } from "./ports.ts";

/** The most events one resume replays; older gaps are read with `history`. */
export const MAX_RESUME = 10_000;

/** The deliveries for `(role, userId)` of the events with `after < seq <= upTo`, in order. */
export async function missedDeliveries(
  store: EventLog & HistoryIndex,
  companyId: string,
  who: { role: SocketRole; userId: string },
  after: number,
  upTo: number,
): Promise<Omit<Delivery, "to">[]> {
  if (upTo <= after) return [];
  const events: StoredEvent[] = [];
  if (who.role === "agent" || upTo - after <= MAX_RESUME) {
    const limit = Math.min(upTo - after, MAX_RESUME);
    for await (const e of store.read(companyId, { after, limit })) events.push(e);
  } else {
    // A user away for long: their messages through the index, the newest MAX_RESUME of them.
    const tagged = await store.readHistory(companyId, who.userId, {
      before: upTo + 1,
      limit: MAX_RESUME,
    });
    events.push(...tagged.filter((e) => e.seq > after));
  }
  // Who receives what is the domain's to say (the same rules as live delivery).
  return events.flatMap((stored) => {
    const e = decode(stored);
    return resumeDeliveries(e, e.seq, who);
  });
}
