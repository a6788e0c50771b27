/** Which blob ids a store takes: what the engine's id source makes, and safe as a file name. */

/** Letters, digits, `-` and `_`, 1–128 of them: a UUID, or a test's `file-1`. */
const BLOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Whether `id` can name a blob (anything else names none). */
export function isBlobId(id: string): boolean {
  return BLOB_ID.test(id);
}
