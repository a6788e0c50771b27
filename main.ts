/** Composition root: config → engine (adapters/engine.ts) → serve → signals. */
import { createEngine } from "./adapters/engine.ts";
import { ConfigError, loadConfig } from "./src/config.ts";
import { createLogger } from "./src/log.ts";
import { loadSecret } from "./src/secret.ts";

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  await Deno.mkdir(config.dataDir, { recursive: true });
  const secret = await loadSecret(config.jwtSecret, config.dataDir);
  // The try-it demo mints tokens, so it exists only on the generated development secret.
  const engine = await createEngine({ ...config, log, secret: secret.key, demo: secret.generated });
  await engine.start();
  const server = await engine.listen({ port: config.port, hostname: config.hostname });

  log.info("server.listening", { port: server.port, kv: config.kvPath });
  console.log(
    `Live-chat engine listening on http://localhost:${server.port} (events in ${config.kvPath})`,
  );
  if (secret.generated) {
    console.log(
      `No JWT_SECRET set: using the generated development secret in ${secret.path}.\n` +
        `Mint tokens with: deno task token --company acme --user alice --role user\n` +
        `           (or: npx -y deno@2.9.6 task token --company acme --user alice --role admin)`,
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("server.stopping", { signal });
    const timer = setTimeout(() => Deno.exit(1), 10_000);
    await engine.close();
    clearTimeout(timer);
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : `Cannot start: ${error}`);
    Deno.exit(1);
  }
}
