import assert from "node:assert/strict";
import { MemoryCluster } from "../../../adapters/cluster/mod.ts";
import { FakeClock } from "../../_fakes.ts";
import { clusterContract } from "./_contract.ts";

clusterContract("MemoryCluster", () => {
  const clock = new FakeClock();
  const cluster = new MemoryCluster({ clock });
  return Promise.resolve({
    node: (nodeId) => Promise.resolve(cluster.node(nodeId)),
    kill: (nodeId) => cluster.kill(nodeId),
    loseBooks: () => Promise.resolve(cluster.flush()),
    tick: async () => {
      clock.advance(50);
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
    close: () => Promise.resolve(),
  });
});

Deno.test("MemoryCluster: node() hands a living node the same handles", () => {
  const cluster = new MemoryCluster();
  assert.equal(cluster.node("a"), cluster.node("a"));
  cluster.kill("a");
  assert.notEqual(cluster.node("a"), cluster.node("b"));
});

Deno.test("MemoryCluster: a killed node is dead at once and its calls fail as a dead process's would", async () => {
  const cluster = new MemoryCluster();
  const a = cluster.node("a");
  const b = cluster.node("b");
  await a.presence.open({ companyId: "acme", role: "user", userId: "alice" }, "a1");
  assert.equal(await a.leases.hold("acme", 60_000), true);
  cluster.kill("a");
  assert.equal(await b.presence.liveNodes(), 1);
  assert.equal(await b.leases.hold("acme", 60_000), true);
  assert.equal(await a.leases.hold("globex", 60_000), false);
  await assert.rejects(a.presence.liveNodes(), { name: "NodeKilledError" });
  const gone: string[] = [];
  assert.equal(
    await b.presence.sweep((holder) => (gone.push(holder.userId), Promise.resolve())),
    1,
  );
  assert.deepEqual(gone, ["alice"]);
});
