/**
 * Mints a development token: `deno task token --company acme --user alice --role user`.
 * Signs with JWT_SECRET, or with the secret the server generated in DATA_DIR.
 */
import { parseArgs } from "node:util";
import { signToken } from "./auth.ts";
import { loadConfig } from "./config.ts";
import { loadSecret } from "./secret.ts";

const USAGE =
  "Usage: deno task token --company ID --user ID --role user|admin|agent|bot [--ttl SECONDS]";

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      company: { type: "string" },
      user: { type: "string" },
      role: { type: "string", default: "user" },
      ttl: { type: "string", default: "3600" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const ttl = Number(values.ttl);
  if (!values.company || !values.user || !Number.isInteger(ttl) || ttl <= 0) {
    console.error(USAGE);
    return 2;
  }
  if (!["user", "admin", "agent", "bot"].includes(values.role)) {
    console.error(`Unknown role '${values.role}'. ${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const secret = await loadSecret(config.jwtSecret, config.dataDir);
  const claims = { company_id: values.company, user_id: values.user, role: values.role };
  console.log(await signToken(secret.key, claims, ttl));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
}
