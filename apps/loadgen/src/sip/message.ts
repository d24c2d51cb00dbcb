/**
 * Minimal SIP message parsing and serialization for the load generator's UAC.
 *
 * Hand-written on purpose (the project keeps the SIP transaction layer its own): the
 * generator only needs to read the responses and the few requests (BYE, OPTIONS) a
 * conference server sends back, so this handles what such peers produce: case-insensitive
 * and compact header names, several values per header, folded lines, and a body sized by
 * Content-Length. It is not the mixer's full RFC 4475 parser.
 */

/** A parsed SIP request or response. Header names are stored lower-case, long form. */
export interface SipMessage {
  kind: "request" | "response";
  /** Request method (requests only). */
  method: string;
  /** Request-URI (requests only). */
  uri: string;
  /** Status code (responses only). */
  status: number;
  reason: string;
  /** Header values in order of appearance, keyed by lower-case long name. */
  headers: Map<string, string[]>;
  body: string;
}

const COMPACT: Record<string, string> = {
  i: "call-id",
  m: "contact",
  e: "content-encoding",
  l: "content-length",
  c: "content-type",
  f: "from",
  s: "subject",
  k: "supported",
  t: "to",
  v: "via",
};

function longName(name: string): string {
  const lower = name.trim().toLowerCase();
  return COMPACT[lower] ?? lower;
}

/** Headers whose values may be comma-joined lists we want split into separate entries. */
const LIST_HEADERS = new Set(["via", "contact", "route", "record-route"]);

/** Split on commas that are outside quotes and angle brackets. */
function splitList(value: string): string[] {
  const out: string[] = [];
  let depthAngle = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '"' && value[i - 1] !== "\\") quoted = !quoted;
    else if (!quoted && ch === "<") depthAngle++;
    else if (!quoted && ch === ">") depthAngle--;
    else if (!quoted && depthAngle === 0 && ch === ",") {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter((v) => v.length > 0);
}

/** Parse a datagram. Returns null when it is not a well-formed SIP message. */
export function parseSip(data: Uint8Array | string): SipMessage | null {
  const text = typeof data === "string" ? data : new TextDecoder().decode(data);
  const headEnd = text.indexOf("\r\n\r\n");
  const sepLen = headEnd >= 0 ? 4 : 2;
  let end = headEnd;
  if (end < 0) {
    end = text.indexOf("\n\n");
    if (end < 0) return null;
  }
  const head = text.slice(0, end);
  const rawBody = text.slice(end + sepLen);
  // Unfold continuation lines (RFC 3261 7.3.1).
  const lines = head.split(/\r?\n/);
  const unfolded: string[] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && unfolded.length > 0) {
      unfolded[unfolded.length - 1] += " " + line.trim();
    } else {
      unfolded.push(line);
    }
  }
  const start = unfolded.shift();
  if (!start) return null;
  const msg: SipMessage = {
    kind: "request",
    method: "",
    uri: "",
    status: 0,
    reason: "",
    headers: new Map(),
    body: "",
  };
  const resp = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/i.exec(start);
  if (resp) {
    msg.kind = "response";
    msg.status = Number(resp[1]);
    msg.reason = resp[2] ?? "";
  } else {
    const req = /^([A-Za-z]+)\s+(\S+)\s+SIP\/2\.0$/i.exec(start);
    if (!req) return null;
    msg.method = (req[1] ?? "").toUpperCase();
    msg.uri = req[2] ?? "";
  }
  for (const line of unfolded) {
    const colon = line.indexOf(":");
    if (colon <= 0) return null;
    const name = longName(line.slice(0, colon));
    const value = line.slice(colon + 1).trim();
    const values = LIST_HEADERS.has(name) ? splitList(value) : [value];
    const list = msg.headers.get(name);
    if (list) list.push(...values);
    else msg.headers.set(name, values);
  }
  const cl = msg.headers.get("content-length")?.[0];
  if (cl !== undefined) {
    const n = Number(cl);
    if (!Number.isInteger(n) || n < 0) return null;
    // Content-Length counts bytes; our bodies are ASCII SDP, so characters == bytes.
    msg.body = rawBody.slice(0, n);
  } else {
    msg.body = rawBody;
  }
  return msg;
}

/** First value of a header (lower-case long name), or undefined. */
export function header(msg: SipMessage, name: string): string | undefined {
  return msg.headers.get(name)?.[0];
}

/** Extract a `;name=value` parameter from a header value (outside the <uri>). */
export function headerParam(value: string | undefined, name: string): string | undefined {
  if (!value) return undefined;
  const afterUri = value.lastIndexOf(">");
  const params = afterUri >= 0 ? value.slice(afterUri + 1) : value;
  const re = new RegExp(`;\\s*${name}=([^;,\\s]+)`, "i");
  return re.exec(params)?.[1];
}

/** The URI inside <...> of a name-addr, or the bare addr-spec without parameters. */
export function uriOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const lt = value.indexOf("<");
  if (lt >= 0) {
    const gt = value.indexOf(">", lt);
    return gt > lt ? value.slice(lt + 1, gt) : undefined;
  }
  return value.split(";")[0]?.trim();
}

/** CSeq header split into number and method. */
export function cseqOf(msg: SipMessage): { seq: number; method: string } | undefined {
  const v = header(msg, "cseq");
  if (!v) return undefined;
  const m = /^(\d+)\s+([A-Za-z]+)$/.exec(v.trim());
  if (!m) return undefined;
  return { seq: Number(m[1]), method: (m[2] ?? "").toUpperCase() };
}

/** Host and port of a sip: URI (port defaults to 5060). */
export function hostPortOf(uri: string): { host: string; port: number } | undefined {
  const m = /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?/i.exec(uri.trim());
  if (!m) return undefined;
  return { host: (m[1] ?? "").replace(/^\[|\]$/g, ""), port: m[2] ? Number(m[2]) : 5060 };
}

/** Serialize a request. Content-Length is computed; headers are written in the order given. */
export function buildRequest(
  method: string,
  uri: string,
  headers: [string, string][],
  body = "",
): string {
  let out = `${method} ${uri} SIP/2.0\r\n`;
  for (const [k, v] of headers) out += `${k}: ${v}\r\n`;
  out += `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  return out;
}

/** Serialize a response to `req`, copying Via, From, To, Call-ID and CSeq as RFC 3261 8.2.6 says. */
export function buildResponse(
  req: SipMessage,
  status: number,
  reason: string,
  extra: [string, string][] = [],
  body = "",
  toTag?: string,
): string {
  let out = `SIP/2.0 ${status} ${reason}\r\n`;
  for (const via of req.headers.get("via") ?? []) out += `Via: ${via}\r\n`;
  out += `From: ${header(req, "from") ?? ""}\r\n`;
  let to = header(req, "to") ?? "";
  if (toTag && !headerParam(to, "tag")) to += `;tag=${toTag}`;
  out += `To: ${to}\r\n`;
  out += `Call-ID: ${header(req, "call-id") ?? ""}\r\n`;
  out += `CSeq: ${header(req, "cseq") ?? ""}\r\n`;
  for (const [k, v] of extra) out += `${k}: ${v}\r\n`;
  out += `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  return out;
}

/** A random token for tags, branches and Call-IDs. */
export function randomToken(bytes = 8): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
