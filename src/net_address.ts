/**
 * IP addresses as bytes: parsing, CIDR ranges, and which addresses are not on the public
 * internet (loopback, private, link-local, metadata, …). Pure: no DNS, no I/O.
 */

/** An address range: `bytes` (4 for IPv4, 16 for IPv6) and a prefix length in bits. */
export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/**
 * The bytes of an IPv4 or IPv6 address (brackets and a zone id allowed), or null. An
 * IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is returned as its IPv4 address.
 */
export function parseIp(text: string): Uint8Array | null {
  let s = text.trim();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const bytes = s.includes(":") ? parseIpv6(s) : parseIpv4(s);
  if (bytes?.length === 16 && isMapped(bytes)) return bytes.slice(12);
  return bytes;
}

function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (const [i, part] of parts.entries()) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    bytes[i] = Number(part);
  }
  return bytes;
}

function parseIpv6(s: string): Uint8Array | null {
  let tail: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    tail = parseIpv4(s.slice(lastColon + 1));
    if (!tail) return null;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const bytes = new Uint8Array(16);
  for (const [i, group] of all.entries()) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    const n = parseInt(group, 16);
    bytes[2 * i] = n >> 8;
    bytes[2 * i + 1] = n & 0xff;
  }
  if (tail) bytes.set(tail, 12);
  return bytes;
}

function isMapped(bytes: Uint8Array): boolean {
  return bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/** `a.b.c.d/n`, `x::y/n`, or a single address (a full-length prefix); null if malformed. */
export function parseCidr(text: string): Cidr | null {
  const [address, bits, ...extra] = text.trim().split("/");
  if (extra.length > 0) return null;
  const bytes = parseIp(address);
  if (!bytes) return null;
  if (bits === undefined) return { bytes, prefix: bytes.length * 8 };
  if (!/^\d{1,3}$/.test(bits)) return null;
  // A mapped IPv6 range names the IPv4 range inside it.
  const prefix = Number(bits) - (bytes.length === 4 && address.includes(":") ? 96 : 0);
  return prefix >= 0 && prefix <= bytes.length * 8 ? { bytes, prefix } : null;
}

/** Whether `ip` (bytes from `parseIp`) lies in `range`. */
export function inCidr(ip: Uint8Array, range: Cidr): boolean {
  if (ip.length !== range.bytes.length) return false;
  for (let bit = 0; bit < range.prefix; bit += 8) {
    const i = bit / 8;
    const mask = range.prefix - bit >= 8 ? 0xff : (0xff << (8 - (range.prefix - bit))) & 0xff;
    if ((ip[i] & mask) !== (range.bytes[i] & mask)) return false;
  }
  return true;
}

const NOT_PUBLIC = [
  "0.0.0.0/8", // "this network", 0.0.0.0 included
  "10.0.0.0/8",
  "100.64.0.0/10", // carrier-grade NAT (and Alibaba's metadata, 100.100.100.200)
  "127.0.0.0/8",
  "169.254.0.0/16", // link-local (the cloud metadata address 169.254.169.254)
  "172.16.0.0/12",
  "192.0.0.0/24", // protocol assignments (Oracle's metadata, 192.0.0.192)
  "192.0.2.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4", // multicast
  "240.0.0.0/4", // reserved, broadcast included
  "168.63.129.16/32", // Azure's host services, reachable from every VM
  "::/96", // unspecified, loopback, and the old IPv4-compatible form
  "100::/64", // discard
  "2001:db8::/32", // documentation
  "fc00::/7", // unique local (AWS's IPv6 metadata, fd00:ec2::254)
  "fe80::/10", // link-local
  "fec0::/10", // site-local (deprecated)
  "ff00::/8", // multicast
].map((c) => parseCidr(c)!);

// IPv6 forms that carry an IPv4 address, judged by that address.
const NAT64 = parseCidr("64:ff9b::/96")!;
const SIX_TO_FOUR = parseCidr("2002::/16")!;

/**
 * Whether an address (text or bytes) is on the public internet: false for loopback,
 * private, carrier-grade NAT, link-local, unspecified, multicast, reserved and cloud
 * metadata addresses, and for IPv6 forms embedding one of those. False if unparsable.
 */
export function isPublicAddress(address: string | Uint8Array): boolean {
  const ip = typeof address === "string" ? parseIp(address) : address;
  if (!ip) return false;
  if (ip.length === 16 && inCidr(ip, NAT64)) return isPublicAddress(ip.slice(12));
  if (ip.length === 16 && inCidr(ip, SIX_TO_FOUR)) return isPublicAddress(ip.slice(2, 6));
  return !NOT_PUBLIC.some((range) => inCidr(ip, range));
}

/** Which peers may say who the client is: a hop count (0: nobody) or the proxies' ranges. */
export type TrustProxy = number | readonly Cidr[];

/** An address in its usual text form (IPv6 uncompressed, lowercase), or the text as given. */
export function formatIp(text: string): string {
  const ip = parseIp(text);
  if (!ip) return text.trim();
  if (ip.length === 4) return ip.join(".");
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip[i] << 8) | ip[i + 1]).toString(16));
  return groups.join(":");
}

/**
 * The client's address: the peer's own, unless the peer is a trusted proxy; then the
 * nearest `X-Forwarded-For` entry not added by a trusted proxy. With a hop count `n`, the
 * peer and the `n - 1` proxies before it are trusted (the `n`-th entry from the right is
 * the client); with ranges, every proxy whose address lies in one. An entry that is not an
 * address stops the walk, so a garbled header cannot name anyone but its sender.
 */
export function clientAddress(
  peer: string,
  forwardedFor: string | undefined,
  trust: TrustProxy,
): string {
  const chain = [...(forwardedFor ?? "").split(","), peer].map((s) => s.trim()).filter(Boolean);
  let i = chain.length - 1;
  const trusted = (address: string) => {
    if (typeof trust === "number") return chain.length - 1 - i < trust;
    const ip = parseIp(address);
    return ip !== null && trust.some((range) => inCidr(ip, range));
  };
  while (i > 0 && trusted(chain[i]) && parseIp(chain[i - 1])) i--;
  return formatIp(chain[i] ?? peer);
}
