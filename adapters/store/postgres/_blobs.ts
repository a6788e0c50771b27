/**
 * Attachments in PostgreSQL: with several nodes, a file uploaded through one node is served by
 * any. A file is one row (its info and bytes), written in one statement, so it is found whole or
 * not at all; `assign` is one conditional update, so two calls never both assign a file.
 */
import type { BlobInfo, BlobStore } from "../../../src/ports.ts";
import type { Sql } from "./_sql.ts";

/** The blob store on the event store's pool. */
export class PostgresBlobStore implements BlobStore {
  constructor(readonly sql: Sql) {}

  async put(companyId: string, info: BlobInfo, bytes: Uint8Array): Promise<void> {
    await this.sql`
      INSERT INTO blobs (company, id, info, data)
      VALUES (${companyId}, ${info.id}, ${this.sql.json(toJson(info))}, ${bytes})`;
  }

  async info(companyId: string, id: string): Promise<BlobInfo | null> {
    const rows = await this.sql<{ info: BlobInfo }[]>`
      SELECT info FROM blobs WHERE company = ${companyId} AND id = ${id}`;
    return rows[0]?.info ?? null;
  }

  async open(companyId: string, id: string): Promise<ReadableStream<Uint8Array> | null> {
    const rows = await this.sql<{ data: Uint8Array }[]>`
      SELECT data FROM blobs WHERE company = ${companyId} AND id = ${id}`;
    const data = rows[0]?.data;
    return data ? ReadableStream.from([new Uint8Array(data)]) : null;
  }

  async assign(companyId: string, id: string, userId: string): Promise<BlobInfo | null> {
    // Taken only while in nobody's conversation, or already in this user's.
    const rows = await this.sql<{ info: BlobInfo }[]>`
      UPDATE blobs SET info = jsonb_set(info, '{userId}', to_jsonb(${userId}::text))
      WHERE company = ${companyId} AND id = ${id}
        AND (info->>'userId' IS NULL OR info->>'userId' = ${userId})
      RETURNING info`;
    return rows[0]?.info ?? null;
  }
}

/** The info as JSON the driver takes. */
function toJson(info: BlobInfo): Parameters<Sql["json"]>[0] {
  return JSON.parse(JSON.stringify(info));
}
