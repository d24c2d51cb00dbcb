/**
 * SIP message parser (RFC 3261 section 7, 20 and 25), hand-written; header pieces are
 * in `headers.ts`, the serializer in `serialize.ts` (both re-exported here).
 *
 * No npm library parses SIP the way a UDP server facing real phones needs (compact
 * forms, folding, RFC 4475 torture cases, result values instead of throws), so this
 * is ours. The parser never throws on input: every failure is a `{ ok: false }`
 * value with a reason, and when enough of a broken request is readable it carries a
 * `salvage` so the server can still answer 400 (RFC 4475 asks for that).
 */
import {
  canonicalHeaderName,
  DATE_RE,
  formatVia,
  isDigits,
  isSipUri,
  isToken,
  isWs,
  LIST_HEADERS,
  normalizeHeaderName,
  parseCSeq,
  parseNameAddr,
  parseUri,
  parseVia,
  SINGLE_HEADERS,
  splitList,
} from "./headers.ts";

export * from "./headers.ts";
export * from "./serialize.ts";

export type { CSeq, HeaderField, NameAddr, OtherUri, Params, ParseResult, SipUri, TelUri, Uri, Via } from "./syntax.ts";
import type { CSeq, HeaderField, NameAddr, Params, ParseResult, Uri, Via } from "./syntax.ts";

/**
 * The header section of a message. Names are case-insensitive and compact forms are
 * expanded; comma-separated values of list headers (Via, Contact, Route, ...) are
 * separate entries, so `getAll("via")` lists every Via whether it came in one line or many.
 */
export class SipHeaders {
  readonly fields: readonly HeaderField[];
  constructor(fields: readonly HeaderField[]) {
    this.fields = fields;
  }
  /** First value of the header, or null. */
  get(name: string): string | null {
    const n = normalizeHeaderName(name);
    for (const f of this.fields) if (f.name === n) return f.value;
    return null;
  }
  getAll(name: string): string[] {
    const n = normalizeHeaderName(name);
    const out: string[] = [];
    for (const f of this.fields) if (f.name === n) out.push(f.value);
    return out;
  }
  has(name: string): boolean {
    return this.get(name) !== null;
  }
}

interface MessageCommon {
  readonly headers: SipHeaders;
  readonly body: Uint8Array;
  /** All Via values, topmost first. */
  readonly via: readonly Via[];
  readonly cseq: CSeq;
  readonly callId: string;
  readonly from: NameAddr;
  readonly to: NameAddr;
  /** Parsed Contact values; empty when absent; `"*"` for the REGISTER wildcard. */
  readonly contacts: readonly (NameAddr | "*")[];
  readonly recordRoute: readonly NameAddr[];
  readonly route: readonly NameAddr[];
  /** Lower-cased media type without parameters, e.g. "application/sdp"; null when absent. */
  readonly contentType: string | null;
}

export interface SipRequest extends MessageCommon {
  readonly kind: "request";
  readonly method: string;
  /** The Request-URI as written. */
  readonly uri: string;
  readonly requestUri: Uri;
  readonly maxForwards: number | null;
}

export interface SipResponse extends MessageCommon {
  readonly kind: "response";
  readonly status: number;
  readonly reason: string;
}

export type SipMessage = SipRequest | SipResponse;

/**
 * What a rejected request still tells us, so that a 400 (or 505) can be sent back
 * (RFC 3261 8.2, RFC 4475 3.1.2): the method and the raw header section.
 */
export interface ParseSalvage {
  readonly method: string | null;
  readonly headers: SipHeaders;
}

export type MessageParseResult =
  | { ok: true; value: SipMessage }
  | {
      ok: false;
      reason: string;
      /** The status a server should answer with when it can answer at all. */
      status: 400 | 505;
      /** Present when the start line and header section were readable. */
      salvage: ParseSalvage | null;
      /** True for CRLF keep-alive datagrams (RFC 5626 3.5.1): not an error worth logging. */
      keepalive?: boolean;
    };

// ---------------------------------------------------------------------------
// Whole messages

const decoder = new TextDecoder("utf-8");
const encoder = new TextEncoder();

function fail(reason: string, salvage: ParseSalvage | null, status: 400 | 505 = 400): Extract<MessageParseResult, { ok: false }> {
  return { ok: false, reason, status, salvage };
}

/**
 * Parses one SIP message from a UDP datagram (RFC 3261 7, 18.3). Bytes after
 * Content-Length are discarded; a body shorter than Content-Length is an error;
 * without Content-Length the body runs to the end of the datagram. Never throws.
 *
 * @example
 * const r = parseMessage(datagram);
 * if (r.ok && r.value.kind === "request") console.log(r.value.method);
 */
export function parseMessage(input: Uint8Array | string): MessageParseResult {
  try {
    return parseMessageInner(typeof input === "string" ? encoder.encode(input) : input);
  } catch (err) {
    // Defence in depth: a parser bug must not take down the socket loop.
    return fail(`internal parser error: ${String(err)}`, null);
  }
}

function parseMessageInner(buf: Uint8Array): MessageParseResult {
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  if (start >= buf.length) return { ok: false, reason: "empty datagram", status: 400, salvage: null, keepalive: true };

  // Find the empty line that ends the header section (CRLF or bare LF line ends).
  let bodyStart = -1;
  let headerEnd = -1;
  let lineStart = start;
  for (let i = start; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    const lineEnd = i > lineStart && buf[i - 1] === 0x0d ? i - 1 : i;
    if (lineEnd === lineStart) {
      headerEnd = lineStart;
      bodyStart = i + 1;
      break;
    }
    lineStart = i + 1;
  }
  if (bodyStart < 0) return fail("no empty line after the header section", null);

  const head = decoder.decode(buf.subarray(start, headerEnd));
  const rawLines = head.split(/\r?\n/);
  if (rawLines.length > 0 && rawLines[rawLines.length - 1] === "") rawLines.pop();
  const lines: string[] = [];
  for (const line of rawLines) {
    if (line.length > 0 && isWs(line.charCodeAt(0))) {
      if (lines.length === 0) return fail("start line begins with whitespace", null);
      if (lines.length === 1) return fail("continuation of the start line", null);
      const prev = lines.pop() as string;
      lines.push(`${prev.trimEnd()} ${line.trim()}`);
    } else lines.push(line);
  }
  const startLine = lines[0] ?? "";
  if (startLine.includes("\r")) return fail("stray CR in start line", null);

  // Start line. A bad request line is reported after the headers are read, so that
  // the salvage still lets the server answer 400 (RFC 4475 3.1.2.7-3.1.2.10).
  let kind: "request" | "response";
  let method: string | null = null;
  let uriText = "";
  let status = 0;
  let reasonPhrase = "";
  let startLineError: { reason: string; status: 400 | 505 } | null = null;
  if (/^SIP\//i.test(startLine)) {
    kind = "response";
    const m = /^SIP\/([0-9]+\.[0-9]+) ([0-9]+)(?: (.*))?$/i.exec(startLine);
    if (!m || !m[1] || !m[2]) return fail("bad status line", null);
    if (m[1] !== "2.0") return fail(`unsupported SIP version ${m[1]}`, null, 505);
    if (m[2].length !== 3) return fail(`bad status code '${m[2]}'`, null);
    status = Number(m[2]);
    if (status < 100 || status > 699) return fail(`status code out of range: ${status}`, null);
    reasonPhrase = m[3] ?? "";
  } else {
    kind = "request";
    const parts = startLine.split(" ");
    const mth = parts[0] ?? "";
    if (!isToken(mth)) return fail(`bad method '${mth.slice(0, 40)}'`, null);
    method = mth;
    if (parts.length !== 3) {
      startLineError = { reason: "request line must be 'Method SP Request-URI SP SIP-Version'", status: 400 };
    } else {
      uriText = parts[1] as string;
      const vm = /^SIP\/([0-9]+\.[0-9]+)$/i.exec(parts[2] as string);
      if (!vm) startLineError = { reason: `bad SIP version '${parts[2]}'`, status: 400 };
      else if (vm[1] !== "2.0") startLineError = { reason: `unsupported SIP version ${vm[1]}`, status: 505 };
    }
  }

  // Header fields
  const fields: HeaderField[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(":");
    if (colon <= 0) return fail(`header line without name and colon: '${line.slice(0, 40)}'`, null);
    const name = line.slice(0, colon).trimEnd();
    if (!isToken(name)) return fail(`bad header name '${name}'`, null);
    const n = normalizeHeaderName(name);
    const value = line.slice(colon + 1).trim();
    if (LIST_HEADERS.has(n) && value.length > 0) {
      for (const v of splitList(value)) fields.push({ name: n, value: v });
    } else fields.push({ name: n, value });
  }
  const headers = new SipHeaders(fields);
  const salvage: ParseSalvage = { method, headers };
  if (startLineError) return fail(startLineError.reason, salvage, startLineError.status);

  // Headers that may appear once
  for (const n of SINGLE_HEADERS) {
    if (headers.getAll(n).length > 1) return fail(`more than one ${canonicalHeaderName(n)} header`, salvage);
  }

  const viaValues = headers.getAll("via");
  if (viaValues.length === 0) return fail("missing Via", salvage);
  const via: Via[] = [];
  for (const v of viaValues) {
    const r = parseVia(v);
    if (!r.ok) return fail(r.reason, salvage);
    via.push(r.value);
  }

  const cseqText = headers.get("cseq");
  if (cseqText === null) return fail("missing CSeq", salvage);
  const cseq = parseCSeq(cseqText);
  if (!cseq.ok) return fail(cseq.reason, salvage);
  if (method !== null && cseq.value.method !== method) return fail("CSeq method does not match the request method", salvage);

  const callId = headers.get("call-id");
  if (callId === null || callId.length === 0 || /[ \t]/.test(callId)) return fail("missing or bad Call-ID", salvage);

  const fromText = headers.get("from");
  if (fromText === null) return fail("missing From", salvage);
  const from = parseNameAddr(fromText);
  if (!from.ok) return fail(`From: ${from.reason}`, salvage);
  const toText = headers.get("to");
  if (toText === null) return fail("missing To", salvage);
  const to = parseNameAddr(toText);
  if (!to.ok) return fail(`To: ${to.reason}`, salvage);

  const contacts: (NameAddr | "*")[] = [];
  for (const c of headers.getAll("contact")) {
    if (c === "*") {
      contacts.push("*");
      continue;
    }
    const r = parseNameAddr(c);
    if (!r.ok) return fail(`Contact: ${r.reason}`, salvage);
    contacts.push(r.value);
  }
  const recordRoute: NameAddr[] = [];
  for (const c of headers.getAll("record-route")) {
    const r = parseNameAddr(c);
    if (!r.ok) return fail(`Record-Route: ${r.reason}`, salvage);
    recordRoute.push(r.value);
  }
  const route: NameAddr[] = [];
  for (const c of headers.getAll("route")) {
    const r = parseNameAddr(c);
    if (!r.ok) return fail(`Route: ${r.reason}`, salvage);
    route.push(r.value);
  }

  let maxForwards: number | null = null;
  const mf = headers.get("max-forwards");
  if (mf !== null) {
    if (!isDigits(mf) || mf.length > 10 || Number(mf) > 255) return fail("bad Max-Forwards", salvage);
    maxForwards = Number(mf);
  }

  const date = headers.get("date");
  if (date !== null && !DATE_RE.test(date)) return fail("bad Date (RFC 1123 form in GMT required)", salvage);

  const ctText = headers.get("content-type");
  let contentType: string | null = null;
  if (ctText !== null) {
    const mt = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*\/[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)/.exec(ctText);
    if (!mt || !mt[1] || !mt[2]) return fail("bad Content-Type", salvage);
    contentType = `${mt[1]}/${mt[2]}`.toLowerCase();
  }

  // Body (RFC 3261 18.3)
  let body: Uint8Array;
  const cl = headers.get("content-length");
  const available = buf.length - bodyStart;
  if (cl !== null) {
    if (!isDigits(cl) || cl.length > 9) return fail("bad Content-Length", salvage);
    const len = Number(cl);
    if (len > available) return fail("body shorter than Content-Length", salvage);
    body = buf.subarray(bodyStart, bodyStart + len);
  } else body = buf.subarray(bodyStart);

  const common = {
    headers,
    body,
    via,
    cseq: cseq.value,
    callId,
    from: from.value,
    to: to.value,
    contacts,
    recordRoute,
    route,
    contentType,
  };
  if (kind === "response") {
    return { ok: true, value: { kind, status, reason: reasonPhrase, ...common } };
  }
  const requestUri = parseUri(uriText);
  if (!requestUri.ok) return fail(`Request-URI: ${requestUri.reason}`, salvage);
  if (isSipUri(requestUri.value) && requestUri.value.headers !== null) {
    return fail("Request-URI must not contain headers", salvage);
  }
  return {
    ok: true,
    value: { kind, method: method as string, uri: uriText, requestUri: requestUri.value, maxForwards, ...common },
  };
}

/**
 * From the salvage of a rejected request, the header values needed to answer it:
 * the top Via (read leniently: protocol, sent-by and branch) and the CSeq (digits and
 * method, any size). Null when either is unreadable: then the request is dropped.
 */
export function salvageResponseHeaders(
  s: ParseSalvage,
): { topVia: Via; via: string[]; cseq: string; callId: string | null; from: string | null; to: string | null } | null {
  const vias = s.headers.getAll("via");
  const first = vias[0];
  if (first === undefined) return null;
  let topVia: Via;
  const parsed = parseVia(first);
  if (parsed.ok) topVia = parsed.value;
  else {
    const m =
      /^[ \t]*SIP[ \t]*\/[ \t]*([0-9.]+)[ \t]*\/[ \t]*([A-Za-z]+)[ \t]+([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?:[ \t]*:[ \t]*([0-9]{1,5}))?/i.exec(
        first,
      );
    if (!m || !m[1] || !m[2] || !m[3]) return null;
    const params: Params = new Map();
    const b = /;[ \t]*branch[ \t]*=[ \t]*([!%*_+`'~.A-Za-z0-9-]+)/i.exec(first);
    if (b?.[1]) params.set("branch", b[1]);
    const port = m[4] ? Number(m[4]) : null;
    const partial = {
      protocol: `SIP/${m[1]}`,
      transport: m[2].toUpperCase(),
      host: m[3].toLowerCase(),
      port: port !== null && port <= 65535 ? port : null,
      params,
    };
    topVia = { ...partial, branch: b?.[1] ?? null, received: null, rport: null, raw: formatVia(partial) };
  }
  const cseq = s.headers.getAll("cseq")[0];
  if (cseq === undefined || !/^[0-9]+[ \t]+[!%*_+`'~.A-Za-z0-9-]+$/.test(cseq)) return null;
  // Only the first Via is ours to vouch for; the rest go back unchanged when they parse.
  const rest = vias.slice(1).filter((v) => parseVia(v).ok);
  return {
    topVia,
    via: parsed.ok ? vias.filter((v, i) => i === 0 || parseVia(v).ok) : [topVia.raw, ...rest],
    cseq,
    callId: s.headers.getAll("call-id")[0] ?? null,
    from: s.headers.getAll("from")[0] ?? null,
    to: s.headers.getAll("to")[0] ?? null,
  };
}
