/**
 * Three engines in one process, as three nodes: one shared log (a memory store and its feed, as
 * PostgreSQL and its watermark tail would be) and one shared bus (`MemoryCluster`, as Redis).
 * Real socket.io clients connect to different nodes; every guarantee of one node must hold.
 */
import assert from "node:assert/strict";
import { MemoryCluster } from "../../../adapters/cluster/memory.ts";
import { deliveries, evolve, initialState, reaches } from "../../../domain/mod.ts";
import { decode, eventOf } from "../../../src/codec.ts";
import { MemoryEventStore } from "../../../adapters/store/mod.ts";
import { token } from "../../_tokens.ts";
import { type Client, startEngine } from "../socketio/_harness.ts";

type Message = { id: string; seq: number; content: string; from: string; user_id: string };

/** Starts `n` nodes named a, b, c… on one store and one bus. */
async function startNodes(n: number, nodeTimeoutSeconds = 3) {
  const store = new MemoryEventStore();
  const bus = new MemoryCluster();
  const nodes: Awaited<ReturnType<typeof startEngine>>[] = [];
  for (const name of "abcdefgh".slice(0, n)) {
    const node = bus.node(name);
    nodes.push(
      await startEngine(store, {
        feed: store,
        cluster: { ...node, nodeTimeoutSeconds },
        presenceTiming: { flapWindowMs: 0 },
      }),
    );
  }
  return {
    store,
    bus,
    nodes,
    async close() {
      for (const node of nodes) await node.close().catch(() => {});
    },
  };
}

async function handoff(url: string, company: string, user: string, context: string) {
  const bot = await token({ company_id: company, user_id: "chatbot", role: "bot" });
  const res = await fetch(`${url}/transfer_to_agent`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${bot}` },
    body: JSON.stringify({ user_id: user, company_id: company, context }),
  });
  assert.equal(res.status, 200, await res.text());
}

/** The `message` payloads a client got, each checked in seq order and once. */
function inOrderOnce(client: Client): Message[] {
  const messages = client.all<Message>("message");
  const seqs = messages.map((m) => m.seq);
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), "in seq order");
  assert.equal(new Set(seqs).size, seqs.length, "each once");
  return messages;
}

Deno.test("cluster: a user on node a and agents on b and c chat as on one node", async () => {
  const cluster = await startNodes(3);
  const [a, b, c] = cluster.nodes;
  try {
    const alice = await a.connect("acme", "alice", "user");
    const bob = await b.connect("acme", "bob", "agent");
    // Bob's user_list comes from b's state, which followed a's write of alice's connect.
    assert.deepEqual(await bob.next("user_list"), { users: ["alice"] });
    const carol = await c.connect("acme", "carol", "agent");
    assert.deepEqual(await carol.next("user_list"), { users: ["alice"] });
    await handoff(c.url, "acme", "alice", "wants a refund");
    assert.deepEqual(await alice.next("chatbot_context"), { context: "wants a refund" });
    for (const agent of [bob, carol]) {
      assert.equal((await agent.next<{ user_id: string }>("chatbot_context")).user_id, "alice");
    }
    const ack = await alice.request<{ ok: boolean; id: string; seq: number }>("message", {
      to: "admin",
      content: "hello from a",
    });
    assert.equal(ack.ok, true);
    for (const agent of [bob, carol]) {
      const m = await agent.nextWhere<Message>("message", (m) => m.content === "hello from a");
      assert.equal(m.id, ack.id);
      assert.equal(m.seq, ack.seq);
    }
    // The reply from b reaches alice on a (whichever agent took the conversation).
    const reply = await bob.request<{ ok: boolean }>("message", {
      user_id: "alice",
      content: "hi from b",
    });
    if (reply.ok) {
      assert.equal(
        (await alice.nextWhere<Message>("message", (m) => m.from === "bob")).content,
        "hi from b",
      );
    } else {
      const r = await carol.request<{ ok: boolean }>("message", {
        user_id: "alice",
        content: "hi from c",
      });
      assert.equal(r.ok, true);
      await alice.nextWhere<Message>("message", (m) => m.from === "carol");
    }
    // Typing is never logged: the bus carries it from a to the agents on b and c.
    await alice.request("typing", { typing: true });
    for (const agent of [bob, carol]) {
      const t = await agent.next<{ user_id: string; typing: boolean }>("typing");
      assert.equal(t.user_id, "alice");
      assert.equal(t.typing, true);
    }
    for (const client of [alice, bob, carol]) inOrderOnce(client);
  } finally {
    await cluster.close();
  }
});

Deno.test("cluster: an event written by a node that died before publishing reaches the sockets of the others", async () => {
  const cluster = await startNodes(2);
  const [a, b] = cluster.nodes;
  try {
    const bob = await b.connect("acme", "bob", "agent");
    await bob.next("user_list");
    const alice = await a.connect("acme", "alice", "user");
    await bob.nextWhere<{ user_id: string }>("user_connected", (p) => p.user_id === "alice");
    // What a writer appends and never publishes (it died right after its commit): only the log
    // carries it. The message event is written the way the actor writes it.
    const ack = await alice.request<{ ok: boolean; seq: number }>("message", {
      to: "admin",
      content: "first",
    });
    const first = await bob.nextWhere<Message>("message", (m) => m.content === "first");
    assert.equal(first.seq, ack.seq);
    const events = [];
    for await (const e of cluster.store.read("acme", { after: ack.seq - 1 })) events.push(e);
    const sent = events.find((e) => e.type === "MessageSent")!;
    const data = structuredClone(sent.data) as Record<string, unknown>;
    data.messageId = "from-a-dead-writer";
    data.text = "written, never published";
    delete data.clientId;
    delete data.socketId;
    const version = await cluster.store.version("acme");
    await cluster.store.append("acme", version, [{
      type: "MessageSent",
      at: sent.at,
      v: sent.v,
      data,
    }]);
    const m = await bob.nextWhere<Message>(
      "message",
      (m) => m.content === "written, never published",
    );
    assert.equal(m.seq, version + 1);
    inOrderOnce(bob);
  } finally {
    await cluster.close();
  }
});

Deno.test("cluster: concurrent writers on every node get unique seqs, and each agent gets what the log routes to it, once, in order", async () => {
  const cluster = await startNodes(3);
  try {
    const agents = [];
    for (const node of cluster.nodes) {
      agents.push(await node.connect("acme", `agent-${agents.length}`, "agent"));
    }
    const users = [];
    for (let i = 0; i < 6; i++) {
      users.push(await cluster.nodes[i % 3].connect("acme", `user-${i}`, "user"));
    }
    const acks = await Promise.all(
      users.flatMap((user, i) =>
        Array.from(
          { length: 10 },
          (_, k) =>
            user.request<{ ok: boolean; id: string; seq: number }>("message", {
              to: "admin",
              content: `u${i}-m${k}`,
              client_id: `c-${i}-${k}`,
            }),
        )
      ),
    );
    assert.ok(acks.every((a) => a.ok), JSON.stringify(acks.filter((a) => !a.ok)));
    const seqs = acks.map((a) => a.seq);
    assert.equal(new Set(seqs).size, seqs.length, "no two acks share a seq");
    // A retried client_id through another node is answered with the first send's id and seq.
    const again = await cluster.nodes[1].connect("acme", "user-0", "user"); // user-0 was on a
    const retried = await again.request<{ ok: boolean; id: string; seq: number }>("message", {
      to: "admin",
      content: "u0-m0",
      client_id: "c-0-0",
    });
    assert.equal(retried.ok, true);
    assert.equal(retried.id, acks[0].id);
    assert.equal(retried.seq, acks[0].seq);
    const log = [];
    for await (const e of cluster.store.read("acme")) log.push(e);
    assert.equal(log.filter((e) => e.type === "MessageSent").length, 60, "each acked message once");
    // What each agent should have got: the log routed by the domain, as one node would.
    const expected = new Map<string, string[]>();
    let state = initialState();
    for (const stored of log) {
      const event = eventOf(decode(stored));
      for (const d of deliveries(state, event)) {
        if (d.event !== "message") continue;
        for (let i = 0; i < agents.length; i++) {
          const who = { role: "agent" as const, userId: `agent-${i}` };
          if (!reaches(d.to, who)) continue;
          expected.set(who.userId, [...(expected.get(who.userId) ?? []), String(d.payload.id)]);
        }
      }
      state = evolve(state, event);
    }
    const reached = new Set([...expected.values()].flat());
    for (const ack of acks) assert.ok(reached.has(ack.id), `no agent should get ${ack.id}?`);
    for (let i = 0; i < agents.length; i++) {
      const want = expected.get(`agent-${i}`) ?? [];
      if (Deno.env.get("DEBUG_CLUSTER")) {
        const got = agents[i].all<Message>("message").map((m) => `${m.seq}:${m.id.slice(0, 4)}`);
        console.log(i, "want", want.map((w) => w.slice(0, 4)).join(","), "\ngot", got.join(","));
      }
      if (want.length > 0) {
        await agents[i].nextWhere<Message>("message", (m) => m.id === want.at(-1));
      }
      assert.deepEqual(inOrderOnce(agents[i]).map((m) => m.id), want, `agent-${i}`);
    }
  } finally {
    await cluster.close();
  }
});

Deno.test("cluster: a dead node's users are recorded disconnected by a survivor; an identity still on a live node stays", async () => {
  const cluster = await startNodes(2, 2);
  const [a, b] = cluster.nodes;
  try {
    const bob = await b.connect("acme", "bob", "agent");
    await bob.next("user_list");
    await a.connect("acme", "alice", "user");
    await bob.nextWhere<{ user_id: string }>("user_connected", (p) => p.user_id === "alice");
    await a.connect("acme", "zoe", "user");
    await bob.nextWhere<{ user_id: string }>("user_connected", (p) => p.user_id === "zoe");
    await b.connect("acme", "zoe", "user"); // zoe's second tab, on the node that lives
    cluster.bus.kill("a");
    const gone = await bob.next<{ user_id: string }>("user_disconnected");
    assert.equal(gone.user_id, "alice");
    const state = await b.system.actor("acme").current();
    assert.ok(!state.users.has("alice"));
    assert.ok(state.users.has("zoe"), "zoe still has a socket on b");
  } finally {
    await cluster.close();
  }
});

Deno.test("cluster: a dead node's agent is recorded gone, and its grace timer fires on a survivor that takes the runner lease", async () => {
  const cluster = await startNodes(3, 2);
  const [a, b, c] = cluster.nodes;
  try {
    const bot = await token({ company_id: "acme", user_id: "chatbot", role: "bot" });
    const put = await fetch(`${a.url}/api/v1/settings`, {
      method: "PUT",
      headers: { "content-type": "application/json", authorization: `Bearer ${bot}` },
      body: JSON.stringify({ agent_grace_seconds: 1 }),
    });
    assert.equal(put.status, 200, await put.text());
    // The company is loaded on a first, whose actor takes the runner lease.
    const dave = await a.connect("acme", "dave", "agent");
    await dave.next("user_list");
    assert.equal(a.system.actor("acme").runner, true);
    const alice = await b.connect("acme", "alice", "user");
    await handoff(b.url, "acme", "alice", "help");
    await dave.nextWhere<{ assignee: string | null }>("conversation", (p) => p.assignee === "dave");
    await alice.nextWhere<{ assignee: string | null }>(
      "conversation",
      (p) => p.assignee === "dave",
    );
    const carol = await c.connect("acme", "carol", "agent");
    await c.system.actor("acme").current();
    await carol.request("set_status", { status: "away" }); // she takes nothing until dave is gone
    // Node a dies: its bus calls fail from now on and its timers never fire again.
    cluster.bus.kill("a");
    await a.system.stop();
    // A survivor records dave gone; after his grace, the runner (b or c now) requeues alice.
    await carol.nextWhere<{ agent_id: string; status: string }>(
      "agent_status",
      (p) => p.agent_id === "dave" && p.status === "offline",
    );
    const queued = await alice.nextWhere<{ status: string; assignee: string | null }>(
      "conversation",
      (p) => p.status === "queued" && p.assignee === null,
    );
    assert.equal(queued.status, "queued");
    assert.ok(b.system.actor("acme").runner || c.system.actor("acme").runner);
  } finally {
    await cluster.close();
  }
});

Deno.test("cluster: when the shared books are lost (Redis restarted empty), each node counts its sockets again", async () => {
  const cluster = await startNodes(2);
  const [a, b] = cluster.nodes;
  try {
    const bob = await b.connect("acme", "bob", "agent");
    await bob.next("user_list");
    await a.connect("acme", "alice", "user");
    await bob.nextWhere<{ user_id: string }>("user_connected", (p) => p.user_id === "alice");
    const tab = await b.connect("acme", "alice", "user");
    cluster.bus.flush();
    // Wait until a has counted alice's socket again: then the shared count is 2.
    const holder = { companyId: "acme", role: "user" as const, userId: "alice" };
    const probe = cluster.bus.node("probe").presence;
    for (let round = 0;; round++) {
      await probe.open(holder, "probe-socket");
      if ((await probe.close(holder, "probe-socket")) >= 2) break;
      assert.ok(round < 500, "node a never counted alice's socket again");
      await new Promise((r) => setTimeout(r, 10)); // a's re-count is a few turns away
    }
    // Her tab on b closes: her socket on a still counts, so nobody records her gone.
    await tab.close();
    await bob.request("set_status", { status: "away" }); // a round trip through the company
    await b.system.actor("acme").idle();
    assert.ok((await b.system.actor("acme").current()).users.has("alice"));
    assert.equal(bob.all("user_disconnected").length, 0);
  } finally {
    await cluster.close();
  }
});
