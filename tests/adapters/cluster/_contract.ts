/**
 * The contract of the shared bus (`ClusterBus`, `SharedPresence`, `Leases` in src/ports.ts),
 * run against each implementation: Redis, and the in-memory one the engine's tests use.
 */
import assert from "node:assert/strict";
import type { Delivery } from "../../../domain/mod.ts";
import type { ClusterNode } from "../../../adapters/cluster/mod.ts";
import type { SocketHolder } from "../../../src/ports.ts";

/** A cluster made fresh for one test. */
export interface TestCluster {
  /** The node named `nodeId`, joining the cluster; a new life of it after `kill`. */
  node(nodeId: string): Promise<ClusterNode>;
  /** Stops `nodeId` as SIGKILL would: it beats no more and cleans nothing up. */
  kill(nodeId: string): void;
  /** Loses every shared book, as a restart of Redis without persistence does. */
  loseBooks(): Promise<void>;
  /** Lets some time pass (a fake clock's, or real time). */
  tick(): Promise<void>;
  close(): Promise<void>;
}

/** Ticks until `test` holds, or fails after 10 s of real time, saying what was awaited. */
export async function until<T>(
  cluster: TestCluster,
  what: string,
  test: () => Promise<T | false>,
): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = await test();
    if (result !== false) return result;
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await cluster.tick();
  }
}

const alice: SocketHolder = { companyId: "acme", role: "user", userId: "alice" };
const bob: SocketHolder = { companyId: "acme", role: "user", userId: "bob" };
const carol: SocketHolder = { companyId: "acme", role: "agent", userId: "carol" };

const typing: Delivery = {
  to: { kind: "agents" },
  event: "typing",
  payload: { user_id: "alice", typing: true },
};

/** Records `gone` calls; fails them while `failing`. */
function goneRecorder() {
  const calls: { holder: SocketHolder; socketId: string }[] = [];
  const recorder = {
    calls,
    failing: false,
    gone: (holder: SocketHolder, socketId: string) => {
      calls.push({ holder, socketId });
      return recorder.failing ? Promise.reject(new Error("store down")) : Promise.resolve();
    },
  };
  return recorder;
}

/** Registers the contract tests for clusters made fresh by `open` (shown as ignored if `ignore`). */
export function clusterContract(
  name: string,
  open: () => Promise<TestCluster>,
  ignore = false,
): void {
  const test = (title: string, fn: (cluster: TestCluster) => Promise<void>) =>
    Deno.test({
      name: `${name}: ${title}`,
      ignore,
      fn: async () => {
        const cluster = await open();
        try {
          await fn(cluster);
        } finally {
          await cluster.close();
        }
      },
    });

  test("presence counts an identity's sockets across nodes", async (cluster) => {
    const a = await cluster.node("a");
    const b = await cluster.node("b");
    await a.presence.open(alice, "s1");
    await b.presence.open(alice, "s2");
    await b.presence.open(alice, "s3");
    assert.equal(await a.presence.close(alice, "s1"), 2);
    assert.equal(await b.presence.close(alice, "s2"), 1);
    assert.equal(await b.presence.close(alice, "s3"), 0);
  });

  test("close() of the last socket anywhere returns 0, whatever other identities hold", async (cluster) => {
    const a = await cluster.node("a");
    const b = await cluster.node("b");
    await a.presence.open(alice, "s1");
    await b.presence.open(bob, "s2");
    await b.presence.open({ ...alice, companyId: "globex" }, "s3");
    await b.presence.open({ ...alice, role: "agent" }, "s4");
    assert.equal(await a.presence.close(alice, "s1"), 0);
    assert.equal(await a.presence.close(alice, "s1"), 0, "closing twice changes nothing");
  });

  test("identities whose ids contain separators never share a count", async (cluster) => {
    const a = await cluster.node("a");
    const left: SocketHolder = { companyId: "a:b", role: "user", userId: "c" };
    const right: SocketHolder = { companyId: "a", role: "user", userId: "b:c" };
    const quoted: SocketHolder = { companyId: 'a","user","b', role: "user", userId: "c" };
    await a.presence.open(left, "s1");
    await a.presence.open(right, "s2");
    await a.presence.open(quoted, "s3");
    assert.equal(await a.presence.close(left, "s1"), 0);
    assert.equal(await a.presence.close(right, "s2"), 0);
  });

  test("concurrent closes of an identity's last two sockets on two nodes: exactly one sees 0", async (cluster) => {
    const a = await cluster.node("a");
    const b = await cluster.node("b");
    for (let round = 0; round < 20; round++) {
      await a.presence.open(alice, `a${round}`);
      await b.presence.open(alice, `b${round}`);
      const left = await Promise.all([
        a.presence.close(alice, `a${round}`),
        b.presence.close(alice, `b${round}`),
      ]);
      assert.deepEqual(left.toSorted(), [0, 1], `round ${round}`);
    }
  });

  test("liveNodes() counts the nodes alive, and stops counting a killed one", async (cluster) => {
    const a = await cluster.node("a");
    await cluster.node("b");
    await cluster.node("c");
    assert.equal(await a.presence.liveNodes(), 3);
    cluster.kill("c");
    await until(cluster, "c is found dead", async () => await a.presence.liveNodes() === 2);
  });

  test("a killed node's sockets are swept once: gone() once per identity left with none", async (cluster) => {
    const a = await cluster.node("a");
    const b = await cluster.node("b");
    const c = await cluster.node("c");
    await a.presence.open(alice, "a1");
    await a.presence.open(alice, "a2");
    await a.presence.open(bob, "a3");
    await b.presence.open(bob, "b1");
    await a.presence.open(carol, "a4");
    cluster.kill("a");
    const recorder = goneRecorder();
    // Before a is found dead, a sweep finds nothing to do.
    const went = await until(cluster, "a's sockets are swept", async () => {
      const n = await b.presence.sweep(recorder.gone);
      return n > 0 && n;
    });
    assert.equal(went, 2);
    assert.deepEqual(
      recorder.calls.map((c) => c.holder).toSorted((x, y) => x.userId.localeCompare(y.userId)),
      [alice, carol],
    );
    const aliceCall = recorder.calls.find((c) => c.holder.userId === "alice");
    assert.ok(["a1", "a2"].includes(aliceCall!.socketId), "gone() names one of alice's sockets");
    assert.equal(await c.presence.sweep(recorder.gone), 0, "another node's sweep finds nothing");
    assert.equal(await b.presence.sweep(recorder.gone), 0, "nor does the same node's");
    assert.equal(recorder.calls.length, 2);
    assert.equal(await b.presence.close(bob, "b1"), 0, "bob's socket on a no longer counts");
  });

  test("an identity on two dead nodes is reported gone once", async (cluster) => {
    const a = await cluster.node("a");
    const b = await cluster.node("b");
    const c = await cluster.node("c");
    await a.presence.open(alice, "a1");
    await b.presence.open(alice, "b1");
    cluster.kill("a");
    cluster.kill("b");
    const recorder = goneRecorder();
    await until(cluster, "a and b are found dead", async () => await c.presence.liveNodes() === 1);
    assert.equal(await c.presence.sweep(recorder.gone), 1);
    assert.equal(await c.presence.sweep(recorder.gone), 0);
    assert.equal(recorder.calls.length, 1);
  });

  test("sockets of a dead node count out at once, and close() takes them off the books", async (cluster) => {
    const a = await cluster.node("a");
    const b = await cluster.node("b");
    await a.presence.open(alice, "a1");
    await b.presence.open(alice, "b1");
    cluster.kill("a");
    await until(cluster, "a is found dead", async () => await b.presence.liveNodes() === 1);
    // b reports alice gone itself (0 left), so no sweep may report her again.
    assert.equal(await b.presence.close(alice, "b1"), 0);
    const recorder = goneRecorder();
    assert.equal(await b.presence.sweep(recorder.gone), 0);
    assert.deepEqual(recorder.calls, []);
  });

  test("a gone() that rejects leaves the identity for the next sweep", async (cluster) => {
    const a = await cluster.node("a");
    const b = await cluster.node("b");
    await a.presence.open(alice, "a1");
    cluster.kill("a");
    const recorder = goneRecorder();
    recorder.failing = true;
    await until(cluster, "a sweep tries alice", async () => {
      assert.equal(await b.presence.sweep(recorder.gone), 0);
      return recorder.calls.length > 0;
    });
    recorder.failing = false;
    assert.equal(await b.presence.sweep(recorder.gone), 1);
    assert.deepEqual(recorder.calls.map((c) => c.socketId), ["a1", "a1"]);
    assert.equal(await b.presence.sweep(recorder.gone), 0);
  });

  test("a node back under the same name is a new life: its previous sockets are swept", async (cluster) => {
    const a = await cluster.node("a");
    await a.presence.open(alice, "a1");
    cluster.kill("a");
    const again = await cluster.node("a");
    await again.presence.open(bob, "a2");
    const recorder = goneRecorder();
    await until(cluster, "a's previous life is swept", async () => {
      return await again.presence.sweep(recorder.gone) > 0;
    });
    assert.deepEqual(recorder.calls, [{ holder: alice, socketId: "a1" }]);
    assert.equal(await again.presence.close(bob, "a2"), 0);
  });

  test("a node hears that the books were lost, and opening its sockets again counts them", async (cluster) => {
    const a = await cluster.node("a");
    const b = await cluster.node("b");
    await a.presence.open(alice, "a1");
    await b.presence.open(alice, "b1");
    let lost = 0;
    a.onPresenceLost(() => lost++);
    await cluster.loseBooks();
    await until(cluster, "a hears it", () => Promise.resolve(lost > 0));
    await a.presence.open(alice, "a1");
    assert.equal(await b.presence.close(alice, "b1"), 1);
    assert.equal(await a.presence.close(alice, "a1"), 0);
  });

  test("a lease is held by one node at a time, extended by its holder, given up by release()", async (cluster) => {
    const a = await cluster.node("a");
    const b = await cluster.node("b");
    assert.equal(await a.leases.hold("acme", 60_000), true);
    assert.equal(await b.leases.hold("acme", 60_000), false);
    assert.equal(await a.leases.hold("acme", 60_000), true, "the holder extends it");
    assert.equal(await b.leases.hold("globex", 60_000), true, "another name is another lease");
    await b.leases.release("acme");
    assert.equal(
      await b.leases.hold("acme", 60_000),
      false,
      "release() by another changes nothing",
    );
    await a.leases.release("acme");
    assert.equal(await b.leases.hold("acme", 60_000), true);
    assert.equal(await a.leases.hold("acme", 60_000), false);
  });

  test("a lease lapses after its ttl unless extended", async (cluster) => {
    const a = await cluster.node("a");
    const b = await cluster.node("b");
    assert.equal(await a.leases.hold("acme", 200), true);
    assert.equal(await b.leases.hold("acme", 200), false);
    await until(cluster, "a's lease lapses", () => b.leases.hold("acme", 60_000));
    assert.equal(await a.leases.hold("acme", 200), false);
  });

  test("a killed node's leases lapse", async (cluster) => {
    const a = await cluster.node("a");
    const b = await cluster.node("b");
    assert.equal(await a.leases.hold("acme", 200), true);
    cluster.kill("a");
    await until(cluster, "a's lease lapses", () => b.leases.hold("acme", 60_000));
  });

  test("broadcast() and appended() reach every other node, never the sender", async (cluster) => {
    const nodes = await Promise.all(["a", "b", "c"].map((id) => cluster.node(id)));
    const heard = nodes.map(() => [] as unknown[]);
    nodes.forEach((node, i) => {
      node.bus.onBroadcast((companyId, deliveries) => heard[i].push([companyId, deliveries]));
      node.bus.onAppended((stream, version) => heard[i].push([stream, version]));
    });
    const [a, b] = nodes;
    assert.equal(a.bus.nodeId, "a");
    a.bus.broadcast("acme", [typing]);
    a.bus.appended("acme", 7);
    await until(
      cluster,
      "b and c hear a",
      () => Promise.resolve(heard[1].length + heard[2].length === 4),
    );
    // b speaks after a did: once a hears b, it would have heard itself.
    b.bus.appended("globex", 3);
    await until(cluster, "a hears b", () => Promise.resolve(heard[0].length > 0));
    assert.deepEqual(heard[0], [["globex", 3]]);
    assert.deepEqual(heard[1], [["acme", [typing]], ["acme", 7]]);
    assert.deepEqual(heard[2], [["acme", [typing]], ["acme", 7], ["globex", 3]]);
  });

  test("a handler stopped hears nothing more", async (cluster) => {
    const a = await cluster.node("a");
    const b = await cluster.node("b");
    const stopped: number[] = [];
    const kept: number[] = [];
    const stop = b.bus.onAppended((_, version) => stopped.push(version));
    b.bus.onAppended((_, version) => kept.push(version));
    a.bus.appended("acme", 1);
    await until(cluster, "b hears 1", () => Promise.resolve(kept.length === 1));
    stop();
    a.bus.appended("acme", 2);
    await until(cluster, "b hears 2", () => Promise.resolve(kept.length === 2));
    assert.deepEqual(stopped, [1]);
  });
}
