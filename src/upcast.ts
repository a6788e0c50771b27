/**
 * Event schema versions. Every stored event carries `v`; when an event's shape changes, the
 * new shape gets the next version and an upcaster turns the old one into it, so logs written
 * by any earlier version still load. Version 1 is the first: there is nothing to upcast yet.
 */
import type { CompanyEvent } from "../domain/mod.ts";
import type { StoredEvent } from "./ports.ts";

/** The version written for each event today. */
export const EVENT_VERSION = 1;

/** Turns an event of version `from` into version `from + 1`. */
export type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

/** Upcasters by event type and the version they upgrade from. */
export type Upcasters = Readonly<Record<string, Readonly<Record<number, Upcaster>>>>;

/** The engine's upcasters: empty until an event's shape first changes. */
export const UPCASTERS: Upcasters = {};

/** A stored event in today's shape; throws for a version newer than this engine knows. */
export function upcast(
  e: StoredEvent,
  upcasters: Upcasters = UPCASTERS,
): StoredEvent<CompanyEvent> {
  let { v, data } = e as { v: number; data: Record<string, unknown> };
  if (v > EVENT_VERSION) {
    throw new Error(
      `Cannot load event ${e.seq} (${e.type}) of version ${v}: this engine knows up to version ${EVENT_VERSION}`,
    );
  }
  while (v < EVENT_VERSION) {
    const step = upcasters[e.type]?.[v];
    if (!step) throw new Error(`Cannot upcast ${e.type} from version ${v}: no upcaster`);
    data = step(data);
    v++;
  }
  return { ...e, v, data } as StoredEvent<CompanyEvent>;
}
