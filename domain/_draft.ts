/**
 * How `evolve` writes the maps of a state. One event alone copies each map it changes; a
 * fold may write in place the maps it copied itself, since its intermediate states are never
 * seen outside it: each map is then copied once per fold, not once per event. A persistent
 * map (`PMap`: conversations, client ids) is never copied: each write gives a new version in
 * O(log n), whatever the draft.
 */
import { PMap } from "./_pmap.ts";

/** Gives a writable version of a state's map. */
export interface Draft {
  writable<V>(map: ReadonlyMap<string, V>): Map<string, V>;
}

/** Every write copies: the state given is never changed. */
export const COPY: Draft = { writable: (map) => new Map(map) };

/** A draft for one fold: the maps it copied it may write again in place. */
export function foldDraft(): Draft {
  const mine = new Set<ReadonlyMap<string, unknown>>();
  return {
    writable<V>(map: ReadonlyMap<string, V>): Map<string, V> {
      if (mine.has(map)) return map as Map<string, V>;
      const copy = new Map(map);
      mine.add(copy);
      return copy;
    },
  };
}

/** `map` with `key` set to `value`. */
export function withEntry<V>(
  draft: Draft,
  map: ReadonlyMap<string, V>,
  key: string,
  value: V,
): ReadonlyMap<string, V> {
  if (map instanceof PMap) return map.set(key, value);
  return draft.writable(map).set(key, value);
}

/** `map` without `key`. */
export function without<V>(
  draft: Draft,
  map: ReadonlyMap<string, V>,
  key: string,
): ReadonlyMap<string, V> {
  if (map instanceof PMap) return map.delete(key);
  const copy = draft.writable(map);
  copy.delete(key);
  return copy;
}

/** A new map with `f` applied to every value. */
export function mapValues<V>(map: ReadonlyMap<string, V>, f: (v: V) => V): ReadonlyMap<string, V> {
  if (map instanceof PMap) return map.mapValues(f);
  return new Map([...map].map(([k, v]) => [k, f(v)]));
}
