/** Attachments in memory: for tests, and the engine built without a data directory. */
import type { BlobInfo, BlobStore } from "../../src/ports.ts";

/** Keeps every file in a map, by company and id. */
export class MemoryBlobStore implements BlobStore {
  readonly #files = new Map<string, { info: BlobInfo; bytes: Uint8Array }>();

  /** How many files are stored, across companies (tests check that a refusal stored none). */
  get size(): number {
    return this.#files.size;
  }

  put(companyId: string, info: BlobInfo, bytes: Uint8Array): Promise<void> {
    this.#files.set(key(companyId, info.id), { info, bytes: bytes.slice() });
    return Promise.resolve();
  }

  info(companyId: string, id: string): Promise<BlobInfo | null> {
    return Promise.resolve(this.#files.get(key(companyId, id))?.info ?? null);
  }

  open(companyId: string, id: string): Promise<ReadableStream<Uint8Array> | null> {
    const file = this.#files.get(key(companyId, id));
    return Promise.resolve(file ? ReadableStream.from([file.bytes.slice()]) : null);
  }

  assign(companyId: string, id: string, userId: string): Promise<BlobInfo | null> {
    const file = this.#files.get(key(companyId, id));
    if (!file || (file.info.userId !== null && file.info.userId !== userId)) {
      return Promise.resolve(null);
    }
    file.info = { ...file.info, userId };
    return Promise.resolve(file.info);
  }
}

function key(companyId: string, id: string): string {
  return JSON.stringify([companyId, id]);
}
