/**
 * Resume: what a reconnecting socket missed. A client that saw every delivery up to
 * `last_seq` gets, from the log, the deliveries meant for it with a greater seq (messages,
 * handoff contexts, read receipts), before any live event; its current state (conversation,
 * queue, online users) follows in the Connect's own deliveries. The work is bounded: at most
 * `RESUME_WINDOW` events, read a page at a time; past that, the client is told to resync.
 */
import { type Delivery, resumeDeliveries, type SocketRole } from "../domain/mod.ts";
import { decode } from "./codec.ts";
import type { EventLog, StoredEvent } from "./ports.ts";

/**
 * The most events one resume replays. Past it the socket gets `resync_required` and reads what
 * it missed with `history`; the newest events are never skipped silently.
 */
export const RESUME_WINDOW = 2_000;

/** Events read from the store at a time while replaying. */
export const RESUME_PAGE = 250;

/** Replayed events per second per company, beyond which resumes are answered with a resync. */
export const RESUME_RATE = 20_000;

/** Connect tokens a resume of `events` also takes from its identity's rate: one per 1,000. */
export function resumeCost(events: number, window = RESUME_WINDOW): number {
  return Math.ceil(Math.min(Math.max(events, 0), window) / 1000);
}

/** How a resume goes: nothing missed, a replay of `events` events in pages, or a resync. */
export type ResumePlan =
  | { readonly kind: "replay"; readonly events: number; readonly pages: ReplayPages }
  | { readonly kind: "resync"; readonly from: number; readonly to: number };

/** The deliveries of a replay, a page at a time, in seq order. */
export type ReplayPages = AsyncIterable<Omit<Delivery, "to">[]>;

/**
 * Plans the replay for `(role, userId)` of the events with `after < seq <= upTo`: within the
 * window the log is read in pages as they are sent; past it, a resync. (Reading a long-away
 * user's own messages from the index instead cost more than a replay when they were many.)
 */
export function planResume(
  store: EventLog,
  companyId: string,
  who: { role: SocketRole; userId: string },
  after: number,
  upTo: number,
  window = RESUME_WINDOW,
): ResumePlan {
  const gap = Math.max(upTo - after, 0);
  if (gap > window) return { kind: "resync", from: after, to: upTo };
  return { kind: "replay", events: gap, pages: pagesOf(store, companyId, who, after, upTo) };
}

async function* pagesOf(
  store: EventLog,
  companyId: string,
  who: { role: SocketRole; userId: string },
  after: number,
  upTo: number,
): ReplayPages {
  while (after < upTo) {
    const page: StoredEvent[] = [];
    const limit = Math.min(upTo - after, RESUME_PAGE);
    for await (const e of store.read(companyId, { after, limit })) page.push(e);
    if (page.length === 0) return;
    after = page[page.length - 1].seq;
    // Who receives what is the domain's to say (the same rules as live delivery).
    yield page.flatMap((stored) => {
      const e = decode(stored);
      return resumeDeliveries(e, e.seq, who);
    });
  }
}

/** Every delivery of the events with `after < seq <= upTo` for `who`, at once (tools, tests). */
export async function missedDeliveries(
  store: EventLog,
  companyId: string,
  who: { role: SocketRole; userId: string },
  after: number,
  upTo: number,
): Promise<Omit<Delivery, "to">[]> {
  const out: Omit<Delivery, "to">[] = [];
  for await (const page of pagesOf(store, companyId, who, after, upTo)) out.push(...page);
  return out;
}
