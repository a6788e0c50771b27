/**
 * A persistent map with string keys: setting or deleting a key gives a new map in O(log n)
 * and leaves the old one as it was, sharing everything else with it. The live state's large
 * maps (conversations, client ids) are these, so one event costs the same in a company with
 * ten conversations as in one with ten thousand, and a state kept to fall back on (the
 * actor's, when an append fails) is never written.
 *
 * A treap whose priorities are a hash of the key: the shape depends only on the keys held,
 * not on the order they came in, so two maps with the same entries are deeply equal (a
 * replay and a snapshot plus its tail compare as plain data). Iteration is in key order.
 */

/** One node: a key, its value, and the subtrees of smaller and greater keys. */
interface Node<V> {
  readonly key: string;
  readonly value: V;
  /** The key's hash: a node's priority is above its children's. */
  readonly rank: number;
  readonly left: Node<V> | null;
  readonly right: Node<V> | null;
}

/** A persistent map from strings; read as any `ReadonlyMap`. */
export class PMap<V> implements ReadonlyMap<string, V> {
  /** Public so that deep equality sees the entries (the shape is canonical). */
  readonly root: Node<V> | null;
  readonly size: number;

  private constructor(root: Node<V> | null, size: number) {
    this.root = root;
    this.size = size;
  }

  /** The empty map. */
  static empty<V>(): PMap<V> {
    return new PMap<V>(null, 0);
  }

  /** A map of the given entries (a later duplicate key wins). */
  static from<V>(entries: Iterable<readonly [string, V]>): PMap<V> {
    let map = PMap.empty<V>();
    for (const [key, value] of entries) map = map.set(key, value);
    return map;
  }

  get(key: string): V | undefined {
    let node = this.root;
    while (node) {
      if (key === node.key) return node.value;
      node = key < node.key ? node.left : node.right;
    }
    return undefined;
  }

  has(key: string): boolean {
    let node = this.root;
    while (node) {
      if (key === node.key) return true;
      node = key < node.key ? node.left : node.right;
    }
    return false;
  }

  /** This map with `key` set to `value`. */
  set(key: string, value: V): PMap<V> {
    const size = this.has(key) ? this.size : this.size + 1;
    return new PMap(insert(this.root, key, value, hash(key)), size);
  }

  /** This map without `key`. */
  delete(key: string): PMap<V> {
    if (!this.has(key)) return this;
    return new PMap(remove(this.root, key), this.size - 1);
  }

  /** The entry with the smallest key. */
  first(): [string, V] | undefined {
    let node = this.root;
    if (!node) return undefined;
    while (node.left) node = node.left;
    return [node.key, node.value];
  }

  /** This map with `f` applied to every value: same keys, same shape, O(n). */
  mapValues(f: (value: V) => V): PMap<V> {
    return new PMap(mapNode(this.root, f), this.size);
  }

  *entries(): MapIterator<[string, V]> {
    const stack: Node<V>[] = [];
    let node = this.root;
    while (node || stack.length) {
      while (node) {
        stack.push(node);
        node = node.left;
      }
      const top = stack.pop()!;
      yield [top.key, top.value];
      node = top.right;
    }
  }

  *keys(): MapIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(f: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    for (const [key, value] of this.entries()) f(value, key, this);
  }

  /** As JSON, its entries (as a `Map` would be shown if it could). */
  toJSON(): [string, V][] {
    return [...this.entries()];
  }
}

/** Whether `a` sits above `b`: a total order, so the shape is unique for a set of keys. */
function above<V>(a: Node<V>, b: Node<V>): boolean {
  return a.rank > b.rank || (a.rank === b.rank && a.key < b.key);
}

function node<V>(n: Node<V>, left: Node<V> | null, right: Node<V> | null): Node<V> {
  return { key: n.key, value: n.value, rank: n.rank, left, right };
}

function insert<V>(n: Node<V> | null, key: string, value: V, rank: number): Node<V> {
  if (!n) return { key, value, rank, left: null, right: null };
  if (key === n.key) return { ...n, value };
  if (key < n.key) {
    const left = insert(n.left, key, value, rank);
    // Rotate right: the new node rises above its parent.
    return above(left, n)
      ? node(left, left.left, node(n, left.right, n.right))
      : node(n, left, n.right);
  }
  const right = insert(n.right, key, value, rank);
  return above(right, n)
    ? node(right, node(n, n.left, right.left), right.right)
    : node(n, n.left, right);
}

function remove<V>(n: Node<V> | null, key: string): Node<V> | null {
  if (!n) return null;
  if (key === n.key) return merge(n.left, n.right);
  return key < n.key
    ? node(n, remove(n.left, key), n.right)
    : node(n, n.left, remove(n.right, key));
}

/** Two treaps, every key of `a` below every key of `b`, as one. */
function merge<V>(a: Node<V> | null, b: Node<V> | null): Node<V> | null {
  if (!a) return b;
  if (!b) return a;
  return above(a, b) ? node(a, a.left, merge(a.right, b)) : node(b, merge(a, b.left), b.right);
}

function mapNode<V>(n: Node<V> | null, f: (value: V) => V): Node<V> | null {
  if (!n) return null;
  return {
    key: n.key,
    value: f(n.value),
    rank: n.rank,
    left: mapNode(n.left, f),
    right: mapNode(n.right, f),
  };
}

/** FNV-1a, 32 bits: spreads keys that share a prefix (`u1`, `u2`, …) over the priorities. */
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final mix, so that sequential keys do not give nearly sequential ranks.
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b);
  h ^= h >>> 16;
  return h >>> 0;
}
