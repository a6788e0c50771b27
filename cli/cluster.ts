/**
 * `deno task cluster`: N nodes of the engine on this machine behind nginx, for trying a cluster
 * out or running a small one. PostgreSQL and Redis are the operator's: `DATABASE_URL`,
 * `REDIS_URL` and `JWT_SECRET` come from the environment (all required). Node i listens on
 * 8080 + i and is named `node<i>`; nginx listens on 8080 with `deploy/nginx.conf`. Each
 * node's lines are printed with its name in front; Ctrl-C stops everything.
 *
 *   deno task cluster [--nodes 3] [--port 8080]
 */
import { parseArgs } from "node:util";
import { nginxBinary, startNginx } from "./nginx.ts";

const USAGE = "Usage: deno task cluster [--nodes N] [--port PORT]   " +
  "(DATABASE_URL, REDIS_URL and JWT_SECRET from the environment)";

/** Copies `stream` to `out` line by line, each line after `prefix`. */
async function prefixed(
  stream: ReadableStream<Uint8Array>,
  prefix: string,
  out: typeof console.log,
) {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    for (const line of lines) out(`${prefix} ${line}`);
  }
  if (rest) out(`${prefix} ${rest}`);
}

/** Resolves once something accepts connections on `port` of 127.0.0.1, or the child ended. */
async function listening(port: number, child: Deno.ChildProcess): Promise<boolean> {
  let ended = false;
  child.status.then(() => (ended = true));
  while (!ended) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return false;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { nodes: { type: "string", default: "3" }, port: { type: "string", default: "8080" } },
  });
  const count = Number(values.nodes);
  const port = Number(values.port);
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(port)) {
    console.error(USAGE);
    return 2;
  }
  const missing = ["DATABASE_URL", "REDIS_URL", "JWT_SECRET"].filter((name) => !Deno.env.get(name));
  if (missing.length > 0) {
    console.error(`${missing.join(", ")} must be set.\n${USAGE}`);
    return 2;
  }
  const nginx = nginxBinary();
  if (!nginx) {
    console.error("nginx is not installed (Debian: apt-get install nginx-light)");
    return 1;
  }
  const nodes: Deno.ChildProcess[] = [];
  const ports = Array.from({ length: count }, (_, i) => port + 1 + i);
  for (const [i, nodePort] of ports.entries()) {
    const name = `node${i + 1}`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        new URL("../main.ts", import.meta.url).pathname,
      ],
      env: {
        PORT: `${nodePort}`,
        NODE_ID: name,
        // nginx puts the client's address in X-Forwarded-For.
        TRUST_PROXY: Deno.env.get("TRUST_PROXY") ?? "1",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    nodes.push(child);
    const tag = `[${name}]`.padEnd(8);
    prefixed(child.stdout, tag, console.log);
    prefixed(child.stderr, tag, console.error);
  }
  const stopNodes = async () => {
    for (const child of nodes) {
      try {
        child.kill("SIGINT");
      } catch {
        // already ended
      }
    }
    await Promise.all(nodes.map((child) => child.status));
  };
  for (const [i, child] of nodes.entries()) {
    if (!(await listening(ports[i], child))) {
      console.error(`node${i + 1} ended before listening on ${ports[i]}`);
      await stopNodes();
      return 1;
    }
  }
  const proxy = await startNginx(nginx, port, ports);
  console.log(`[nginx]  http://localhost:${port} → nodes on ${ports.join(", ")} (Ctrl-C stops)`);

  const stopped = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", () => stopped.resolve());
  Deno.addSignalListener("SIGTERM", () => stopped.resolve());
  // A node that ends on its own is reported; the others keep serving behind nginx.
  for (const [i, child] of nodes.entries()) {
    child.status.then((status) => console.error(`node${i + 1} ended (${status.code})`));
  }
  await Promise.race([stopped.promise, proxy.child.status]);
  console.log("[nginx]  stopping");
  await proxy.stop();
  await stopNodes();
  return 0;
}

if (import.meta.main) Deno.exit(await main());
