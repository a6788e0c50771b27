/**
 * Crash safety: the real server under load from real clients, killed with SIGKILL at random
 * moments and restarted. Every acknowledged message is in the log exactly once and reaches
 * the agent after it resumes; resends of unacknowledged ones (same client_id) never duplicate.
 */
import assert from "node:assert/strict";
import { KvEventStore } from "../../adapters/store/mod.ts";
import { signToken } from "../../src/auth.ts";
import { Client } from "../adapters/socketio/_harness.ts";
import { startMain } from "./_main_process.ts";

const SECRET = "crash-test-secret-0123456789";
const key = new TextEncoder().encode(SECRET);

function startServer(dataDir: string) {
  return startMain({
    PORT: "0",
    DATA_DIR: dataDir,
    JWT_SECRET: SECRET,
    LOG_LEVEL: "error",
    RATE_LIMIT_SOCKET: "0",
  });
}

type Ack = { ok: boolean; id: string; seq: number };

Deno.test("crash: kill -9 at random moments under load loses no acknowledged message and duplicates none", async () => {
  const dataDir = await Deno.makeTempDir();
  const acked = new Map<string, Ack>(); // client_id → ack
  const unacked = new Set<string>(); // sent, no ack seen before the crash
  const agentSaw = new Set<string>();
  let agentLastSeq = 0;
  const users = ["u1", "u2", "u3", "u4", "u5"];
  const tokens = new Map<string, string>();
  for (const u of [...users, "bob"]) {
    tokens.set(
      u,
      await signToken(key, {
        company_id: "acme",
        user_id: u,
        role: u === "bob" ? "admin" : "user",
      }),
    );
  }
  const connect = async (url: string, u: string, extra: Record<string, unknown> = {}) => {
    const c = new Client(url, { auth: { token: tokens.get(u), ...extra } });
    await c.connected();
    return c;
  };
  const watchAgent = (bob: Client) =>
    bob.socket.on("message", (m: { id: string; seq: number; role: string }) => {
      if (m.role === "user") agentSaw.add(m.id);
      agentLastSeq = Math.max(agentLastSeq, m.seq);
    });
  let counter = 0;
  const send = async (c: Client, cid: string) => {
    unacked.add(cid);
    const ack = await c.socket.timeout(3000).emitWithAck("message", {
      to: "admin",
      content: cid,
      client_id: cid,
    }) as Ack;
    assert.equal(ack.ok, true);
    acked.set(cid, ack);
    unacked.delete(cid);
  };
  const kills: number[] = [];
  try {
    for (let round = 0; round < 3; round++) {
      const server = await startServer(dataDir);
      if (round === 0) {
        // With a configured secret the try-it demo is off.
        assert.deepEqual(await (await fetch(`${server.url}/api/v1/demo`)).json(), {
          enabled: false,
        });
      }
      const bob = await connect(server.url, "bob", { last_seq: agentLastSeq });
      watchAgent(bob);
      const clients = await Promise.all(users.map((u) => connect(server.url, u)));
      // What the last crash left unacknowledged is sent again, under the same client_id.
      await Promise.all(
        [...unacked].map((cid) => send(clients[users.indexOf(cid.split(":")[0])], cid)),
      );
      const killAfter = acked.size + 20 + Math.floor(Math.random() * 80);
      kills.push(killAfter);
      let crashed = false;
      const loops = clients.map(async (c, i) => {
        while (!crashed) {
          try {
            await send(c, `${users[i]}:${++counter}`);
          } catch {
            return; // the server died under this send
          }
          if (acked.size >= killAfter && !crashed) {
            crashed = true;
            server.child.kill("SIGKILL");
          }
        }
      });
      await Promise.all(loops);
      await server.child.status;
      for (const c of [bob, ...clients]) c.socket.disconnect();
    }

    // A last start: resend what is still unacknowledged, let the agent resume, then stop.
    const server = await startServer(dataDir);
    const bob = await connect(server.url, "bob", { last_seq: agentLastSeq });
    watchAgent(bob);
    const clients = await Promise.all(users.map((u) => connect(server.url, u)));
    await Promise.all(
      [...unacked].map((cid) => send(clients[users.indexOf(cid.split(":")[0])], cid)),
    );
    assert.equal(unacked.size, 0);
    const barrier = await send(clients[0], "u1:barrier").then(() => acked.get("u1:barrier")!);
    await bob.nextWhere<{ id: string }>("message", (m) => m.id === barrier.id);
    for (const c of [bob, ...clients]) c.socket.disconnect();
    server.child.kill("SIGTERM");
    assert.equal((await server.child.status).code, 0);

    const store = await KvEventStore.open(`${dataDir}/events.kv`);
    const byClientId = new Map<string, number>();
    const byId = new Map<string, number>();
    for await (const e of store.read("acme")) {
      if (e.type !== "MessageSent") continue;
      const d = e.data as { clientId?: string; messageId: string };
      byClientId.set(d.clientId!, (byClientId.get(d.clientId!) ?? 0) + 1);
      byId.set(d.messageId, (byId.get(d.messageId) ?? 0) + 1);
    }
    store.close();
    assert.ok(acked.size > 60, `load ran (${acked.size} acks, kills after ${kills.join(", ")})`);
    for (const [cid, ack] of acked) {
      assert.equal(byClientId.get(cid), 1, `${cid} is in the log exactly once`);
      assert.equal(byId.get(ack.id), 1);
      assert.ok(agentSaw.has(ack.id), `the agent got ${cid} (seq ${ack.seq})`);
    }
    assert.ok([...byClientId.values()].every((n) => n === 1), "no client_id recorded twice");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
