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
  /**
   * False when the generated secret could not be written (a full disk): it is used from
   * memory, and `saveSecret` is to be tried again.
   */
  readonly saved?: boolean;
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
  const secret = { key: new TextEncoder().encode(text), generated: true, path };
  try {
    return await saveSecret(secret) ? secret : await loadSecret(undefined, dataDir);
  } catch {
    return { ...secret, saved: false };
  }
}

/**
 * Writes a generated secret to its file unless one exists: true if written, false if another
 * process wrote one first; throws if it cannot be written (a full disk), leaving no file.
 */
export async function saveSecret(secret: Secret): Promise<boolean> {
  const path = secret.path!;
  const text = new TextDecoder().decode(secret.key);
  // Written aside, then linked into place: a failed write leaves no short file behind, and
  // two processes starting at once cannot both place a secret.
  const aside = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(aside, `${text}\n`, { mode: 0o600, createNew: true });
    await Deno.chmod(aside, 0o600);
    await Deno.link(aside, path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  } finally {
    await Deno.remove(aside).catch(() => {});
  }
}
