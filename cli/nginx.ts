/**
 * nginx in front of local nodes, from the repository's `deploy/nginx.conf`: used by
 * `deno task cluster` and by the cluster's end-to-end test. The template's `listen` port and
 * the `server` lines of its `chat_nodes` upstream are replaced; everything else is as shipped,
 * so the test runs the configuration operators copy.
 */

const TEMPLATE = new URL("../deploy/nginx.conf", import.meta.url);

/** `deploy/nginx.conf` listening on `listen`, balancing over the nodes on `nodePorts`. */
export async function nginxConfig(listen: number, nodePorts: number[]): Promise<string> {
  const template = await Deno.readTextFile(TEMPLATE);
  const servers = nodePorts
    .map((port) => `    server 127.0.0.1:${port} max_fails=1 fail_timeout=10s;`)
    .join("\n");
  const config = template
    .replace(/^(\s*listen\s+)\d+;/m, `$1${listen};`)
    .replace(/(upstream chat_nodes \{\n(?:\s*#.*\n)*)(?:\s*server .*\n)+/, `$1${servers}\n`);
  if (!config.includes(servers)) throw new Error("deploy/nginx.conf has no chat_nodes upstream");
  return config;
}

/** The nginx binary, or null when it is not installed. */
export function nginxBinary(): string | null {
  for (const binary of ["nginx", "/usr/sbin/nginx"]) {
    try {
      const ok = new Deno.Command(binary, { args: ["-v"], stdout: "null", stderr: "null" })
        .outputSync().success;
      if (ok) return binary;
    } catch {
      // not this one
    }
  }
  return null;
}

/** A running nginx: its prefix directory (config, logs) and how to stop it. */
export interface Nginx {
  readonly dir: string;
  readonly child: Deno.ChildProcess;
  /**
   * Stops nginx (gracefully: open connections end first), removes its directory and resolves
   * with its access log: one line per request or WebSocket, with the node that served it.
   */
  stop(): Promise<string>;
}

/**
 * Starts `binary` in the foreground with its config, logs and pid file in a fresh temp dir,
 * and resolves once it accepts connections on `listen` (127.0.0.1 and the other addresses).
 */
export async function startNginx(
  binary: string,
  listen: number,
  nodePorts: number[],
): Promise<Nginx> {
  const dir = await Deno.makeTempDir({ prefix: "chat-nginx-" });
  await Deno.mkdir(`${dir}/logs`);
  await Deno.mkdir(`${dir}/tmp`);
  const conf = `${dir}/nginx.conf`;
  await Deno.writeTextFile(conf, await nginxConfig(listen, nodePorts));
  const child = new Deno.Command(binary, {
    args: ["-p", dir, "-c", conf, "-g", `daemon off; pid ${dir}/nginx.pid;`],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  let exited = false;
  child.status.then(() => (exited = true));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      const log = await Deno.readTextFile(`${dir}/logs/error.log`).catch(() => "");
      throw new Error(`nginx exited at start: ${log}`);
    }
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port: listen })).close();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`nginx did not listen on ${listen} within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  return {
    dir,
    child,
    async stop() {
      if (!exited) child.kill("SIGQUIT");
      await child.status;
      const accessLog = await Deno.readTextFile(`${dir}/logs/access.log`).catch(() => "");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      return accessLog;
    },
  };
}
