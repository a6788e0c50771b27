/** The real server as a child process: start, chat, stop cleanly, restart with nothing lost. */
import assert from "node:assert/strict";
import { signToken } from "../../src/auth.ts";
import { Client } from "../adapters/socketio/_harness.ts";
import { MAIN_ARGS, ROOT, startMain, stopMain as stop } from "./_main_process.ts";

Deno.test("main.ts: starts with a generated secret, keeps events in DATA_DIR, stops on SIGTERM with 0, and loses nothing across a restart", async () => {
  const dataDir = await Deno.makeTempDir();
  const clients: Client[] = [];
  try {
    const first = await startMain({ PORT: "0", DATA_DIR: dataDir });
    const secretFile = `${dataDir}/jwt_secret`;
    assert.equal((await Deno.stat(secretFile)).mode! & 0o777, 0o600);
    const secret = new TextEncoder().encode((await Deno.readTextFile(secretFile)).trim());
    const url = `http://127.0.0.1:${first.port}`;
    assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { ok: true });
    assert.deepEqual(await (await fetch(`${url}/api/v1/demo`)).json(), { enabled: true });

    const alice = new Client(url, {
      auth: {
        token: await signToken(secret, { company_id: "acme", user_id: "alice", role: "user" }),
      },
    });
    clients.push(alice);
    await alice.connected();
    const ack = await alice.request("message", { to: "admin", content: "nobody is online yet" });
    assert.equal(ack.ok, true);
    await alice.close();
    assert.equal((await stop(first)).code, 0);
    assert.match(first.banner(), /deno task token/, "start says how to mint tokens");
    assert.ok((await Deno.stat(`${dataDir}/events.kv`)).isFile);

    const second = await startMain({ PORT: "0", DATA_DIR: dataDir });
    const bob = new Client(`http://127.0.0.1:${second.port}`, {
      auth: {
        token: await signToken(secret, { company_id: "acme", user_id: "bob", role: "admin" }),
      },
    });
    clients.push(bob);
    await bob.connected();
    assert.deepEqual(
      await bob.next("user_list"),
      { users: [] },
      "presence does not survive a restart",
    );
    const m = await bob.next<{ content: string; id: string; seq: number }>("message");
    assert.deepEqual([m.content, m.id, m.seq], ["nobody is online yet", ack.id, ack.seq]);
    await bob.close();
    assert.equal((await stop(second)).code, 0);
  } finally {
    for (const c of clients) c.socket.disconnect();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("main.ts: a wrong setting stops it with one line naming the variable", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: MAIN_ARGS,
    cwd: ROOT,
    env: { PORT: "not-a-port" },
  }).output();
  assert.equal(out.code, 1);
  assert.equal(new TextDecoder().decode(out.stderr).trim(), "Invalid PORT: must be a whole number");
});
