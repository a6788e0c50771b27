/**
 * Three real nodes (`main.ts` processes) on one throwaway PostgreSQL database and one throwaway
 * Redis, behind a throwaway nginx running the repository's `deploy/nginx.conf`. Clients connect
 * through nginx only, as in production: which node serves a socket is nginx's round robin.
 * One node is killed with SIGKILL under load: nothing acked is lost or duplicated, a socket on a
 * surviving node gets every logged message once and in order, the killed node's users are shown
 * disconnected, and every webhook event id is delivered.
 */
import assert from "node:assert/strict";
import { nginxBinary, startNginx } from "../../cli/nginx.ts";
import { PostgresEventStore } from "../../adapters/store/mod.ts";
import { signToken } from "../../src/auth.ts";
import { decode } from "../../src/codec.ts";
import { webhookBody, webhookId } from "../../src/webhooks.ts";
import { Client } from "../adapters/socketio/_harness.ts";
import { startPostgres, startRedis } from "../_services.ts";
import { MAIN_ARGS, type MainProcess, startMain, stopMain } from "./_main_process.ts";
import { webhookReceiver } from "./_webhook_receiver.ts";

const SECRET = "cluster-test-secret-0123456789";
const key = new TextEncoder().encode(SECRET);
const NODE_TIMEOUT_SECONDS = 2;

const pg = await startPostgres();
const redis = await startRedis();
const nginx = nginxBinary();
if (!nginx) {
  if (Deno.env.get("CI") === "true") throw new Error("nginx is not installed: CI must install it");
  console.log("skipped: nginx is not installed (apt-get install nginx-light)");
}
const ignore = !pg || !redis || !nginx;

type Ack = { ok: boolean; id: string; seq: number; error?: unknown };
type Message = { id: string; seq: number; content: string; from: string; role: string };

/** A free TCP port on 127.0.0.1 for nginx. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Three nodes on a fresh database and the shared Redis, and nginx in front of them. */
async function startCluster(env: Record<string, string> = {}, args = MAIN_ARGS) {
  const database = await pg!.freshDatabase();
  const nodes: MainProcess[] = [];
  const ended = new Set<MainProcess>();
  // One after the other: each node's schema migration and start are then seen in order.
  for (const id of ["node1", "node2", "node3"]) {
    nodes.push(
      await startMain({
        PORT: "0",
        HOST: "127.0.0.1",
        DATABASE_URL: database,
        REDIS_URL: redis!.url,
        JWT_SECRET: SECRET,
        NODE_ID: id,
        NODE_TIMEOUT_SECONDS: `${NODE_TIMEOUT_SECONDS}`,
        TRUST_PROXY: "1",
        LOG_LEVEL: Deno.env.get("E2E_DEBUG") ? "info" : "error",
        RATE_LIMIT_SOCKET: "0",
        RATE_LIMIT_CONNECT: "0",
        RATE_LIMIT_HTTP: "0",
        ...env,
      }, args),
    );
    const node = nodes.at(-1)!;
    node.child.status.then(() => ended.add(node));
  }
  const port = freePort();
  const proxy = await startNginx(nginx!, port, nodes.map((n) => n.port));
  return {
    database,
    nodes,
    proxy,
    url: `http://127.0.0.1:${port}`,
    /** Stops nginx and the living nodes; resolves with nginx's access log. */
    async stop(): Promise<string> {
      const accessLog = await proxy.stop();
      for (const node of nodes) {
        if (!ended.has(node)) await stopMain(node);
      }
      return accessLog;
    },
  };
}

function tokenOf(company: string, user: string, role: string): Promise<string> {
  return signToken(key, { company_id: company, user_id: user, role });
}

async function connect(url: string, company: string, user: string, role: string, extra = {}) {
  const client = new Client(url, { auth: { token: await tokenOf(company, user, role), ...extra } });
  await client.connected();
  return client;
}

/** The `message` payloads of `messages` are in seq order and each once. */
function assertInOrderOnce(messages: { seq: number }[], who: string): void {
  const seqs = messages.map((m) => m.seq);
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), `${who}: in seq order`);
  assert.equal(new Set(seqs).size, seqs.length, `${who}: each once`);
}

/** The upstreams nginx logged for WebSocket connections (logged as each one ends). */
function upstreamsOf(accessLog: string): Set<string> {
  const upstreams = accessLog.split("\n")
    .filter((line) => line.includes("/socket.io/"))
    .map((line) => /upstream=(\S+)/.exec(line)?.[1])
    .filter((u): u is string => u !== undefined && u !== "-");
  return new Set(upstreams);
}

Deno.test({
  name: "cluster e2e: through nginx, a user and agents on different nodes chat as on one node",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster();
    const company = "acme-a";
    const clients: Client[] = [];
    try {
      // Connected one after the other, round robin puts each on its own node.
      const alice = await connect(cluster.url, company, "alice", "user");
      const bob = await connect(cluster.url, company, "bob", "agent");
      const carol = await connect(cluster.url, company, "carol", "agent");
      clients.push(alice, bob, carol);
      assert.deepEqual(await bob.next("user_list"), { users: ["alice"] });
      assert.deepEqual(await carol.next("user_list"), { users: ["alice"] });

      // The chatbot's call reaches whichever node nginx picks.
      const res = await fetch(`${cluster.url}/transfer_to_agent`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${await tokenOf(company, "chatbot", "bot")}`,
        },
        body: JSON.stringify({ user_id: "alice", company_id: company, context: "a refund" }),
      });
      assert.equal(res.status, 200, await res.text());
      assert.deepEqual(await alice.next("chatbot_context"), { context: "a refund" });

      const acks: Ack[] = [];
      for (let i = 0; i < 10; i++) {
        const ack = await alice.request<Ack>("message", {
          to: "admin",
          content: `hello ${i}`,
          client_id: `alice:${i}`,
        });
        assert.equal(ack.ok, true, JSON.stringify(ack));
        acks.push(ack);
      }
      for (const [name, agent] of [["bob", bob], ["carol", carol]] as const) {
        const last = acks.at(-1)!;
        await agent.nextWhere<Message>("message", (m) => m.id === last.id);
        const got = agent.all<Message>("message").filter((m) => m.from === "alice");
        assert.deepEqual(got.map((m) => [m.id, m.seq]), acks.map((a) => [a.id, a.seq]), name);
        assertInOrderOnce(agent.all<Message>("message"), name);
      }
      // Whichever agent took the conversation answers; alice gets it on her node.
      let reply = await bob.request<Ack>("message", { user_id: "alice", content: "hi, bob" });
      if (!reply.ok) {
        reply = await carol.request<Ack>("message", { user_id: "alice", content: "hi, bob" });
      }
      assert.equal(reply.ok, true, JSON.stringify(reply));
      assert.equal(
        (await alice.nextWhere<Message>("message", (m) => m.id === reply.id)).seq,
        reply.seq,
      );
      assertInOrderOnce(alice.all<Message>("message"), "alice");
    } finally {
      for (const client of clients) await client.close();
      const accessLog = await cluster.stop();
      // Checked once the sockets are closed, since nginx logs a WebSocket as it ends.
      if (clients.length === 3) {
        assert.equal(upstreamsOf(accessLog).size, 3, `sockets spread over 3 nodes:\n${accessLog}`);
      }
    }
  },
});

/** Resolves with `promise`, or rejects saying `what` did not happen within `ms`. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

Deno.test({
  name:
    "cluster e2e: a node killed with SIGKILL under load loses no acked message, surviving sockets get every message once, presence and webhooks carry on",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({ WEBHOOK_ALLOW_PRIVATE: "true" });
    const company = "acme-b";
    const hooks = await webhookReceiver();
    const bot = await tokenOf(company, "chatbot", "bot");
    const post = (path: string, method: string, body: unknown) =>
      fetch(`${cluster.url}${path}`, {
        method,
        headers: { "content-type": "application/json", authorization: `Bearer ${bot}` },
        body: JSON.stringify(body),
      });
    const everyone: Client[] = [];
    let stopped = false;
    try {
      const settings = await post("/api/v1/settings", "PUT", {
        webhook_url: hooks.url,
        webhook_secret: "hook-secret",
      });
      assert.equal(settings.status, 200, await settings.text());

      // Each boss (an admin: sees every user's messages) keeps what it got over its sockets.
      const bossSaw = new Map<string, Message[]>();
      const lastSeq = (boss: string) => Math.max(0, ...bossSaw.get(boss)!.map((m) => m.seq));
      const dropped = new Set<Client>();
      const resuming: Promise<unknown>[] = [];
      const open = async (user: string, role: string, extra = {}) => {
        const client = await connect(cluster.url, company, user, role, extra);
        everyone.push(client);
        client.socket.on("disconnect", () => dropped.add(client));
        if (role === "admin") {
          client.socket.on("message", (m: Message) => bossSaw.get(user)!.push(m));
          // A boss whose node died comes back through nginx and resumes after what it saw.
          client.socket.on("disconnect", (reason: string) => {
            if (stopped || reason === "io client disconnect") return;
            resuming.push(
              open(user, role, { last_seq: lastSeq(user) }).then((c) => sockets.set(user, c)),
            );
          });
        }
        return client;
      };
      const sockets = new Map<string, Client>();
      // Connected one at a time in this order, round robin gives each node a boss, a loader
      // and an idle user.
      const order: [string, string][] = [
        ["boss1", "admin"],
        ["u1", "user"],
        ["idle1", "user"],
        ["u2", "user"],
        ["idle2", "user"],
        ["boss2", "admin"],
        ["idle3", "user"],
        ["boss3", "admin"],
        ["u3", "user"],
      ];
      for (const [user, role] of order) {
        if (role === "admin") bossSaw.set(user, []);
        sockets.set(user, await open(user, role));
      }
      const first = new Map(sockets);

      const acked = new Map<string, Ack>(); // client_id → ack
      const resent: string[] = [];
      let unavailable = 0;
      /** Sends `cid` on `client`; rejects if the socket drops first or no ack comes in 5 s. */
      const send = (client: Client, cid: string) =>
        new Promise<Ack>((resolve, reject) => {
          if (!client.socket.connected) return reject(new Error("disconnected"));
          client.socket.once("disconnect", () => reject(new Error("disconnected")));
          client.socket.timeout(5000).emitWithAck("message", {
            to: "admin",
            content: cid,
            client_id: cid,
          }).then(resolve, reject);
        });
      /** Hands a fresh user to the agents (webhooks follow), retried until a node answers. */
      const handoff = async (user: string) => {
        for (;;) {
          const res = await post("/transfer_to_agent", "POST", {
            user_id: user,
            company_id: company,
          })
            .catch(() => null);
          const text = await res?.text();
          if (res?.status === 200) return;
          if (res && res.status !== 502 && res.status !== 503) {
            assert.fail(`handoff ${res.status}: ${text}`);
          }
        }
      };
      const KILL_AT = 40;
      const AFTER_KILL = 60;
      let killedAt = 0;
      const killed = cluster.nodes[0];
      const loader = async (user: string) => {
        let client = sockets.get(user)!;
        let n = 0;
        let pending: string | undefined;
        while (!stopped) {
          const cid = pending ?? `${user}:${++n}`;
          pending = cid;
          try {
            const ack = await send(client, cid);
            // "Nothing was recorded, try again": the client resends under the same cid.
            if (!ack.ok && (ack.error as { code?: string })?.code === "unavailable") {
              unavailable++;
              continue;
            }
            assert.equal(ack.ok, true, JSON.stringify(ack));
            acked.set(cid, ack);
            pending = undefined;
            if (user === "u1" && n % 10 === 0) await handoff(`w${n}`);
          } catch (error) {
            if (error instanceof assert.AssertionError) throw error;
            // The node died under this socket: reconnect through nginx, resend the same cid.
            resent.push(cid);
            client.socket.disconnect();
            client = await open(user, "user");
          }
          if (acked.size >= KILL_AT && killedAt === 0) {
            killedAt = Date.now();
            killed.child.kill("SIGKILL");
          }
        }
      };
      // A loader's failure ends the load and fails the test where it is awaited.
      const loaders = ["u1", "u2", "u3"].map((u) =>
        loader(u).catch((error) => {
          stopped = true;
          return error;
        })
      );
      await killed.child.status;
      // Which sockets were on the killed node shows by which ones drop.
      const idles = ["idle1", "idle2", "idle3"].map((u) => first.get(u)!);
      await within(
        5000,
        "an idle user's socket drops",
        Promise.race(idles.map((c) =>
          new Promise((resolve) => {
            if (dropped.has(c)) resolve(null);
            else c.socket.once("disconnect", resolve);
          })
        )),
      );
      const idleGone = ["idle1", "idle2", "idle3"].filter((u) => dropped.has(first.get(u)!));
      const survivors = ["boss1", "boss2", "boss3"].filter((b) => !dropped.has(first.get(b)!));
      assert.ok(idleGone.length >= 1, "an idle user was on the killed node");
      // The killed node's idle users are shown disconnected to a surviving boss in time: the
      // node timeout, then a sweep (every third of it), then the Disconnect's append. The slack
      // is for a loaded CI machine, where this file's nodes share two cores with the load; one CI
      // run of four took longer than the timeout plus 10 s (under investigation: see issue 14).
      const watcher = sockets.get(survivors[0] ?? "boss1")!;
      for (const idle of idleGone) {
        const left = Math.max(0, killedAt + (NODE_TIMEOUT_SECONDS + 30) * 1000 - Date.now());
        await within(
          left,
          `${idle} shown disconnected`,
          watcher.nextWhere<{ user_id: string }>("user_disconnected", (p) => p.user_id === idle),
        );
      }
      const target = acked.size + AFTER_KILL;
      await within(
        20_000,
        "load after the kill",
        (async () => {
          while (acked.size < target) await new Promise((r) => setTimeout(r, 50));
        })(),
      );
      stopped = true;
      for (const error of await Promise.all(loaders)) if (error) throw error;
      await Promise.all(resuming);

      // A last message: once every boss has it, each has all before it.
      const barrier = await send(sockets.get("u1")!, "u1:barrier");
      acked.set("u1:barrier", barrier);
      for (const boss of bossSaw.keys()) {
        await sockets.get(boss)!.nextWhere<Message>("message", (m) => m.id === barrier.id);
      }

      const store = await PostgresEventStore.open(cluster.database, { applicationName: "check" });
      const logged: { id: string; seq: number; cid?: string }[] = [];
      const hookIds: string[] = [];
      try {
        for await (const e of store.read(company)) {
          const event = decode(e);
          if (webhookBody(company, event)) hookIds.push(webhookId(company, e.seq));
          if (event.type !== "MessageSent" || event.data.senderRole !== "user") continue;
          logged.push({ id: event.data.messageId, seq: e.seq, cid: event.data.clientId });
        }
      } finally {
        await store.close();
      }
      const byCid = Map.groupBy(logged, (m) => m.cid);
      for (const [cid, ack] of acked) {
        assert.deepEqual(byCid.get(cid)?.map((m) => m.id), [ack.id], `${cid} logged once`);
      }
      assert.ok([...byCid.values()].every((ms) => ms.length === 1), "no client_id logged twice");
      assert.equal(logged.length, acked.size, "nothing logged that was not acked");
      assert.ok(survivors.length >= 1, "a boss stayed on a surviving node");
      for (const boss of bossSaw.keys()) {
        const got = bossSaw.get(boss)!.filter((m) => m.role === "user");
        assertInOrderOnce(got, boss);
        assert.deepEqual(got.map((m) => m.id), logged.map((m) => m.id), `${boss} got every one`);
      }
      // Every webhook event id reaches the receiver, whichever node ran the deliveries.
      const missing = () => hookIds.filter((id) => !hooks.accepted.some((r) => r.id === id));
      await within(
        20_000,
        "every webhook delivered",
        (async () => {
          while (missing().length > 0) await hooks.until(hooks.accepted.length + 1);
        })(),
      ).catch((e) => assert.fail(`${e.message}; missing ${missing().join(", ")}`));
      console.log(
        `${acked.size} acked, ${resent.length} resent after the kill, ${unavailable} answered unavailable, ${hookIds.length} webhook ids, ` +
          `${hooks.accepted.length} deliveries, survivors ${survivors.join(",")}`,
      );
    } finally {
      stopped = true;
      for (const client of everyone) client.socket.disconnect();
      await cluster.stop();
      await hooks.close();
    }
  },
});

Deno.test({
  name:
    "cluster e2e, Deploy-shaped: nodes allowed to write only /tmp, evicted under load (SIGINT, SIGKILL 5 s later), lose no acked message",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // Deno Deploy lets a process write /tmp only.
    const args = MAIN_ARGS.map((a) => a === "--allow-write" ? "--allow-write=/tmp" : a);
    const cluster = await startCluster({}, args);
    const company = "acme-c";
    const acked = new Map<string, Ack>();
    const evictions: (number | null)[] = [];
    let stopped = false;
    const clients: Client[] = [];
    /** Sends until acked, reconnecting through nginx when the node goes away. */
    const loader = async (user: string) => {
      let client = await connect(cluster.url, company, user, "user");
      clients.push(client);
      for (let n = 1; !stopped; n++) {
        const cid = `${user}:${n}`;
        for (;;) {
          const ack = await client.socket.timeout(5000).emitWithAck("message", {
            to: "admin",
            content: cid,
            client_id: cid,
          }).catch(() => null) as Ack | null;
          if (ack?.ok) {
            acked.set(cid, ack);
            break;
          }
          if (ack && (ack.error as { code?: string })?.code !== "unavailable") {
            assert.fail(JSON.stringify(ack));
          }
          if (!client.socket.connected) {
            client.socket.disconnect();
            client = await connect(cluster.url, company, user, "user").catch(() => client);
            clients.push(client);
          }
        }
      }
    };
    try {
      const loaders = ["v1", "v2", "v3", "v4"].map((u) =>
        loader(u).catch((error) => {
          stopped = true;
          return error;
        })
      );
      const progress = async (count: number) => {
        while (acked.size < count && !stopped) await new Promise((r) => setTimeout(r, 50));
      };
      // Two evictions, one after the other, as Deploy does them: SIGINT, then SIGKILL at 5 s.
      for (const node of cluster.nodes.slice(0, 2)) {
        await within(20_000, "load before an eviction", progress(acked.size + 40));
        node.child.kill("SIGINT");
        const kill = setTimeout(() => node.child.kill("SIGKILL"), 5000);
        evictions.push((await node.child.status).code);
        clearTimeout(kill);
      }
      await within(20_000, "load after the evictions", progress(acked.size + 40));
      stopped = true;
      for (const error of await Promise.all(loaders)) if (error) throw error;

      const store = await PostgresEventStore.open(cluster.database, { applicationName: "check" });
      const logged = new Map<string, string[]>();
      try {
        for await (const e of store.read(company)) {
          const event = decode(e);
          if (event.type !== "MessageSent" || !event.data.clientId) continue;
          logged.set(event.data.clientId, [
            ...logged.get(event.data.clientId) ?? [],
            event.data.messageId,
          ]);
        }
      } finally {
        await store.close();
      }
      for (const [cid, ack] of acked) {
        assert.deepEqual(logged.get(cid), [ack.id], `${cid} logged once`);
      }
      // Each evicted node drained and exited by itself (0) before the SIGKILL.
      assert.deepEqual(evictions, [0, 0]);
      console.log(`${acked.size} acked across two evictions`);
    } finally {
      stopped = true;
      for (const client of clients) client.socket.disconnect();
      await cluster.stop();
    }
  },
});
