/**
 * `deno task log migrate`: a KV log copied into PostgreSQL (a throwaway server), rerun to copy
 * only what is new, and `--check` catching a copy that replays to another state.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { main } from "../../cli/log.ts";
import { KvEventStore, PostgresEventStore } from "../../adapters/store/mod.ts";
import {
  type CompanyCommand,
  type CompanyState,
  initialState,
  step,
  toSnapshot,
} from "../../domain/mod.ts";
import { encode } from "../../src/codec.ts";
import type { Storage } from "../../src/ports.ts";
import { exportLine } from "../../src/replay.ts";
import { startPostgres } from "../_services.ts";

const pg = await startPostgres();
const AT = 1_764_043_200_000;

/** Steps a company through `commands` and appends their events, as the actor would. */
async function record(
  store: Storage,
  company: string,
  commands: CompanyCommand[],
  from: { state: CompanyState; version: number } = { state: initialState(), version: 0 },
): Promise<{ state: CompanyState; version: number }> {
  let { state, version } = from;
  for (const command of commands) {
    const stepped = step(state, command);
    if (!stepped.ok) throw new Error(`${command.type} refused: ${stepped.rejection.message}`);
    version = await store.append(company, version, stepped.events.map(encode));
    state = stepped.state;
  }
  return { state, version };
}

function message(userId: string, n: number, sender = userId): CompanyCommand {
  return {
    type: "SendMessage",
    data: {
      sender: { userId: sender, role: sender === userId ? "user" : "agent" },
      userId,
      text: `message ${n}`,
      messageId: `m-${userId}-${n}`,
      conversationId: "x",
      at: AT + n,
    },
  };
}

const opening: CompanyCommand[] = [
  {
    type: "ChangeSettings",
    data: { changes: { webhookUrl: "https://bot.example/h", webhookSecret: "s3cret-123" }, at: AT },
  },
  { type: "Connect", data: { userId: "bob", role: "agent", socketId: "s-bob", at: AT } },
  {
    type: "TransferToAgent",
    data: { userId: "ann", context: "refund", conversationId: "c-ann", at: AT },
  },
];

/** Runs the tool with DATA_DIR and DATABASE_URL set; returns its exit code and output. */
async function run(
  args: string[],
  env: { dataDir: string; databaseUrl?: string },
): Promise<{ code: number; out: string[]; err: string[] }> {
  const saved = { DATA_DIR: Deno.env.get("DATA_DIR"), DATABASE_URL: Deno.env.get("DATABASE_URL") };
  Deno.env.set("DATA_DIR", env.dataDir);
  if (env.databaseUrl) Deno.env.set("DATABASE_URL", env.databaseUrl);
  else Deno.env.delete("DATABASE_URL");
  const out: string[] = [];
  const err: string[] = [];
  try {
    const code = await main(args, (l) => out.push(l), (l) => err.push(l));
    return { code, out, err };
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
}

Deno.test({
  name:
    "log migrate copies a KV log into PostgreSQL, copies only what is new when rerun, and --check finds a copy that replays differently",
  ignore: pg === null,
  async fn() {
    const dataDir = await Deno.makeTempDir();
    const databaseUrl = await pg!.freshDatabase();
    const raw = postgres(databaseUrl, { onnotice: () => {} });
    try {
      const kv = await KvEventStore.open(`${dataDir}/events.kv`);
      let acme = await record(kv, "acme", [
        ...opening,
        message("ann", 1),
        message("ann", 2, "bob"),
      ]);
      await kv.saveSnapshot("acme", acme.version, toSnapshot(acme.state));
      // Past one append's worth of events (the copy goes in batches).
      const chatty = await record(
        kv,
        "chatty",
        [...opening, ...Array.from({ length: 1100 }, (_, i) => message("ann", i))],
      );
      const globex = await record(kv, "globex", opening.slice(2));
      await kv.saveCheckpoint("webhooks:acme", 3);
      await kv.markDue("globex");
      kv.close();

      const first = await run(["migrate"], { dataDir, databaseUrl });
      assert.equal(first.code, 0, first.err.join("\n"));
      const total = acme.version + chatty.version + globex.version;
      assert.deepEqual(first.out, [
        `migrate: 3 companies, ${total} events copied (0 companies had nothing new)`,
      ]);
      assert.match(first.err.at(-1)!, /^migrate: 3\/3 companies, \d+ events copied/);

      const copy = await PostgresEventStore.open(databaseUrl);
      const kvAgain = await KvEventStore.open(`${dataDir}/events.kv`);
      try {
        for (const company of ["acme", "chatty", "globex"]) {
          const lines = async (store: Storage) => {
            const out: string[] = [];
            for await (const e of store.read(company)) out.push(exportLine(e));
            return out;
          };
          assert.deepEqual(await lines(copy), await lines(kvAgain));
        }
        assert.equal((await copy.readHistory("chatty", "ann", { limit: 2000 })).length, 1100);
        assert.deepEqual(await copy.loadSnapshot("acme"), await kvAgain.loadSnapshot("acme"));
        assert.equal(await copy.checkpoint("webhooks:acme"), 3);
        const due: string[] = [];
        for await (const company of copy.dueStreams()) due.push(company);
        assert.deepEqual(due, ["globex"]);
        // The single node goes on writing before the move: a rerun copies only that.
        acme = await record(kvAgain, "acme", [message("ann", 3), message("ann", 4)], acme);
      } finally {
        kvAgain.close();
        await copy.close();
      }

      const second = await run(["migrate", "--check"], { dataDir, databaseUrl });
      assert.equal(second.code, 0, second.err.join("\n"));
      assert.deepEqual(second.out, [
        "migrate: 3 companies, 2 events copied (2 companies had nothing new)",
        "check: all 3 companies replay to the same state from both logs",
      ]);

      // A copy whose middle differs (the handoff names another user) is caught.
      await raw`UPDATE events SET data = replace(data::text, '"ann"', '"eve"')::json
        WHERE stream = 'acme' AND seq = 3`;
      const third = await run(["migrate", "--check"], { dataDir, databaseUrl });
      assert.equal(third.code, 1);
      assert.ok(third.out.some((l) => l.startsWith("check: company acme: ")), third.out.join("\n"));
      assert.equal(third.out.at(-1), "check: 1 of 3 companies differ");
    } finally {
      await raw.end();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test("log migrate without DATABASE_URL says what it needs", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    (await KvEventStore.open(`${dataDir}/events.kv`)).close();
    await assert.rejects(run(["migrate"], { dataDir }), /migrate needs DATABASE_URL/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
