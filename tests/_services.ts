/**
 * Throwaway servers for the tests that need a real one. Each is started by the test process
 * itself (a temp dir, a random port on 127.0.0.1), once per process, and stopped when the
 * process ends; a test never touches a server the machine already runs. Without the binaries
 * a helper returns null and the test skips, saying why, except under `CI=true`, where CI
 * installs them and a missing one is an error.
 */

/** Says why a test skips (the binaries are missing); under `CI=true` it throws instead. */
function missing(what: string): null {
  if (Deno.env.get("CI") === "true") throw new Error(`${what}: CI must install it`);
  console.log(`skipped: ${what}`);
  return null;
}

/** A free TCP port on 127.0.0.1 (free when asked; the server takes it right after). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Runs a command to its end; throws with its output if it failed. */
async function run(cmd: string, args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${code}): ${text}`);
  return text;
}

// ---- PostgreSQL ------------------------------------------------------------------------

/** A PostgreSQL server of this test process, trusting every local connection. */
export interface PostgresServer {
  readonly port: number;
  /** The URL of database `db` (the server's own `postgres` database by default). */
  url(db?: string): string;
  /** Creates an empty database and returns its URL: one per test keeps tests apart. */
  freshDatabase(): Promise<string>;
  /** Runs SQL as the superuser on database `db` through psql; returns its unaligned output. */
  psql(sql: string, db?: string): Promise<string>;
}

let postgres: Promise<PostgresServer | null> | undefined;

/**
 * This process's PostgreSQL server, started on first use (initdb and pg_ctl from
 * `/usr/lib/postgresql/<version>/bin`, as the `postgres` user when run as root, since initdb
 * refuses root), or null when the binaries are missing and not under CI. `fsync=off` unless
 * `durable` (benchmarks): the tests never outlive a crash of the machine. The first call's
 * options hold for the process.
 */
export function startPostgres(
  options: { durable?: boolean } = {},
): Promise<PostgresServer | null> {
  postgres ??= launchPostgres(options.durable ?? false);
  return postgres;
}

async function postgresBin(): Promise<string | null> {
  const root = "/usr/lib/postgresql";
  const versions: number[] = [];
  try {
    for await (const entry of Deno.readDir(root)) {
      if (/^\d+$/.test(entry.name)) versions.push(Number(entry.name));
    }
  } catch {
    return null;
  }
  for (const version of versions.sort((a, b) => b - a)) {
    const bin = `${root}/${version}/bin`;
    try {
      await Deno.stat(`${bin}/initdb`);
      await Deno.stat(`${bin}/pg_ctl`);
      return bin;
    } catch {
      // not this one
    }
  }
  return null;
}

async function launchPostgres(durable: boolean): Promise<PostgresServer | null> {
  const bin = await postgresBin();
  if (!bin) return missing("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)");
  const root = Deno.uid() === 0;
  // As root, the server's files and processes belong to the `postgres` user.
  const as = (cmd: string, args: string[]) =>
    root ? run("runuser", ["-u", "postgres", "--", cmd, ...args]) : run(cmd, args);
  const dir = await Deno.makeTempDir({ prefix: "chat-pg-" });
  if (root) {
    const id = async (flag: string) => Number((await run("id", [flag, "postgres"])).trim());
    await Deno.chown(dir, await id("-u"), await id("-g"));
  }
  const data = `${dir}/data`;
  await as(`${bin}/initdb`, [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "--encoding=UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  const port = freePort();
  const options = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c max_connections=200",
    ...(durable ? [] : ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]),
  ].join(" ");
  await as(`${bin}/pg_ctl`, [
    "start",
    "-D",
    data,
    "-w",
    "-s",
    "-l",
    `${dir}/server.log`,
    "-o",
    options,
  ]);
  // pg_ctl left the server running on its own (no child of ours): stop it as the process ends.
  globalThis.addEventListener("unload", () => {
    const args = ["stop", "-D", data, "-m", "immediate", "-s"];
    new Deno.Command(root ? "runuser" : `${bin}/pg_ctl`, {
      args: root ? ["-u", "postgres", "--", `${bin}/pg_ctl`, ...args] : args,
      stdout: "null",
      stderr: "null",
    }).outputSync();
    Deno.removeSync(dir, { recursive: true });
  });
  const url = (db = "postgres") => `postgres://postgres@127.0.0.1:${port}/${db}`;
  const psql = (sql: string, db = "postgres") =>
    run(`${bin}/psql`, ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql, url(db)]);
  let databases = 0;
  return {
    port,
    url,
    psql,
    async freshDatabase() {
      const name = `test_${++databases}`;
      await psql(`CREATE DATABASE ${name}`);
      return url(name);
    },
  };
}

// ---- Redis ----

/** A running throwaway Redis. */
export interface RedisService {
  readonly url: string;
  readonly port: number;
}

let redis: Promise<RedisService | null> | undefined;

/** This process's throwaway Redis, started on first call; null (with a reason printed) if none. */
export function startRedis(): Promise<RedisService | null> {
  redis ??= launchRedis();
  return redis;
}

async function launchRedis(): Promise<RedisService | null> {
  const binary = ["redis-server", "/usr/bin/redis-server"].find(runs);
  if (!binary) {
    if (Deno.env.get("CI")) {
      throw new Error("redis-server is required in CI: .ci/run installs Debian's redis-server");
    }
    console.warn("Redis tests skipped: no redis-server found (apt-get install redis-server).");
    return null;
  }
  // A port another process takes between our probe and the server's bind fails the start:
  // try again on another.
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    const dir = await Deno.makeTempDir({ prefix: "redis-test-" });
    const args = ["--port", `${port}`, "--bind", "127.0.0.1", "--dir", dir, "--logfile", ""];
    // No persistence: a throwaway server writes nothing.
    const ready = await serveUntilStdinCloses(
      binary,
      [...args, "--save", "", "--appendonly", "no"],
      dir,
      () => answersPing(port),
    );
    if (ready) return { url: `redis://127.0.0.1:${port}`, port };
    if (attempt === 3) throw new Error(`redis-server did not start on 127.0.0.1 (3 attempts)`);
  }
}

/** Whether `redis-server` can be run as `binary`. */
function runs(binary: string): boolean {
  try {
    return new Deno.Command(binary, { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

async function answersPing(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buffer = new Uint8Array(16);
      const n = await conn.read(buffer);
      return new TextDecoder().decode(buffer.subarray(0, n ?? 0)).startsWith("+PONG");
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

// ---- Redis: running a server that dies with this process ----

/**
 * Runs `binary args` under a shell that kills it when this process's end closes the shell's
 * standard input, so no server outlives the tests, even when they are killed; then removes
 * the server's `dir`. Resolves true
 * once `ready()` holds (polled for up to 10 s), false if the server exited or never got ready.
 */
async function serveUntilStdinCloses(
  binary: string,
  args: string[],
  dir: string,
  ready: () => Promise<boolean>,
): Promise<boolean> {
  const quoted = [binary, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  const shell = new Deno.Command("sh", {
    // A background job reads /dev/null unless told otherwise, hence fd 3 for the watcher.
    args: [
      "-c",
      `exec 3<&0; ${quoted} </dev/null >/dev/null 2>&1 & pid=$!; ` +
      `{ cat >/dev/null; kill $pid 2>/dev/null; } <&3 & wait $pid; rm -rf '${dir}'`,
    ],
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  shell.unref();
  let exited = false;
  shell.status.then(() => (exited = true));
  const deadline = Date.now() + 10_000;
  while (!exited && Date.now() < deadline) {
    if (await ready()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await shell.stdin.close().catch(() => {});
  return false;
}
