/**
 * Throwaway servers for tests that need a real one. Each starts its own instance on a random
 * free 127.0.0.1 port, once per test process, and it stops when the process ends (even by
 * SIGKILL). A missing binary skips those tests, saying why, except in CI (`CI` set), where
 * it fails them. Never the machine's own servers (6379, 5432).
 *
 * Call the starters at a test module's top level (`const redis = await startRedis()`), not
 * inside a test: the server outlives every test, which Deno's sanitizers would report.
 */

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

// ---- shared by the starters (each keeps its own state above) ----

/** A port free on 127.0.0.1 a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

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
