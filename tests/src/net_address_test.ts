import assert from "node:assert/strict";
import {
  clientAddress,
  inCidr,
  isPublicAddress,
  parseCidr,
  parseIp,
} from "../../src/net_address.ts";

Deno.test("parseIp() reads IPv4, IPv6 (compressed, bracketed, zoned, dotted tail) and refuses the rest", () => {
  assert.deepEqual([...parseIp("192.168.1.20")!], [192, 168, 1, 20]);
  assert.deepEqual([...parseIp("[::1]")!], [...Array(15).fill(0), 1]);
  assert.deepEqual([...parseIp("fe80::1%eth0")!].slice(0, 2), [0xfe, 0x80]);
  assert.deepEqual([...parseIp("2001:db8::7:8")!].slice(12), [0, 7, 0, 8]);
  assert.deepEqual([...parseIp("::ffff:7f00:1")!], [127, 0, 0, 1], "IPv4-mapped becomes IPv4");
  assert.deepEqual([...parseIp("::ffff:10.0.0.1")!], [10, 0, 0, 1]);
  for (
    const bad of ["", "1.2.3", "1.2.3.256", "1.2.3.4.5", "a.b.c.d", "1::2::3", "12345::", "::g"]
  ) {
    assert.equal(parseIp(bad), null, bad);
  }
  assert.equal(parseIp("1:2:3:4:5:6:7:8:9"), null);
});

Deno.test("inCidr() matches prefixes of any length, never across families", () => {
  const range = parseCidr("100.64.0.0/10")!;
  assert.ok(inCidr(parseIp("100.127.255.255")!, range));
  assert.ok(!inCidr(parseIp("100.128.0.0")!, range));
  assert.ok(inCidr(parseIp("10.1.2.3")!, parseCidr("10.1.2.3")!), "a bare address is a /32");
  assert.ok(inCidr(parseIp("::ffff:10.1.2.3")!, parseCidr("::ffff:10.0.0.0/104")!));
  assert.ok(!inCidr(parseIp("::1")!, parseCidr("0.0.0.0/0")!));
  assert.ok(inCidr(parseIp("fd00:ec2::254")!, parseCidr("fc00::/7")!));
  for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/x", "10.0.0.0/8/8", "nope/8"]) {
    assert.equal(parseCidr(bad), null, bad);
  }
});

Deno.test("isPublicAddress() refuses loopback, private, CGNAT, link-local, unspecified, metadata and their IPv6 forms", () => {
  const internal = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "100.64.0.1",
    "100.100.100.200",
    "169.254.169.254",
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.1",
    "168.63.129.16",
    "::",
    "::1",
    "fc00::1",
    "fd00:ec2::254",
    "fe80::1",
    "::ffff:127.0.0.1",
    "::ffff:a9fe:a9fe", // 169.254.169.254, mapped
    "64:ff9b::a9fe:a9fe", // 169.254.169.254 through NAT64
    "2002:7f00:1::", // 127.0.0.1 through 6to4
    "not an address",
  ];
  for (const address of internal) assert.equal(isPublicAddress(address), false, address);
  const external = ["93.184.215.14", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111"];
  for (const address of external) assert.equal(isPublicAddress(address), true, address);
});

Deno.test("clientAddress() ignores X-Forwarded-For unless the peer is a trusted proxy", () => {
  assert.equal(clientAddress("10.0.0.2", "198.51.100.7", 0), "10.0.0.2");
  assert.equal(clientAddress("::ffff:10.0.0.2", undefined, 0), "10.0.0.2");
  assert.equal(clientAddress("10.0.0.2", undefined, 1), "10.0.0.2");
  const proxies = [parseCidr("10.0.0.0/8")!];
  assert.equal(clientAddress("192.0.2.9", "198.51.100.7", proxies), "192.0.2.9", "not a proxy");
});

Deno.test("clientAddress() with a hop count takes the entry the trusted proxies appended, not what the client sent", () => {
  assert.equal(clientAddress("10.0.0.2", "198.51.100.7", 1), "198.51.100.7");
  // The client sent its own X-Forwarded-For: the proxy appended the real address after it.
  assert.equal(clientAddress("10.0.0.2", "1.2.3.4, 198.51.100.7", 1), "198.51.100.7");
  assert.equal(clientAddress("10.0.0.2", "1.2.3.4, 198.51.100.7, 10.0.0.9", 2), "198.51.100.7");
  assert.equal(clientAddress("10.0.0.2", "198.51.100.7", 5), "198.51.100.7", "never past the end");
  assert.equal(clientAddress("10.0.0.2", "not-an-ip", 1), "10.0.0.2", "garbage names the proxy");
  assert.equal(clientAddress("10.0.0.2", "2001:DB8::1", 1), "2001:db8:0:0:0:0:0:1");
});

Deno.test("clientAddress() with proxy ranges walks back over every trusted proxy", () => {
  const proxies = ["10.0.0.0/8", "fd00::/8"].map((c) => parseCidr(c)!);
  assert.equal(
    clientAddress("10.0.0.2", "1.2.3.4, 198.51.100.7, 10.9.9.9", proxies),
    "198.51.100.7",
  );
  assert.equal(clientAddress("fd00::2", "198.51.100.7", proxies), "198.51.100.7");
  assert.equal(clientAddress("10.0.0.2", "10.0.0.3", proxies), "10.0.0.3", "all trusted: leftmost");
});
