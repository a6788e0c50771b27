/**
 * The Redis bus against a throwaway redis-server of this test process (tests/_services.ts);
 * skipped, saying so, where there is none (never in CI). Each test keys under its own prefix.
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { RedisCluster } from "../../../adapters/cluster/mod.ts";
import { type CancelTimer, type Clock, systemClock } from "../../../src/ports.ts";
import { FakeClock } from "../../_fakes.ts";
import { startRedis } from "../../_services.ts";
import { clusterContract } from "./_contract.ts";

const redis = await startRedis();
const ignore = redis === null;
let tests = 0;

/** A fresh prefix, so tests share one server and nothing else. */
function prefix(): string {
  return `test${++tests}:`;
}

/** The system clock, until `stop()`: then its timers never fire (a node killed mid-beat). */
class StoppableClock implements Clock {
  #stopped = false;
  readonly #cancels = new Set<CancelTimer>();
  now = () => systemClock.now();
  setTimer(fn: () => void, ms: number): CancelTimer {
    if (this.#stopped) return () => {};
    const cancel = systemClock.setTimer(() => (this.#cancels.delete(cancel), fn()), ms);
    this.#cancels.add(cancel);
    return () => (this.#cancels.delete(cancel), cancel());
  }
  stop(): void {
    this.#stopped = true;
    for (const cancel of this.#cancels) cancel();
    this.#cancels.clear();
  }
}

clusterContract("RedisCluster", () => {
  const keys = prefix();
  const nodes = new Map<string, { cluster: RedisCluster; clock: StoppableClock }>();
  const all: RedisCluster[] = [];
  return Promise.resolve({
    node: async (nodeId) => {
      const clock = new StoppableClock();
      // 1 s: a killed node is found dead in about a second; the live ones beat every 200 ms.
      const cluster = await RedisCluster.connect(redis!.url, {
        nodeId,
        nodeTimeoutSeconds: 1,
        prefix: keys,
        clock,
      });
      nodes.set(nodeId, { cluster, clock });
      all.push(cluster);
      return cluster;
    },
    kill: (nodeId) => nodes.get(nodeId)?.clock.stop(),
    loseBooks: async () => {
      const admin = new Redis(redis!.url);
      const lost = await admin.keys(`${keys}*`);
      if (lost.length > 0) await admin.del(...lost);
      await admin.quit();
    },
    tick: () => new Promise((resolve) => setTimeout(resolve, 25)),
    close: async () => void await Promise.all(all.map((cluster) => cluster.close())),
  });
}, ignore);

Deno.test({
  name: "RedisCluster: a node that closes is dead at once, and its sockets are swept",
  ignore,
  fn: async () => {
    const options = { nodeTimeoutSeconds: 60, prefix: prefix() };
    const a = await RedisCluster.connect(redis!.url, { ...options, nodeId: "a" });
    const b = await RedisCluster.connect(redis!.url, { ...options, nodeId: "b" });
    try {
      await a.presence.open({ companyId: "acme", role: "user", userId: "alice" }, "a1");
      assert.equal(await a.leases.hold("acme", 60_000), true);
      await a.close();
      assert.equal(await b.presence.liveNodes(), 1);
      assert.equal(await b.leases.hold("acme", 60_000), true, "a's leases were given up");
      const gone: string[] = [];
      const went = await b.presence.sweep((holder, socketId) => {
        gone.push(`${holder.userId}/${socketId}`);
        return Promise.resolve();
      });
      assert.equal(went, 1);
      assert.deepEqual(gone, ["alice/a1"]);
    } finally {
      await b.close();
    }
  },
});

Deno.test({
  name: "RedisCluster: a node whose books Redis lost is told at its next heartbeat",
  ignore,
  fn: async () => {
    const clock = new FakeClock();
    const keys = prefix();
    const a = await RedisCluster.connect(redis!.url, {
      nodeId: "a",
      nodeTimeoutSeconds: 15,
      prefix: keys,
      clock,
    });
    const admin = new Redis(redis!.url);
    try {
      let lost = 0;
      a.onPresenceLost(() => lost++);
      clock.advance(3_000);
      await until(async () => await admin.zscore(`${keys}nodes`, a.incarnation) !== null);
      assert.equal(lost, 0, "an ordinary beat loses nothing");
      // As after a restart of Redis without persistence.
      await admin.del(`${keys}nodes`);
      const told = new Promise<void>((resolve) => a.onPresenceLost(resolve));
      clock.advance(3_000);
      await told;
      assert.equal(lost, 1);
    } finally {
      await a.close();
      await admin.quit();
    }
  },
});

Deno.test({
  name: "RedisCluster: connect() to a Redis that does not answer rejects",
  ignore,
  fn: async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    listener.close();
    await assert.rejects(
      RedisCluster.connect(`redis://127.0.0.1:${port}`, { nodeId: "a" }),
      /ECONNREFUSED|Connection/,
    );
  },
});

Deno.test({
  name: "RedisCluster: keys and channels stay under the prefix",
  ignore,
  fn: async () => {
    const keys = prefix();
    const a = await RedisCluster.connect(redis!.url, { nodeId: "a", prefix: keys });
    const admin = new Redis(redis!.url);
    try {
      await a.presence.open({ companyId: "acme", role: "agent", userId: "bob" }, "s1");
      assert.equal(await a.leases.hold("acme", 60_000), true);
      const all = await admin.keys(`${keys}*`);
      assert.deepEqual(all.toSorted(), [
        `${keys}lease:acme`,
        `${keys}node:${a.incarnation}`,
        `${keys}nodes`,
        `${keys}presence:["acme","agent","bob"]`,
      ]);
      assert.deepEqual(await admin.hgetall(`${keys}presence:["acme","agent","bob"]`), {
        s1: a.incarnation,
      });
    } finally {
      await a.close();
      await admin.quit();
    }
  },
});

/** Polls `test` every 10 ms until it holds, failing after 5 s. */
async function until(test: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!await test()) {
    if (Date.now() > deadline) throw new Error("Timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
