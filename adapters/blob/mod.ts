/**
 * Blob stores (attachments' bytes): in memory (tests) and files under the data directory.
 * @module
 */
export { MemoryBlobStore } from "./memory_blob_store.ts";
export { FileBlobStore } from "./file_blob_store.ts";
export { isBlobId } from "./_ids.ts";
