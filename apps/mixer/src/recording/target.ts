/**
 * Reading `recording_addr` and `recording_metadata`, which come from customers, into
 * something safe to put on the wire: a plain `sip:user@host[:port]` Request-URI (no
 * URI parameters or headers that could redirect or reshape the call) and header
 * values without line breaks.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { checkHost, checkResolved, type OutboundPolicy } from "@conf/outbound";
import { isSipUri, parseUri } from "@conf/sip";

/** A `recording_addr` read as a SIP target. */
export interface RecordingTarget {
  /** The Request-URI to call, e.g. `sip:15162065121@10.1.10.190`. */
  uri: string;
  /** Host as given (an IPv4 address, a host name, or an IPv6 address without brackets). */
  host: string;
  /** Port as given, or null for the default (5060). */
  port: number | null;
}

/** Why a `recording_addr` was refused. */
export const TARGET_ERRORS = ["empty recording_addr", "recording_addr is not a sip address"] as const;
/** A refused `recording_addr`. */
export type TargetError = (typeof TARGET_ERRORS)[number];

// user: RFC 3261 unreserved and user-unreserved characters, minus ';', '?' and '/',
// which would start URI parameters or headers.
const USER = String.raw`[A-Za-z0-9\-_.!~*'()&=+$,%]{1,64}`;
const HOSTNAME = String.raw`(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*`;
const IPV6 = String.raw`\[[0-9A-Fa-f:.]{2,45}\]`;
const TARGET_RE = new RegExp(`^(?:(${USER})@)?(${HOSTNAME}|${IPV6})(?::(\\d{1,5}))?$`);

/**
 * Reads a `recording_addr` (`user@host`, `user@host:port`, `host[:port]`, each
 * optionally prefixed with `sip:`) into the Request-URI to call. Anything else
 * (another scheme, URI parameters or headers, spaces, a bad port) is refused.
 * @example recordingTarget("15162065121@10.1.10.190") // { ok: true, value: { uri: "sip:15162065121@10.1.10.190", ... } }
 * @example recordingTarget("rec@10.0.0.1;transport=tcp") // { ok: false, error: "recording_addr is not a sip address" }
 */
export function recordingTarget(addr: string): { ok: true; value: RecordingTarget } | { ok: false; error: TargetError } {
  let s = addr.trim();
  if (s.length === 0) return { ok: false, error: "empty recording_addr" };
  if (/^sip:/i.test(s)) s = s.slice(4);
  const m = TARGET_RE.exec(s);
  if (!m) return { ok: false, error: "recording_addr is not a sip address" };
  const [, user, rawHost, rawPort] = m;
  const port = rawPort === undefined ? null : Number(rawPort);
  if (port !== null && (port < 1 || port > 65535)) return { ok: false, error: "recording_addr is not a sip address" };
  const uri = `sip:${s}`;
  // The UA's own parser must agree, or it would refuse the INVITE later.
  const parsed = parseUri(uri);
  if (!parsed.ok || !isSipUri(parsed.value) || (user !== undefined && parsed.value.user !== user)) {
    return { ok: false, error: "recording_addr is not a sip address" };
  }
  const host = (rawHost as string).startsWith("[") ? (rawHost as string).slice(1, -1) : (rawHost as string);
  return { ok: true, value: { uri, host, port } };
}

/**
 * A customer string as a SIP header value: control characters (CR and LF above all)
 * become spaces, and it is cut to `maxChars` code points.
 * @example headerText("line1\r\nX-Evil: 1") // "line1  X-Evil: 1"
 */
export function headerText(s: string, maxChars = 256): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  const flat = s.replace(/[\u0000-\u001f\u007f]/g, " ").trim();
  const points = Array.from(flat);
  return points.length > maxChars ? points.slice(0, maxChars).join("") : flat;
}

/** Resolves a host name to its addresses. */
export type HostLookup = (host: string) => Promise<string[]>;

/** The system resolver, every address of the name. */
export const systemLookup: HostLookup = async (host) => (await dnsLookup(host, { all: true })).map((a) => a.address);

/**
 * Send-time check of a target's host against the operator's outbound policy: an
 * address literal by its class, a name by every address it resolves to now (the API
 * checked the name when it was set, but a name can point anywhere later).
 * @example await allowedTargetHost("10.0.0.7", STRICT_POLICY) // { ok: false, error: "recording_addr names a private address" }
 */
export async function allowedTargetHost(
  host: string,
  policy: OutboundPolicy,
  lookup: HostLookup = systemLookup,
): Promise<{ ok: true } | { ok: false; error: string }> {
  const checked = checkHost(host, policy);
  if (!checked.ok) return { ok: false, error: `recording_addr ${checked.error}` };
  if (checked.value.ip !== null) return { ok: true };
  let addresses: string[];
  try {
    addresses = await lookup(checked.value.host);
  } catch {
    return { ok: false, error: `recording_addr ${checked.value.host} does not resolve` };
  }
  const resolved = checkResolved(checked.value.host, addresses, policy);
  return resolved.ok ? { ok: true } : { ok: false, error: `recording_addr ${resolved.error}` };
}
