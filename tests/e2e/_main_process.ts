/** `main.ts` as a child process, the way an operator runs it. */

const root = new URL("../..", import.meta.url).pathname;
/** How `deno task start` runs `main.ts`. */
export const MAIN_ARGS = [
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "main.ts",
];

/** The project root, where `main.ts` runs. */
export const ROOT = root;

const LISTENING = /listening on http:\/\/localhost:(\d+)/;

/** A running `main.ts`: its process, port, and everything it printed so far. */
export interface MainProcess {
  readonly child: Deno.ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Everything printed on stdout so far. */
  banner(): string;
  /** Resolves with all of stdout once the process closes it. */
  readonly rest: Promise<string>;
}

/**
 * Starts `main.ts` with `env` (and `args`, `deno task start`'s by default) and resolves once it
 * prints the port it listens on.
 */
export async function startMain(
  env: Record<string, string>,
  args: string[] = MAIN_ARGS,
): Promise<MainProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env: { LOG_LEVEL: "warn", ...env },
    stdout: "piped",
    stderr: Deno.env.get("E2E_DEBUG") ? "inherit" : "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!LISTENING.test(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`main.ts exited before listening: ${out}`);
    out += value;
  }
  const port = Number(LISTENING.exec(out)![1]);
  // Keep draining stdout so the child never blocks on a full pipe.
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return out;
      out += value;
    }
  })();
  return { child, port, url: `http://127.0.0.1:${port}`, banner: () => out, rest };
}

/** Sends SIGTERM and resolves with the exit status once stdout is drained. */
export async function stopMain(main: MainProcess): Promise<Deno.CommandStatus> {
  main.child.kill("SIGTERM");
  const status = await main.child.status;
  await main.rest;
  return status;
}
