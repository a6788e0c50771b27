/** How presence names an identity in shared keys: unambiguous whatever the ids contain. */
import type { SocketHolder } from "../../src/ports.ts";

/** The identity of `holder` as a string: the JSON of `[companyId, role, userId]`. */
export function identityOf(holder: SocketHolder): string {
  return JSON.stringify([holder.companyId, holder.role, holder.userId]);
}

/** The holder an `identityOf` string names. */
export function holderOf(identity: string): SocketHolder {
  const [companyId, role, userId] = JSON.parse(identity) as [string, "user" | "agent", string];
  return { companyId, role, userId };
}
