import assert from "node:assert/strict";
import { start } from "../main.ts";
import { KvEventStore } from "../adapters/store/mod.ts";
import { signToken } from "../src/auth.ts";
import { loadConfig } from "../src/config.ts";
import { silentLogger } from "../src/log.ts";
import { fullDiskKv } from "./_fakes.ts";
import { Client } from "./adapters/socketio/_harness.ts";

const SECRET = "a-configured-secret-0123456789";

type Ack = { ok: boolean; error?: { code: string }; seq?: number };

/** A server's settings on a free local port, its data in `dir`, and `extra` variables. */
function configIn(dir: string, extra: Record<string, string> = {}) {
  return loadConfig({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: dir, JWT_SECRET: SECRET, ...extra });
}

Deno.test("start(): on a full disk it starts, is alive but not ready, serves connects, resume and history, answers sends 'unavailable'; once space returns it is ready and sends work", async () => {
  const dir = await Deno.makeTempDir();
  const config = configIn(dir);
  const key = new TextEncoder().encode(SECRET);
  const tokenOf = (user: string, role: string) =>
    signToken(key, { company_id: "acme", user_id: user, role });
  const clients: Client[] = [];
  const connect = async (url: string, auth: Record<string, unknown>) => {
    const client = new Client(url, { auth });
    clients.push(client);
    await client.connected();
    return client;
  };
  try {
    const first = await start(config, silentLogger);
    const url1 = `http://127.0.0.1:${first.port}`;
    const alice = await connect(url1, { token: await tokenOf("alice", "user") });
    const before = await alice.request<Ack>("message", { to: "admin", content: "before" });
    assert.equal(before.ok, true);
    await alice.close();
    await first.stop();

    const full = { value: true };
    const second = await start(
      config,
      silentLogger,
      (path) =>
        KvEventStore.open(path, { openKv: async (p) => fullDiskKv(await Deno.openKv(p), full) }),
    );
    const url = `http://127.0.0.1:${second.port}`;
    try {
      assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { ok: true });
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 503);
      const body = await ready.json();
      assert.equal(body.reason, "store_refuses_writes");
      assert.match(body.error.message, /database or disk is full/);

      const bob = await connect(url, { token: await tokenOf("bob", "admin"), last_seq: 0 });
      assert.equal((await bob.next<{ content: string }>("message")).content, "before");
      const history = await bob.request<{ messages: { content: string }[] }>("history", {
        user_id: "alice",
      });
      assert.deepEqual(history.messages.map((m) => m.content), ["before"]);
      const refused = await bob.request<Ack>("message", { user_id: "alice", content: "during" });
      assert.deepEqual([refused.ok, refused.error?.code], [false, "unavailable"]);

      full.value = false;
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      const after = await bob.request<Ack>("message", { user_id: "alice", content: "after" });
      assert.equal(after.ok, true);
      assert.ok(after.seq! > before.seq!);
      await bob.close();
    } finally {
      await second.stop();
    }
  } finally {
    for (const c of clients) c.socket.disconnect();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("start(): attachments are files under DATA_DIR/attachments, limited by MAX_ATTACHMENT_BYTES, and outlive a restart", async () => {
  const dir = await Deno.makeTempDir();
  const config = configIn(dir, { MAX_ATTACHMENT_BYTES: "100" });
  const key = new TextEncoder().encode(SECRET);
  const alice = await signToken(key, { company_id: "acme", user_id: "alice", role: "user" });
  const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3);
  const send = (url: string, body: Uint8Array<ArrayBuffer>) =>
    fetch(`${url}/api/v1/attachments?name=a.png`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice}`, "content-type": "image/png" },
      body,
    });
  try {
    const first = await start(config, silentLogger);
    const url = `http://127.0.0.1:${first.port}`;
    const big = await send(url, new Uint8Array(101));
    assert.equal(big.status, 413);
    await big.body?.cancel();
    const stored = await send(url, png);
    assert.equal(stored.status, 201);
    const { id } = await stored.json();
    await first.stop();
    const folders = [...Deno.readDirSync(`${dir}/attachments`)];
    assert.equal(folders.length, 1);
    assert.deepEqual(
      [...Deno.readDirSync(`${dir}/attachments/${folders[0].name}`)].map((e) => e.name).sort(),
      [`${id}.bin`, `${id}.json`],
      "the refused upload left nothing",
    );

    const second = await start(config, silentLogger);
    try {
      const res = await fetch(`http://127.0.0.1:${second.port}/api/v1/attachments/${id}`, {
        headers: { authorization: `Bearer ${alice}` },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), png);
    } finally {
      await second.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
