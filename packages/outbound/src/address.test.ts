import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { type AddressClass, classifyIp, parseIp, parseIpv4 } from "./address.ts";

const cases: { name: string; input: string; expected: AddressClass | null }[] = [
  { name: "public v4", input: "8.8.8.8", expected: "public" },
  { name: "loopback", input: "127.0.0.1", expected: "loopback" },
  { name: "loopback, other host", input: "127.255.10.3", expected: "loopback" },
  { name: "short form 127.1", input: "127.1", expected: "loopback" },
  { name: "decimal integer", input: "2130706433", expected: "loopback" },
  { name: "hex parts", input: "0x7f.0.0.1", expected: "loopback" },
  { name: "octal part", input: "0177.0.0.1", expected: "loopback" },
  { name: "hex integer", input: "0x7f000001", expected: "loopback" },
  { name: "10/8", input: "10.1.10.190", expected: "private" },
  { name: "172.16/12 low", input: "172.16.0.1", expected: "private" },
  { name: "172.16/12 high", input: "172.31.255.255", expected: "private" },
  { name: "just outside 172.16/12", input: "172.32.0.1", expected: "public" },
  { name: "192.168/16", input: "192.168.1.1", expected: "private" },
  { name: "CGNAT", input: "100.64.0.1", expected: "cgnat" },
  { name: "CGNAT top", input: "100.127.255.254", expected: "cgnat" },
  { name: "outside CGNAT", input: "100.128.0.1", expected: "public" },
  { name: "link-local (cloud metadata)", input: "169.254.169.254", expected: "link-local" },
  { name: "unspecified", input: "0.0.0.0", expected: "unspecified" },
  { name: "this-network 0/8", input: "0.1.2.3", expected: "unspecified" },
  { name: "multicast", input: "224.0.0.1", expected: "multicast" },
  { name: "broadcast", input: "255.255.255.255", expected: "reserved" },
  { name: "v6 public", input: "2606:4700::1111", expected: "public" },
  { name: "v6 loopback", input: "::1", expected: "loopback" },
  { name: "v6 loopback, long form", input: "0:0:0:0:0:0:0:1", expected: "loopback" },
  { name: "v6 bracketed", input: "[::1]", expected: "loopback" },
  { name: "v6 unspecified", input: "::", expected: "unspecified" },
  { name: "ULA fc00", input: "fc00::1", expected: "ula" },
  { name: "ULA fd", input: "fd12:3456::1", expected: "ula" },
  { name: "v6 link-local with zone", input: "fe80::1%eth0", expected: "link-local" },
  { name: "v6 multicast", input: "ff02::1", expected: "multicast" },
  { name: "v4-mapped loopback", input: "::ffff:127.0.0.1", expected: "loopback" },
  { name: "v4-mapped hex", input: "::ffff:7f00:1", expected: "loopback" },
  { name: "v4-mapped public", input: "::ffff:8.8.8.8", expected: "public" },
  { name: "NAT64 of a private address", input: "64:ff9b::10.0.0.1", expected: "private" },
  { name: "6to4 of loopback", input: "2002:7f00:1::", expected: "loopback" },
  { name: "documentation", input: "2001:db8::1", expected: "reserved" },
  { name: "a name", input: "rec.example.com", expected: null },
  { name: "too many parts", input: "1.2.3.4.5", expected: null },
  { name: "part over 255", input: "256.1.1.1", expected: null },
  { name: "bad v6", input: "1:::2", expected: null },
];

describe("parseIp + classifyIp", () => {
  for (const c of cases) {
    test(c.name, () => {
      const ip = parseIp(c.input);
      expect(ip === null ? null : classifyIp(ip)).toBe(c.expected);
    });
  }
});

describe("properties", () => {
  test("every dotted quad parses to its own bytes and never throws on junk", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), (b) => {
        expect([...(parseIpv4(b.join("."))?.bytes ?? [])]).toEqual(b);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), (s) => {
        const ip = parseIp(s);
        if (ip) expect(typeof classifyIp(ip)).toBe("string");
      }),
      { numRuns: 2000 },
    );
  });
  test("an address agrees with what the URL parser makes of it (the form a resolver reads)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constantFrom("dec", "hex", "short"), (n, form) => {
        const text = form === "dec" ? String(n) : form === "hex" ? `0x${n.toString(16)}` : `${n >>> 24}.${n & 0xffffff}`;
        const viaUrl = new URL(`http://${text}/`).hostname;
        expect([...(parseIp(text)?.bytes ?? [])]).toEqual([...(parseIp(viaUrl)?.bytes ?? [])]);
      }),
    );
  });
});
