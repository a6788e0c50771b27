/**
 * Resume: what a reconnecting socket missed. A client that saw every delivery up to
 * `last_seq` gets, from the log, the deliveries meant for it with a greater seq (messages,
 * handoff contexts, read receipts), before any live event; its current state (conversation,
 * queue, online users) follows in the Connect's own deliveries.
 */
import {
  type CompanyEvent,
  type Delivery,
  messagePayload,
  type SocketRole,
} from "../domain/mod.ts";
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
  return events.flatMap((e) => replayed(e as StoredEvent<CompanyEvent>, who));
}

function replayed(
  e: StoredEvent<CompanyEvent>,
  who: { role: SocketRole; userId: string },
): Omit<Delivery, "to">[] {
  const mine = (userId: string) => who.role === "agent" || userId === who.userId;
  switch (e.type) {
    case "MessageSent": {
      const d = e.data;
      if (d.transcript || !mine(d.userId)) return [];
      // Agents get users' messages and their own; other agents' replies never reach them live.
      if (who.role === "agent" && d.senderRole !== "user" && d.senderId !== who.userId) return [];
      return [{ event: "message", payload: messagePayload({ ...d, seq: e.seq, at: e.at }) }];
    }
    case "HandedOff":
      if (!mine(e.data.userId)) return [];
      return [{
        event: "chatbot_context",
        payload: who.role === "agent"
          ? { context: e.data.context, user_id: e.data.userId }
          : { context: e.data.context },
      }];
    case "MessagesRead":
      if (!mine(e.data.userId)) return [];
      return [{
        event: "read",
        payload: {
          user_id: e.data.userId,
          reader: e.data.readerId,
          role: e.data.readerRole,
          seq: e.data.seq,
        },
      }];
    default:
      return [];
  }
}
