/**
 * The operator's policy for addresses tenants set, and the checks of a host, a SIP
 * address (`recording_addr`) and a URL (webhooks) against it. Pure: a host name is
 * judged by its name here; whoever sends checks what it resolved to with
 * {@link checkResolved} (a public name can point at a private address).
 */
import { type AddressClass, classifyIp, type Ip, inPrefix, parseIp, sameIp } from "./address.ts";

/** A result: the value, or why not. */
export type Result<T, E = string> = { ok: true; value: T } | { ok: false; error: E };

/** One allowlist entry: a host name, or a network (a single address is a full-length prefix). */
export type AllowEntry =
  | { readonly kind: "name"; readonly name: string }
  | { readonly kind: "net"; readonly net: Ip; readonly prefix: number };

/** What tenants may send to. */
export interface OutboundPolicy {
  /** Lift every class check (labs, tests): OUTBOUND_ALLOW_PRIVATE=1. */
  readonly allowPrivate: boolean;
  /** Hosts and networks allowed whatever their class: OUTBOUND_ALLOWLIST. */
  readonly allowlist: readonly AllowEntry[];
  /** The service's own addresses and names (SIP_HOST ...), refused like private ones. */
  readonly own: readonly AllowEntry[];
}

/** The strict policy: nothing private, nothing allowlisted, no own addresses known. */
export const STRICT_POLICY: OutboundPolicy = Object.freeze({ allowPrivate: false, allowlist: [], own: [] });

function normalizeName(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/** An allowlist entry from `host`, `address` or `address/prefix`. */
export function parseAllowEntry(raw: string): Result<AllowEntry> {
  const s = normalizeName(raw);
  const slash = s.lastIndexOf("/");
  if (slash >= 0) {
    const net = parseIp(s.slice(0, slash));
    const bits = s.slice(slash + 1);
    const max = net?.family === 4 ? 32 : 128;
    if (!net || !/^\d{1,3}$/.test(bits) || Number(bits) > max)
      return { ok: false, error: `"${raw}" is not a CIDR such as 10.0.0.0/8` };
    return { ok: true, value: { kind: "net", net, prefix: Number(bits) } };
  }
  const ip = parseIp(s);
  if (ip) return { ok: true, value: { kind: "net", net: ip, prefix: ip.family === 4 ? 32 : 128 } };
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(s)) {
    return { ok: false, error: `"${raw}" is not a host name, an address or a CIDR` };
  }
  return { ok: true, value: { kind: "name", name: s } };
}

/** Options of {@link parseOutboundPolicy}, as the environment gives them. */
export interface OutboundPolicyInput {
  readonly allowPrivate?: boolean;
  /** Comma-separated hosts and CIDRs (OUTBOUND_ALLOWLIST). */
  readonly allowlist?: string;
  /** The service's own hosts (SIP_HOST, ...); empty and wildcard ones are skipped. */
  readonly ownHosts?: readonly (string | undefined)[];
}

/**
 * Builds a policy; a bad allowlist entry is an error naming it.
 * @example parseOutboundPolicy({ allowlist: "10.1.10.190, rec.example.com", ownHosts: ["203.0.113.5"] })
 */
export function parseOutboundPolicy(input: OutboundPolicyInput): Result<OutboundPolicy> {
  const allowlist: AllowEntry[] = [];
  for (const raw of (input.allowlist ?? "").split(",")) {
    if (raw.trim() === "") continue;
    const e = parseAllowEntry(raw);
    if (!e.ok) return e;
    allowlist.push(e.value);
  }
  const own: AllowEntry[] = [];
  for (const raw of input.ownHosts ?? []) {
    if (raw === undefined || raw.trim() === "") continue;
    const e = parseAllowEntry(raw);
    // A wildcard bind address is "unspecified", refused anyway.
    if (e.ok && !(e.value.kind === "net" && classifyIp(e.value.net) === "unspecified")) own.push(e.value);
  }
  return { ok: true, value: { allowPrivate: input.allowPrivate === true, allowlist, own } };
}

function matches(entries: readonly AllowEntry[], name: string, ip: Ip | null): boolean {
  return entries.some((e) =>
    e.kind === "name"
      ? e.name === name
      : ip !== null && (e.prefix === (e.net.family === 4 ? 32 : 128) ? sameIp(ip, e.net) : inPrefix(ip, e.net, e.prefix)),
  );
}

const CLASS_TEXT: Record<Exclude<AddressClass, "public">, string> = {
  loopback: "a loopback address",
  private: "a private address",
  cgnat: "a shared (CGNAT) address",
  ula: "a private (unique local) address",
  "link-local": "a link-local address",
  unspecified: "an unspecified address",
  multicast: "a multicast address",
  reserved: "a reserved address",
};

/** A checked host: its normalized name and, when it is an address literal, the address. */
export interface CheckedHost {
  readonly host: string;
  readonly ip: Ip | null;
}

/**
 * Whether tenants may send to `host` (a name or an address literal, brackets allowed).
 * @example checkHost("127.0.0.1", STRICT_POLICY) // { ok: false, error: "names a loopback address" }
 */
export function checkHost(host: string, policy: OutboundPolicy): Result<CheckedHost> {
  const name = normalizeName(host);
  const ip = parseIp(name);
  if (name === "") return { ok: false, error: "names no host" };
  if (matches(policy.allowlist, name, ip)) return { ok: true, value: { host: name, ip } };
  if (policy.allowPrivate) return { ok: true, value: { host: name, ip } };
  if (matches(policy.own, name, ip)) return { ok: false, error: "names this service's own address" };
  if (ip) {
    const cls = classifyIp(ip);
    if (cls !== "public") return { ok: false, error: `names ${CLASS_TEXT[cls]}` };
    return { ok: true, value: { host: name, ip } };
  }
  // Resolvers answer these from the hosts file or themselves, never from DNS.
  if (name === "localhost" || name.endsWith(".localhost")) return { ok: false, error: "names a loopback address" };
  if (!name.includes(".")) return { ok: false, error: "names a host without a domain (a local name)" };
  return { ok: true, value: { host: name, ip: null } };
}

/**
 * Send-time check: the addresses `host` resolved to must all be allowed (an allowlisted
 * name is allowed whatever it resolves to).
 * @example checkResolved("rec.example.com", ["10.0.0.7"], STRICT_POLICY) // { ok: false, error: "rec.example.com resolves to a private address" }
 */
export function checkResolved(host: string, addresses: readonly string[], policy: OutboundPolicy): Result<true> {
  const name = normalizeName(host);
  if (matches(policy.allowlist, name, null) || policy.allowPrivate) return { ok: true, value: true };
  if (addresses.length === 0) return { ok: false, error: `${name} resolves to no address` };
  for (const a of addresses) {
    const r = checkHost(a, policy);
    if (!r.ok) return { ok: false, error: `${name} resolves to ${r.error.replace(/^names /, "")}` };
  }
  return { ok: true, value: true };
}

/**
 * The host of a SIP address as `recording_addr` takes it (`[sip:][user@]host[:port]`,
 * IPv6 in brackets), or null when there is none.
 * @example sipAddressHost("sip:rec@[::1]:5099") // "::1"
 */
export function sipAddressHost(addr: string): string | null {
  let s = addr.trim();
  if (/^sips?:/i.test(s)) s = s.slice(s.indexOf(":") + 1);
  s = s.slice(s.lastIndexOf("@") + 1);
  // URI parameters or headers are not part of the host.
  s = s.split(/[;?]/)[0] as string;
  if (s.startsWith("[")) {
    const end = s.indexOf("]");
    return end > 1 ? s.slice(1, end) : null;
  }
  const colon = s.indexOf(":");
  const host = colon >= 0 ? s.slice(0, colon) : s;
  return host === "" ? null : host;
}

/**
 * Whether tenants may send a SIP request to `addr` (a `recording_addr`).
 * @example checkSipAddress("rec@192.168.1.5", STRICT_POLICY) // { ok: false, error: "names a private address" }
 */
export function checkSipAddress(addr: string, policy: OutboundPolicy): Result<CheckedHost> {
  const host = sipAddressHost(addr);
  if (host === null) return { ok: false, error: "names no host" };
  return checkHost(host, policy);
}

/**
 * Whether tenants may have the service call `url` (webhooks): http or https only, and
 * an allowed host. The URL parser's normal form is checked, so numeric tricks
 * (`http://2130706433/`, `http://0x7f.1/`) are the addresses they mean.
 * @example checkUrl("http://169.254.169.254/latest/meta-data", STRICT_POLICY) // { ok: false, error: "names a link-local address" }
 */
export function checkUrl(url: string, policy: OutboundPolicy): Result<CheckedHost> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, error: "is not a URL" };
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return { ok: false, error: "must be an http or https URL" };
  if (u.username || u.password) return { ok: false, error: "must not carry credentials" };
  return checkHost(u.hostname, policy);
}
