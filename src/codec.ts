/**
 * The codec: the one way events go into the store and come back out. `encode` adds the
 * storage metadata (the schema version); `decode` upcasts a stored event of any
 * earlier schema version to today's shape. Every reader of the log (actor, history, resume,
 * replay, export, webhooks, the `log` tool) decodes here, so none sees an old shape.
 */
import type { CompanyEvent } from "../domain/mod.ts";
import type { NewEvent, StoredEvent } from "./ports.ts";
import { EVENT_VERSION, upcast, type Upcaster, UPCASTERS, type Upcasters } from "./upcast.ts";

/** An event as it is appended: today's schema version (the store indexes it by its rule). */
export function encode(event: CompanyEvent): NewEvent {
  return { ...event, v: EVENT_VERSION };
}

/** A stored event in today's shape; throws for a version newer than this engine knows. */
export function decode(stored: StoredEvent): StoredEvent<CompanyEvent> {
  // Today's events, nearly all of them, pass as they are: no copy on the recovery path.
  if (stored.v === EVENT_VERSION) return stored as StoredEvent<CompanyEvent>;
  return upcast(stored, active);
}

/** Decodes each event of a stream read, in order. */
export async function* decodeAll(
  stored: AsyncIterable<StoredEvent>,
): AsyncIterable<StoredEvent<CompanyEvent>> {
  for await (const e of stored) yield decode(e);
}

/** The domain event of a decoded stored event, without its storage metadata. */
export function eventOf(e: StoredEvent<CompanyEvent>): CompanyEvent {
  return { type: e.type, at: e.at, data: e.data } as CompanyEvent;
}

// The engine's upcasters, plus any registered while running (a test of an old log).
let active: Upcasters = UPCASTERS;

/**
 * Adds an upcaster for `type` from version `from` until the returned handle is disposed;
 * for tests that read logs of a schema version this engine never wrote.
 */
export function registerUpcaster(type: string, from: number, upcaster: Upcaster): Disposable {
  active = { ...active, [type]: { ...active[type], [from]: upcaster } };
  return {
    [Symbol.dispose]() {
      const { [from]: _removed, ...rest } = active[type] ?? {};
      active = { ...active, [type]: rest };
    },
  };
}
