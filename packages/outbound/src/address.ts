/**
 * IP addresses read the way the resolver reads them, and classified. Loose IPv4 forms
 * (`127.1`, `0x7f.0.0.1`, `2130706433`, `0177.0.0.1`) are what `inet_aton` and so
 * `getaddrinfo` accept, so they are addresses here too, not host names that slip past.
 */

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address. */
export interface Ip {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/** What an address is, for deciding whether tenants may send to it. */
export const ADDRESS_CLASSES = [
  "public",
  "loopback",
  "private",
  "cgnat",
  "ula",
  "link-local",
  "unspecified",
  "multicast",
  "reserved",
] as const;
export type AddressClass = (typeof ADDRESS_CLASSES)[number];

function ipv4Part(s: string): number | null {
  if (/^0[xX][0-9a-fA-F]*$/.test(s)) return s.length === 2 ? 0 : Number.parseInt(s.slice(2), 16);
  if (/^0[0-7]+$/.test(s)) return Number.parseInt(s.slice(1), 8);
  if (/^(0|[1-9][0-9]*)$/.test(s)) return Number(s);
  return null;
}

/**
 * An IPv4 address in any form `inet_aton` accepts (1 to 4 parts, decimal, octal or hex;
 * the last part fills the remaining bytes), or null.
 * @example parseIpv4("127.1") // 127.0.0.1
 */
export function parseIpv4(s: string): Ip | null {
  if (s.length === 0 || s.length > 64) return null;
  const parts = s.split(".");
  if (parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    const n = ipv4Part(p);
    if (n === null || !Number.isFinite(n)) return null;
    nums.push(n);
  }
  const last = nums.pop() as number;
  if (nums.some((n) => n > 255)) return null;
  const restBytes = 4 - nums.length;
  if (last >= 2 ** (8 * restBytes)) return null;
  const bytes = new Uint8Array(4);
  nums.forEach((n, i) => {
    bytes[i] = n;
  });
  for (let i = 3, v = last; i >= nums.length; i--, v = Math.floor(v / 256)) bytes[i] = v % 256;
  return { family: 4, bytes };
}

/**
 * An IPv6 address (`::` compression, a dotted IPv4 tail, a `%zone` ignored), or null.
 * @example parseIpv6("::ffff:127.0.0.1")
 */
export function parseIpv6(input: string): Ip | null {
  let s = input;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  if (s.length < 2 || s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s)) return null;
  const words: number[] = [];
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parseHalf = (h: string): number[] | null => {
    if (h === "") return [];
    const out: number[] = [];
    const groups = h.split(":");
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as string;
      if (i === groups.length - 1 && g.includes(".")) {
        const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(g) ? parseIpv4(g) : null;
        if (!v4) return null;
        out.push(
          (v4.bytes[0] as number) * 256 + (v4.bytes[1] as number),
          (v4.bytes[2] as number) * 256 + (v4.bytes[3] as number),
        );
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
        out.push(Number.parseInt(g, 16));
      }
    }
    return out;
  };
  const head = parseHalf(halves[0] as string);
  const tail = halves.length === 2 ? parseHalf(halves[1] as string) : [];
  if (!head || !tail) return null;
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return null;
    words.push(...head, ...new Array<number>(fill).fill(0), ...tail);
  } else {
    if (head.length !== 8) return null;
    words.push(...head);
  }
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 255;
  });
  return { family: 6, bytes };
}

/** An address of either family (brackets around IPv6 allowed), or null for a host name. */
export function parseIp(s: string): Ip | null {
  const t = s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
  return t.includes(":") ? parseIpv6(t) : parseIpv4(t);
}

/** Whether `ip` lies in `net`/`prefix` (same family). */
export function inPrefix(ip: Ip, net: Ip, prefix: number): boolean {
  if (ip.family !== net.family) return false;
  for (let bit = 0; bit < prefix; bit += 8) {
    const left = Math.min(8, prefix - bit);
    const mask = (0xff << (8 - left)) & 0xff;
    const i = bit / 8;
    if (((ip.bytes[i] as number) & mask) !== ((net.bytes[i] as number) & mask)) return false;
  }
  return true;
}

function v4(a: number, b: number, c: number, d: number): Ip {
  return { family: 4, bytes: Uint8Array.of(a, b, c, d) };
}

const V4_CLASSES: readonly [Ip, number, AddressClass][] = [
  [v4(0, 0, 0, 0), 8, "unspecified"],
  [v4(127, 0, 0, 0), 8, "loopback"],
  [v4(10, 0, 0, 0), 8, "private"],
  [v4(172, 16, 0, 0), 12, "private"],
  [v4(192, 168, 0, 0), 16, "private"],
  [v4(100, 64, 0, 0), 10, "cgnat"],
  [v4(169, 254, 0, 0), 16, "link-local"],
  [v4(192, 0, 0, 0), 24, "reserved"],
  [v4(198, 18, 0, 0), 15, "reserved"],
  [v4(224, 0, 0, 0), 4, "multicast"],
  [v4(240, 0, 0, 0), 4, "reserved"],
];

function v6(prefixWords: number[]): Ip {
  const bytes = new Uint8Array(16);
  prefixWords.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 255;
  });
  return { family: 6, bytes };
}

/** IPv6 prefixes that carry an IPv4 address in their last 32 bits: classified by it. */
const V6_EMBEDDING_V4: readonly [Ip, number][] = [
  [v6([0, 0, 0, 0, 0, 0xffff]), 96], // v4-mapped
  [v6([0, 0, 0, 0, 0, 0]), 96], // v4-compatible (deprecated)
  [v6([0x64, 0xff9b]), 96], // NAT64
  [v6([0x64, 0xff9b, 1]), 48], // local-use NAT64
];

const V6_CLASSES: readonly [Ip, number, AddressClass][] = [
  [v6([0xfc00]), 7, "ula"],
  [v6([0xfe80]), 10, "link-local"],
  [v6([0xfec0]), 10, "private"], // site-local, deprecated but still routed by some
  [v6([0xff00]), 8, "multicast"],
  [v6([0x2001, 0x0db8]), 32, "reserved"], // documentation
  [v6([0x0100]), 64, "reserved"], // discard-only
];

/**
 * The class of an address.
 * @example classifyIp(parseIp("100.64.1.2")!) // "cgnat"
 */
export function classifyIp(ip: Ip): AddressClass {
  if (ip.family === 4) {
    for (const [net, prefix, cls] of V4_CLASSES) if (inPrefix(ip, net, prefix)) return cls;
    return "public";
  }
  const b = ip.bytes;
  if (b.every((x) => x === 0)) return "unspecified";
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) return "loopback";
  for (const [net, prefix] of V6_EMBEDDING_V4) {
    if (inPrefix(ip, net, prefix)) return classifyIp({ family: 4, bytes: b.slice(12) });
  }
  // 6to4 (2002::/16) carries an IPv4 address in bits 16-47.
  if (b[0] === 0x20 && b[1] === 0x02) return classifyIp({ family: 4, bytes: b.slice(2, 6) });
  for (const [net, prefix, cls] of V6_CLASSES) if (inPrefix(ip, net, prefix)) return cls;
  return "public";
}

/** Whether two addresses are the same (an IPv4-mapped IPv6 address equals its IPv4 one). */
export function sameIp(a: Ip, b: Ip): boolean {
  const flat = (ip: Ip) => (ip.family === 6 && inPrefix(ip, V6_EMBEDDING_V4[0]?.[0] as Ip, 96) ? ip.bytes.slice(12) : ip.bytes);
  const x = flat(a);
  const y = flat(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
