/**
 * A reserve of disk space beside the database file, given back when the database does not
 * open. SQLite must create its shared-memory file (about 32 KiB) to open a database that was
 * closed cleanly, so on a full disk the store would not open at all and the server could not
 * even serve reads. With the reserve released it opens; writes then wait for room (the
 * degraded mode), and the reserve is laid down again at the next open that has room.
 * @module
 */
import type { Logger } from "../../../src/log.ts";

/** The reserve's size: room for SQLite's shared-memory file and a few pages of WAL. */
export const RESERVE_BYTES = 1 << 20;

/** The reserve file of the database at `path`. */
export function reservePath(path: string): string {
  return `${path}.reserve`;
}

/** Whether `path` names a file (not `:memory:` or a remote database URL). */
function isFile(path: string): boolean {
  return path !== ":memory:" && !/^[a-z]+:\/\//i.test(path);
}

/**
 * Opens the database; if that fails and a reserve exists, releases it and tries once more.
 * Then lays the reserve down again if it is missing and there is room (best effort).
 */
export async function openWithReserve(
  path: string,
  openKv: (path: string) => Promise<Deno.Kv>,
  log?: Logger,
): Promise<Deno.Kv> {
  if (!isFile(path)) return await openKv(path);
  let kv: Deno.Kv;
  try {
    kv = await openKv(path);
  } catch (error) {
    try {
      await Deno.remove(reservePath(path));
    } catch {
      throw error; // no reserve to give back: the first error says why
    }
    log?.warn("store.reserve_released", { path, error: String(error) });
    kv = await openKv(path);
  }
  await layReserve(path).catch(() => {}); // no room: the store runs without one
  return kv;
}

/** Writes the reserve file if it is not there; a partial file is removed. */
async function layReserve(path: string): Promise<void> {
  const file = reservePath(path);
  try {
    if ((await Deno.stat(file)).size >= RESERVE_BYTES) return;
  } catch {
    // not there yet
  }
  try {
    await Deno.writeFile(file, new Uint8Array(RESERVE_BYTES));
  } catch (error) {
    await Deno.remove(file).catch(() => {});
    throw error;
  }
}
