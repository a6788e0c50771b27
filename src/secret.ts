/**
 * The signing secret: `JWT_SECRET` when set; otherwise a random one generated on first
 * start and kept in the data directory, readable by its owner only. Never a fixed value.
 */

/** Where the generated secret lives inside the data directory. */
export const SECRET_FILE = "jwt_secret";

/** The secret to sign and verify with, and whether it was generated here. */
export interface Secret {
  readonly key: Uint8Array;
  /** True when the secret lives in the data directory (a development setup). */
  readonly generated: boolean;
  readonly path?: string;
}

/** Resolves the secret: the configured one, or the data directory's (created if missing). */
export async function loadSecret(configured: string | undefined, dataDir: string): Promise<Secret> {
  if (configured !== undefined) {
    return { key: new TextEncoder().encode(configured), generated: false };
  }
  const path = `${dataDir.replace(/\/+$/, "")}/${SECRET_FILE}`;
  try {
    const text = (await Deno.readTextFile(path)).trim();
    if (text.length < 32) {
      throw new Error(`The secret in ${path} is too short: delete the file or set JWT_SECRET`);
    }
    return { key: new TextEncoder().encode(text), generated: true, path };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(dataDir, { recursive: true });
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const text = btoa(String.fromCharCode(...bytes)).replace(
    /[+/=]/g,
    (c) => c === "+" ? "-" : c === "/" ? "_" : "",
  );
  // createNew: two processes starting at once cannot both write a secret.
  try {
    await Deno.writeTextFile(path, `${text}\n`, { mode: 0o600, createNew: true });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return loadSecret(undefined, dataDir);
    throw error;
  }
  await Deno.chmod(path, 0o600);
  return { key: new TextEncoder().encode(text), generated: true, path };
}
