/**
 * The Lua scripts of the Redis bus: each reads and writes presence, liveness or a lease in one
 * atomic step, and takes the time from Redis (`TIME`) so hosts with skewed clocks agree on
 * who is alive. Keys a script derives from an argument (a node's identity set, an identity's
 * hash) are built from the prefix, as on a single Redis server (not Redis Cluster).
 *
 * Keys (`P` is the prefix, default `chat:`):
 * - `P nodes`: sorted set, node -> its last heartbeat (ms, Redis time);
 * - `P node:<node>`: set of the identities the node has sockets of;
 * - `P presence:<identity>`: hash socketId -> node, identity = JSON `[companyId, role, userId]`;
 * - `P lease:<name>`, `P sweeper`: a lease holder's token, with a ttl.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/** Liveness, shared by the scripts: `since` is the oldest beat a live node may have. */
const LIVENESS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function is_alive(nodes, node, since)
  local beat = redis.call('ZSCORE', nodes, node)
  return beat ~= false and tonumber(beat) >= since
end
`;

/**
 * Dead nodes' entries of one identity, counted out and, when asked, taken off the books.
 * `self` counts as live: it is the node asking.
 */
const SETTLE = `
local function settle(hash, nodes, since, self, prefix, identity, forget)
  local entries = redis.call('HGETALL', hash)
  local live, dead, alive = 0, {}, { [self] = true }
  for i = 1, #entries, 2 do
    local node = entries[i + 1]
    if alive[node] == nil then alive[node] = is_alive(nodes, node, since) end
    if alive[node] then live = live + 1 else dead[#dead + 1] = i end
  end
  if #dead > 0 and (live > 0 or forget) then
    for _, i in ipairs(dead) do
      redis.call('HDEL', hash, entries[i])
      redis.call('SREM', prefix .. 'node:' .. entries[i + 1], identity)
    end
    return live, nil
  end
  if #dead > 0 then return live, entries[dead[1]] end
  return live, nil
end
`;

/** A script run by its SHA, sent whole once Redis says it does not know it. */
export class Script {
  readonly #sha: string;

  constructor(readonly lua: string) {
    this.#sha = createHash("sha1").update(lua).digest("hex");
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String(error).includes("NOSCRIPT")) throw error;
      return await redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

/** KEYS: nodes. ARGV: node. Records a beat; returns [the previous beat or -1, now]. */
export const beat = new Script(`${LIVENESS}
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
local now = now_ms()
redis.call('ZADD', KEYS[1], now, ARGV[1])
return { previous and tonumber(previous) or -1, now }
`);

/** KEYS: nodes. ARGV: timeout ms. How many nodes are alive. */
export const liveNodes = new Script(`${LIVENESS}
return redis.call('ZCOUNT', KEYS[1], now_ms() - tonumber(ARGV[1]), '+inf')
`);

/** KEYS: nodes. ARGV: timeout ms. The nodes silent past the timeout. */
export const deadNodes = new Script(`${LIVENESS}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now_ms() - tonumber(ARGV[1])))
`);

/** KEYS: identity hash, node's set. ARGV: socketId, node, identity. */
export const open = new Script(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
`);

/**
 * KEYS: identity hash, node's set, nodes. ARGV: socketId, node, identity, timeout ms, prefix.
 * Removes the socket and, since the caller reports the identity gone if none is left, every
 * dead node's entry of it (a sweep would report it again); returns the sockets left on live
 * nodes.
 */
export const close = new Script(`${LIVENESS}${SETTLE}
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
local since = now_ms() - tonumber(ARGV[4])
local live = settle(KEYS[1], KEYS[3], since, ARGV[2], ARGV[5], ARGV[3], true)
local mine = false
for _, node in ipairs(redis.call('HVALS', KEYS[1])) do
  if node == ARGV[2] then mine = true end
end
if not mine then redis.call('SREM', KEYS[2], ARGV[3]) end
return live
`);

/**
 * KEYS: identity hash, dead node's set, nodes. ARGV: dead node, identity, timeout ms, prefix,
 * self, forget ('1' or '0'). See `PresenceBooks.settle`; returns the dead socket kept, or false.
 */
export const settle = new Script(`${LIVENESS}${SETTLE}
local since = now_ms() - tonumber(ARGV[3])
local _, kept = settle(KEYS[1], KEYS[3], since, ARGV[5], ARGV[4], ARGV[2], ARGV[6] == '1')
local listed = false
for _, node in ipairs(redis.call('HVALS', KEYS[1])) do
  if node == ARGV[1] then listed = true end
end
if not listed then redis.call('SREM', KEYS[2], ARGV[2]) end
return kept or false
`);

/** KEYS: nodes, dead node's set. ARGV: node, timeout ms. Forgets a dead node with no entries. */
export const retire = new Script(`${LIVENESS}
if is_alive(KEYS[1], ARGV[1], now_ms() - tonumber(ARGV[2])) then return 0 end
if redis.call('SCARD', KEYS[2]) > 0 then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`);

/** KEYS: lease. ARGV: token, ttl ms. Takes the lease, or extends it if `token` holds it. */
export const hold = new Script(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`);

/** KEYS: lease. ARGV: token. Gives the lease up if `token` holds it. */
export const release = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`);
