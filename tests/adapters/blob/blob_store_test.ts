/**
 * One contract for every blob store: files per company, found whole or not at all, assigned
 * once.
 */
import assert from "node:assert/strict";
import { FileBlobStore, MemoryBlobStore } from "../../../adapters/blob/mod.ts";
import { PostgresEventStore } from "../../../adapters/store/mod.ts";
import type { BlobInfo, BlobStore } from "../../../src/ports.ts";
import { startPostgres } from "../../_services.ts";

// The PostgreSQL blob store (every node serves every file) runs on a throwaway server.
const pg = await startPostgres();

const bytes = new TextEncoder().encode("%PDF-1.4 hello");

function info(id: string, over: Partial<BlobInfo> = {}): BlobInfo {
  return {
    id,
    name: "a.pdf",
    size: bytes.length,
    contentType: "application/pdf",
    uploader: { role: "agent", userId: "bob" },
    userId: null,
    at: 1,
    ...over,
  };
}

async function read(stream: ReadableStream<Uint8Array> | null): Promise<Uint8Array | null> {
  return stream ? new Uint8Array(await new Response(stream).arrayBuffer()) : null;
}

const stores: [string, () => Promise<{ store: BlobStore; done: () => Promise<void> }>][] = [
  [
    "MemoryBlobStore",
    () => Promise.resolve({ store: new MemoryBlobStore(), done: async () => {} }),
  ],
  ["FileBlobStore", async () => {
    const dir = await Deno.makeTempDir();
    return {
      store: new FileBlobStore(`${dir}/attachments`),
      done: () => Deno.remove(dir, { recursive: true }),
    };
  }],
  ...(pg
    ? [["PostgresBlobStore", async () => {
      const events = await PostgresEventStore.open(await pg.freshDatabase());
      return { store: events.blobs, done: () => events.close() };
    }] as [string, () => Promise<{ store: BlobStore; done: () => Promise<void> }>]]
    : []),
];

for (const [name, make] of stores) {
  Deno.test(`${name}: a file is found by its company only, with its info and bytes`, async () => {
    const { store, done } = await make();
    try {
      await store.put("acme", info("f1"), bytes);
      assert.deepEqual(await store.info("acme", "f1"), info("f1"));
      assert.deepEqual(await read(await store.open("acme", "f1")), bytes);
      assert.equal(await store.info("globex", "f1"), null);
      assert.equal(await store.open("globex", "f1"), null);
      assert.equal(await store.info("acme", "f2"), null);
      // An id no file can have finds nothing (and never a path outside the store).
      assert.equal(await store.info("acme", "../f1"), null);
      assert.equal(await store.open("acme", "../../etc/passwd"), null);
    } finally {
      await done();
    }
  });

  Deno.test(`${name}: assign() puts an agent's file into one conversation, once`, async () => {
    const { store, done } = await make();
    try {
      await store.put("acme", info("f1"), bytes);
      const [a, b] = await Promise.all([
        store.assign("acme", "f1", "alice"),
        store.assign("acme", "f1", "ben"),
      ]);
      // Exactly one of two racing assignments wins.
      assert.equal([a, b].filter((x) => x !== null).length, 1);
      const owner = (a ?? b)!.userId;
      assert.equal((await store.info("acme", "f1"))?.userId, owner);
      assert.equal((await store.assign("acme", "f1", owner!))?.userId, owner, "again: the same");
      assert.equal(await store.assign("acme", "f1", owner === "alice" ? "ben" : "alice"), null);
      assert.equal(await store.assign("acme", "nope", "alice"), null);
    } finally {
      await done();
    }
  });
}

Deno.test("FileBlobStore: a company's files live in one folder named by a hash of its id, with no temporary left", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new FileBlobStore(dir);
    await store.put("../../weird company/", info("f1"), bytes);
    const folders = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.equal(folders.length, 1);
    assert.match(folders[0], /^[0-9a-f]{64}$/);
    const files = [...Deno.readDirSync(`${dir}/${folders[0]}`)].map((e) => e.name).sort();
    assert.deepEqual(files, ["f1.bin", "f1.json"]);
    // Bytes without their info (a crash between the two renames) are not a file.
    await Deno.remove(`${dir}/${folders[0]}/f1.json`);
    assert.equal(await store.open("../../weird company/", "f1"), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
