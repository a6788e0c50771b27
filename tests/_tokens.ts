/** Token helpers for tests: well-formed, forged, `alg: none`, expired and claim-less tokens. */
import { SignJWT } from "jose";

/** The secret the test servers verify with. */
export const SECRET = new TextEncoder().encode("test-secret-with-enough-length-0123456789");

/** Signs `claims` as HS256 with `secret`; `exp` one hour ahead unless given. */
export function token(
  claims: Record<string, unknown>,
  secret: Uint8Array = SECRET,
): Promise<string> {
  return new SignJWT({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(secret);
}

/** A token for one identity. */
export function tokenFor(company: string, user: string, role: string): Promise<string> {
  return token({ company_id: company, user_id: user, role });
}

/** An unsigned token (`alg: none`) with the given claims. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) =>
    btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64({ alg: "none", typ: "JWT" })}.${
    b64({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })
  }.`;
}
