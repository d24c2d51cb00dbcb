/**
 * Where tenants may have webhooks sent: the adapter between the webhook code and the
 * outbound-address policy. MERGE NOTE: `@conf/outbound` (branch api-harden) is the one
 * classifier of tenant-set addresses; when both branches are in, this file's stand-in
 * below is replaced by
 *   `export { checkResolved, checkUrl, type OutboundPolicy, parseOutboundPolicy } from "@conf/outbound";`
 * (same signatures), and nothing else changes. The stand-in covers only what the webhook
 * tests need (loopback, RFC 1918, CGNAT, link-local, ULA, unspecified, multicast, the
 * allowlist), with node's BlockList, so that no second classifier is written here.
 */
import { BlockList, isIP } from "node:net";

export type Result<T, E = string> = { ok: true; value: T } | { ok: false; error: E };

export interface OutboundPolicy {
  readonly allowPrivate: boolean;
  readonly allowlist: readonly string[];
}

export interface CheckedHost {
  readonly host: string;
  readonly ip: unknown;
}

const blocked = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  blocked.addSubnet(net, bits, "ipv4");
}
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  blocked.addSubnet(net, bits, "ipv6");
}

/** As `parseOutboundPolicy` of `@conf/outbound` (allowlist: host names and addresses). */
export function parseOutboundPolicy(input: { allowPrivate?: boolean; allowlist?: string; ownHosts?: readonly (string | undefined)[] }): Result<OutboundPolicy> {
  const allowlist = (input.allowlist ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== "");
  return { ok: true, value: { allowPrivate: input.allowPrivate === true, allowlist } };
}

function checkHost(host: string, policy: OutboundPolicy): Result<CheckedHost> {
  const name = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (name === "") return { ok: false, error: "names no host" };
  if (policy.allowPrivate || policy.allowlist.includes(name)) return { ok: true, value: { host: name, ip: null } };
  const family = isIP(name);
  if (family !== 0) {
    // v4-mapped IPv6 is checked as the IPv4 address it carries (BlockList does this).
    if (blocked.check(name, family === 4 ? "ipv4" : "ipv6")) return { ok: false, error: "names a loopback, private or link-local address" };
    return { ok: true, value: { host: name, ip: name } };
  }
  if (name === "localhost" || name.endsWith(".localhost")) return { ok: false, error: "names a loopback address" };
  if (!name.includes(".")) return { ok: false, error: "names a host without a domain (a local name)" };
  return { ok: true, value: { host: name, ip: null } };
}

/** As `checkUrl` of `@conf/outbound`: http(s), no credentials, an allowed host (the URL parser's normal form). */
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

/** As `checkResolved` of `@conf/outbound`: every address a host resolved to must be allowed. */
export function checkResolved(host: string, addresses: readonly string[], policy: OutboundPolicy): Result<true> {
  if (policy.allowPrivate || policy.allowlist.includes(host.toLowerCase())) return { ok: true, value: true };
  if (addresses.length === 0) return { ok: false, error: `${host} resolves to no address` };
  for (const a of addresses) {
    const r = checkHost(a, policy);
    if (!r.ok) return { ok: false, error: `${host} resolves to ${r.error.replace(/^names /, "")}` };
  }
  return { ok: true, value: true };
}
