/**
 * A persistent queue of user ids with ranks: adding or removing one, finding a user's place
 * and the user at a place all take O(log n), and give a new queue that shares everything
 * else with the old one. The company's queue is one, so a handoff into a queue of ten
 * thousand costs about what one into an empty queue does (DESIGN §7).
 *
 * Each user sits at a numeric key (its order: smaller is served first). A treap keyed by it,
 * each node counting its subtree, answers ranks; a `PMap` finds a user's key. Priorities are
 * a hash of the user id, so the shape depends only on the entries held: a replay and a
 * snapshot plus its tail compare as plain data.
 */
import { PMap } from "./_pmap.ts";

interface Node {
  readonly key: number;
  readonly userId: string;
  readonly prio: number;
  /** How many nodes this subtree holds. */
  readonly size: number;
  readonly left: Node | null;
  readonly right: Node | null;
}

/** A persistent, ranked queue of user ids; iterates first to last. */
export class PQueue implements Iterable<string> {
  /** Public so that deep equality sees the entries (the shape is canonical). */
  readonly root: Node | null;
  readonly keys: PMap<number>;

  private constructor(root: Node | null, keys: PMap<number>) {
    this.root = root;
    this.keys = keys;
  }

  /** The empty queue. */
  static empty(): PQueue {
    return new PQueue(null, PMap.empty());
  }

  /** A queue of `[userId, key]` entries (as `entries()` gives them). */
  static from(entries: Iterable<readonly [string, number]>): PQueue {
    let queue = PQueue.empty();
    for (const [userId, key] of entries) queue = queue.with(userId, key);
    return queue;
  }

  /** How many users wait. */
  get size(): number {
    return this.keys.size;
  }

  has(userId: string): boolean {
    return this.keys.has(userId);
  }

  /** The smallest and largest keys held (0 when empty): where the front and the back are. */
  firstKey(): number {
    let n = this.root;
    if (!n) return 0;
    while (n.left) n = n.left;
    return n.key;
  }

  lastKey(): number {
    let n = this.root;
    if (!n) return 0;
    while (n.right) n = n.right;
    return n.key;
  }

  /** This queue with `userId` at `key` (moved there if it was elsewhere). */
  with(userId: string, key: number): PQueue {
    const rest = this.without(userId);
    return new PQueue(insert(rest.root, key, userId, hash(userId)), rest.keys.set(userId, key));
  }

  /** This queue without `userId`. */
  without(userId: string): PQueue {
    const key = this.keys.get(userId);
    if (key === undefined) return this;
    return new PQueue(remove(this.root, key), this.keys.delete(userId));
  }

  /** The user's place from 0, or -1 when not queued. */
  indexOf(userId: string): number {
    const key = this.keys.get(userId);
    if (key === undefined) return -1;
    let index = 0;
    let n = this.root;
    while (n) {
      if (key === n.key) return index + sizeOf(n.left);
      if (key < n.key) n = n.left;
      else {
        index += sizeOf(n.left) + 1;
        n = n.right;
      }
    }
    return -1;
  }

  /** The user at place `index` (from 0), if there is one. */
  at(index: number): string | undefined {
    let n = this.root;
    let i = index;
    while (n) {
      const left = sizeOf(n.left);
      if (i === left) return n.userId;
      if (i < left) n = n.left;
      else {
        i -= left + 1;
        n = n.right;
      }
    }
    return undefined;
  }

  /** The users at places `start` to `end` (exclusive), first first: O(log n + end - start). */
  slice(start: number, end: number): string[] {
    const out: string[] = [];
    collect(this.root, Math.max(0, start), Math.min(end, this.size), out);
    return out;
  }

  /** `[userId, key]`, first to last: the queue as plain data. */
  entries(): [string, number][] {
    const out: [string, number][] = [];
    walk(this.root, (n) => out.push([n.userId, n.key]));
    return out;
  }

  *[Symbol.iterator](): Iterator<string> {
    const stack: Node[] = [];
    let n = this.root;
    while (n || stack.length) {
      while (n) {
        stack.push(n);
        n = n.left;
      }
      const top = stack.pop()!;
      yield top.userId;
      n = top.right;
    }
  }

  /** As JSON, its entries. */
  toJSON(): [string, number][] {
    return this.entries();
  }
}

function sizeOf(n: Node | null): number {
  return n ? n.size : 0;
}

function node(n: Node, left: Node | null, right: Node | null): Node {
  return {
    key: n.key,
    userId: n.userId,
    prio: n.prio,
    size: sizeOf(left) + sizeOf(right) + 1,
    left,
    right,
  };
}

/** Whether `a` sits above `b`: a total order, so the shape is unique for a set of entries. */
function above(a: Node, b: Node): boolean {
  return a.prio > b.prio || (a.prio === b.prio && a.key < b.key);
}

function insert(n: Node | null, key: number, userId: string, prio: number): Node {
  if (!n) return { key, userId, prio, size: 1, left: null, right: null };
  if (key < n.key) {
    const left = insert(n.left, key, userId, prio);
    return above(left, n)
      ? node(left, left.left, node(n, left.right, n.right))
      : node(n, left, n.right);
  }
  const right = insert(n.right, key, userId, prio);
  return above(right, n)
    ? node(right, node(n, n.left, right.left), right.right)
    : node(n, n.left, right);
}

function remove(n: Node | null, key: number): Node | null {
  if (!n) return null;
  if (key === n.key) return merge(n.left, n.right);
  return key < n.key
    ? node(n, remove(n.left, key), n.right)
    : node(n, n.left, remove(n.right, key));
}

function merge(a: Node | null, b: Node | null): Node | null {
  if (!a) return b;
  if (!b) return a;
  return above(a, b) ? node(a, a.left, merge(a.right, b)) : node(b, merge(a, b.left), b.right);
}

function collect(n: Node | null, start: number, end: number, out: string[]): void {
  if (!n || start >= end) return;
  const left = sizeOf(n.left);
  if (start < left) collect(n.left, start, Math.min(end, left), out);
  if (start <= left && left < end) out.push(n.userId);
  if (end > left + 1) collect(n.right, Math.max(0, start - left - 1), end - left - 1, out);
}

function walk(n: Node | null, f: (n: Node) => void): void {
  if (!n) return;
  walk(n.left, f);
  f(n);
  walk(n.right, f);
}

/** FNV-1a with a final mix, as `PMap` spreads its keys. */
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b);
  h ^= h >>> 16;
  return h >>> 0;
}
