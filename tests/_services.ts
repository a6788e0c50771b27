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
