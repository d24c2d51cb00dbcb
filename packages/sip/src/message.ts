/**
 * SIP message parser and serializer (RFC 3261 section 7, 20 and 25), hand-written.
 *
 * No npm library parses SIP the way a UDP server facing real phones needs (compact
 * forms, folding, RFC 4475 torture cases, result values instead of throws), so this
 * is ours. The parser never throws on input: every failure is a `{ ok: false }`
 * value with a reason, and when enough of a broken request is readable it carries a
 * `salvage` so the server can still answer 400 (RFC 4475 asks for that).
 */

/** A value or the reason it could not be produced. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Header or URI parameters: lower-cased name -> raw value (quotes kept), `null` when valueless. */
export type Params = Map<string, string | null>;

/** A `sip:` / `sips:` URI (RFC 3261 19.1). `user` is kept escaped, as written. */
export interface SipUri {
  readonly scheme: "sip" | "sips";
  readonly user: string | null;
  readonly password: string | null;
  /** Lower-cased; IPv6 references keep their brackets. */
  readonly host: string;
  readonly port: number | null;
  readonly params: Params;
  /** The raw `hname=hvalue&...` part after `?`, or null. */
  readonly headers: string | null;
  readonly raw: string;
}

/** A `tel:` URI (RFC 3966): `number` is the part before the first `;`. */
export interface TelUri {
  readonly scheme: "tel";
  readonly number: string;
  readonly params: Params;
  readonly raw: string;
}

/** Any other absolute URI (`isbn:...`, `http://...`): kept opaque. */
export interface OtherUri {
  readonly scheme: string;
  readonly opaque: string;
  readonly raw: string;
}

export type Uri = SipUri | TelUri | OtherUri;

/** From / To / Contact / Route value: `"Display" <uri>;param=value`. */
export interface NameAddr {
  /** Unquoted and unescaped display name, or null when absent. */
  readonly displayName: string | null;
  readonly uri: Uri;
  /** Header parameters (after the URI), e.g. `tag`, `expires`, `q`. */
  readonly params: Params;
  /** Shortcut for `params.get("tag")`. */
  readonly tag: string | null;
  /** The value as received (folding removed). */
  readonly raw: string;
}

/** One Via value (RFC 3261 20.42, RFC 3581 rport). */
export interface Via {
  /** e.g. "SIP/2.0" */
  readonly protocol: string;
  /** Upper-cased transport, e.g. "UDP". */
  readonly transport: string;
  /** Lower-cased sent-by host. */
  readonly host: string;
  readonly port: number | null;
  readonly params: Params;
  readonly branch: string | null;
  readonly received: string | null;
  /** `true` when `rport` is present without a value (the client asks for one). */
  readonly rport: number | true | null;
  readonly raw: string;
}

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** One header field; list headers are split into one entry per value. */
export interface HeaderField {
  /** Lower-cased long form (`v` -> `via`). */
  readonly name: string;
  readonly value: string;
}

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
// Character classes

const TOKEN_CHARS = charSet("A-Za-z0-9", "-.!%*_+`'~");
/** RFC 3261 `unreserved` = alphanum / mark */
const UNRESERVED = charSet("A-Za-z0-9", "-_.!~*'()");
const USER_CHARS = charSet("A-Za-z0-9", "-_.!~*'()&=+$,;?/");
const PASSWORD_CHARS = charSet("A-Za-z0-9", "-_.!~*'()&=+$,");
const PARAM_CHARS = charSet("A-Za-z0-9", "-_.!~*'()[]/:&+$");
const HEADER_CHARS = charSet("A-Za-z0-9", "-_.!~*'()[]/?:+$");
const HOST_CHARS = charSet("A-Za-z0-9", "-.");

function charSet(ranges: string, singles: string): Uint8Array {
  const set = new Uint8Array(128);
  for (let i = 0; i + 2 < ranges.length + 1; i += 3) {
    const a = ranges.charCodeAt(i);
    const b = ranges.charCodeAt(i + 2);
    for (let c = a; c <= b; c++) set[c] = 1;
  }
  for (let i = 0; i < singles.length; i++) set[singles.charCodeAt(i)] = 1;
  return set;
}

function allIn(s: string, set: Uint8Array, allowEscapes: boolean): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 /* % */ && allowEscapes) {
      if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return false;
      i += 2;
      continue;
    }
    if (c >= 128 || set[c] !== 1) return false;
  }
  return true;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** True when `s` is a non-empty RFC 3261 token. */
export function isToken(s: string): boolean {
  return allIn(s, TOKEN_CHARS, false);
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

// ---------------------------------------------------------------------------
// Header names

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
  o: "event",
  u: "allow-events",
  r: "refer-to",
  b: "referred-by",
  a: "accept-contact",
  j: "reject-contact",
  d: "request-disposition",
  x: "session-expires",
  y: "identity",
  n: "identity-info",
};

/** Lower-cases a header name and expands compact forms (`v` -> `via`). */
export function normalizeHeaderName(name: string): string {
  const lower = name.toLowerCase();
  return COMPACT[lower] ?? lower;
}

const CANONICAL: Record<string, string> = {
  "call-id": "Call-ID",
  cseq: "CSeq",
  "www-authenticate": "WWW-Authenticate",
  "mime-version": "MIME-Version",
};

/** The conventional spelling of a normalized header name (`call-id` -> `Call-ID`). */
export function canonicalHeaderName(name: string): string {
  const n = normalizeHeaderName(name);
  const known = CANONICAL[n];
  if (known) return known;
  return n.replace(/(^|-)([a-z])/g, (_m, d: string, ch: string) => d + ch.toUpperCase());
}

/** Headers whose value is a comma-separated list (RFC 3261 7.3.1). */
const LIST_HEADERS = new Set([
  "via",
  "contact",
  "route",
  "record-route",
  "allow",
  "supported",
  "require",
  "proxy-require",
  "unsupported",
  "accept",
  "accept-encoding",
  "accept-language",
  "allow-events",
  "content-encoding",
  "path",
  "service-route",
]);

/** Headers that must not appear twice (RFC 4475 3.3.8, 3.3.9). */
const SINGLE_HEADERS = ["call-id", "cseq", "from", "to", "max-forwards", "content-length", "content-type"];

/**
 * Splits a list header value on commas outside quoted strings and angle brackets.
 * Empty elements are kept (as "") so callers can reject them.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c /* < */) angle = true;
    else if (c === 0x3e /* > */) angle = false;
    else if (c === 0x2c /* , */ && !angle) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out;
}

// ---------------------------------------------------------------------------
// Small scanner for header values (folding is already replaced by SP).

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.pos >= this.s.length;
  }
  peek(): number {
    return this.pos < this.s.length ? this.s.charCodeAt(this.pos) : -1;
  }
  skipWs(): void {
    while (this.pos < this.s.length && isWs(this.s.charCodeAt(this.pos))) this.pos++;
  }
  eat(ch: string): boolean {
    if (this.s[this.pos] === ch) {
      this.pos++;
      return true;
    }
    return false;
  }
  token(): string {
    const start = this.pos;
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c >= 128 || TOKEN_CHARS[c] !== 1) break;
      this.pos++;
    }
    return this.s.slice(start, this.pos);
  }
  /** Reads a quoted-string at the cursor; returns the raw text (with quotes) or null if unterminated. */
  quoted(): string | null {
    const start = this.pos;
    this.pos++; // opening quote
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x5c) {
        // quoted-pair excludes CR and LF
        const n = this.s.charCodeAt(this.pos + 1);
        if (Number.isNaN(n) || n === 0x0a || n === 0x0d) return null;
        this.pos += 2;
        continue;
      }
      if (c === 0x22) {
        this.pos++;
        return this.s.slice(start, this.pos);
      }
      if (c === 0x0a || c === 0x0d) return null;
      this.pos++;
    }
    return null;
  }
}

/** Removes the quotes and backslash escapes of a quoted-string; returns other values as they are. */
export function unquote(value: string): string {
  if (value.length < 2 || value[0] !== '"' || value[value.length - 1] !== '"') return value;
  let out = "";
  for (let i = 1; i < value.length - 1; i++) {
    const ch = value[i];
    if (ch === "\\" && i + 1 < value.length - 1) {
      out += value[i + 1];
      i++;
    } else out += ch;
  }
  return out;
}

/** Quotes a display name for a header, escaping `"` and `\`. */
export function quoteString(value: string): string {
  return `"${value.replace(/["\\]/g, (m) => `\\${m}`)}"`;
}

/**
 * Parses `*( SEMI generic-param )` at the scanner; value = token / host / quoted-string.
 * Empty parameters (`;;`) are an error.
 */
function parseHeaderParams(sc: Scanner, params: Params): string | null {
  for (;;) {
    sc.skipWs();
    if (sc.done) return null;
    if (!sc.eat(";")) return `unexpected character '${sc.s[sc.pos]}'`;
    sc.skipWs();
    const name = sc.token();
    if (name.length === 0) return "empty parameter";
    sc.skipWs();
    let value: string | null = null;
    if (sc.eat("=")) {
      sc.skipWs();
      if (sc.peek() === 0x22) {
        const q = sc.quoted();
        if (q === null) return "unterminated quoted string in parameter";
        value = q;
      } else {
        const start = sc.pos;
        // token or host (IPv6 references contain ':' '[' ']')
        while (sc.pos < sc.s.length) {
          const c = sc.s.charCodeAt(sc.pos);
          if (c < 128 && (TOKEN_CHARS[c] === 1 || c === 0x3a || c === 0x5b || c === 0x5d)) sc.pos++;
          else break;
        }
        value = sc.s.slice(start, sc.pos);
        if (value.length === 0) return `empty value for parameter '${name}'`;
      }
    }
    params.set(name.toLowerCase(), value);
  }
}

// ---------------------------------------------------------------------------
// URIs

function parseUriParams(s: string, params: Params): string | null {
  for (const part of s.split(";")) {
    if (part.length === 0) return "empty URI parameter";
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? null : part.slice(eq + 1);
    if (!allIn(name, PARAM_CHARS, true)) return `bad URI parameter name '${name}'`;
    if (value !== null && !allIn(value, PARAM_CHARS, true)) return `bad URI parameter value '${value}'`;
    params.set(name.toLowerCase(), value);
  }
  return null;
}

function parseHost(s: string): ParseResult<{ host: string; port: number | null }> {
  let host: string;
  let rest: string;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) return { ok: false, reason: "unterminated IPv6 reference" };
    host = s.slice(0, close + 1);
    if (!/^\[[0-9A-Fa-f:.]+\]$/.test(host)) return { ok: false, reason: `bad IPv6 reference '${host}'` };
    rest = s.slice(close + 1);
  } else {
    const colon = s.indexOf(":");
    host = colon < 0 ? s : s.slice(0, colon);
    rest = colon < 0 ? "" : s.slice(colon);
    if (!allIn(host, HOST_CHARS, false)) return { ok: false, reason: `bad host '${host}'` };
  }
  let port: number | null = null;
  if (rest.length > 0) {
    if (rest[0] !== ":" || !isDigits(rest.slice(1))) return { ok: false, reason: `bad port in '${s}'` };
    port = Number(rest.slice(1));
    if (port > 65535) return { ok: false, reason: `port out of range in '${s}'` };
  }
  return { ok: true, value: { host: host.toLowerCase(), port } };
}

/**
 * Parses a URI. `sip:`/`sips:` URIs are parsed fully (user, password, host, port,
 * parameters, headers); `tel:` gets its number; other schemes are kept opaque.
 *
 * @example parseUri("sip:15162065919@10.0.0.1:5060;transport=udp")
 */
export function parseUri(s: string): ParseResult<Uri> {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(s);
  if (!m || !m[1]) return { ok: false, reason: `no URI scheme in '${s}'` };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x3e || c === 0x22) {
      return { ok: false, reason: `illegal character in URI '${s}'` };
    }
  }
  const scheme = m[1].toLowerCase();
  const rest = s.slice(m[0].length);
  if (scheme === "sip" || scheme === "sips") return parseSipUri(scheme, rest, s);
  if (rest.length === 0) return { ok: false, reason: `empty URI after scheme '${scheme}'` };
  if (scheme === "tel") {
    const semi = rest.indexOf(";");
    const number = semi < 0 ? rest : rest.slice(0, semi);
    const params: Params = new Map();
    if (semi >= 0) {
      const err = parseUriParams(rest.slice(semi + 1), params);
      if (err) return { ok: false, reason: err };
    }
    if (number.length === 0) return { ok: false, reason: "empty tel number" };
    return { ok: true, value: { scheme: "tel", number, params, raw: s } };
  }
  return { ok: true, value: { scheme, opaque: rest, raw: s } };
}

function parseSipUri(scheme: "sip" | "sips", rest: string, raw: string): ParseResult<Uri> {
  let user: string | null = null;
  let password: string | null = null;
  let hostPart = rest;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    hostPart = rest.slice(at + 1);
    const colon = userinfo.indexOf(":");
    user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    password = colon < 0 ? null : userinfo.slice(colon + 1);
    if (!allIn(user, USER_CHARS, true)) return { ok: false, reason: `bad user part in '${raw}'` };
    if (password !== null && password.length > 0 && !allIn(password, PASSWORD_CHARS, true)) {
      return { ok: false, reason: `bad password in '${raw}'` };
    }
  }
  let end = hostPart.length;
  const semi = hostPart.indexOf(";");
  const q = hostPart.indexOf("?");
  if (semi >= 0) end = semi;
  if (q >= 0 && q < end) end = q;
  const hp = parseHost(hostPart.slice(0, end));
  if (!hp.ok) return hp;
  const params: Params = new Map();
  let headers: string | null = null;
  let tail = hostPart.slice(end);
  if (tail.startsWith(";")) {
    const qq = tail.indexOf("?");
    const paramStr = qq < 0 ? tail.slice(1) : tail.slice(1, qq);
    const err = parseUriParams(paramStr, params);
    if (err) return { ok: false, reason: err };
    tail = qq < 0 ? "" : tail.slice(qq);
  }
  if (tail.startsWith("?")) {
    headers = tail.slice(1);
    for (const h of headers.split("&")) {
      const eq = h.indexOf("=");
      if (eq <= 0 || !allIn(h.slice(0, eq), HEADER_CHARS, true)) return { ok: false, reason: `bad URI header '${h}'` };
      const hv = h.slice(eq + 1);
      if (hv.length > 0 && !allIn(hv, HEADER_CHARS, true)) return { ok: false, reason: `bad URI header '${h}'` };
    }
  }
  return {
    ok: true,
    value: { scheme, user, password, host: hp.value.host, port: hp.value.port, params, headers, raw },
  };
}

/** Decodes `%HH` escapes; malformed escapes are left as they are. */
export function unescapeUriPart(s: string): string {
  if (!s.includes("%")) return s;
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

/** The user part of a sip URI or the number of a tel URI, unescaped; null otherwise. */
export function uriUser(uri: Uri): string | null {
  if (uri.scheme === "sip" || uri.scheme === "sips") {
    const u = (uri as SipUri).user;
    return u === null ? null : unescapeUriPart(u);
  }
  if (uri.scheme === "tel") return unescapeUriPart((uri as TelUri).number);
  return null;
}

/** Narrowing helper. */
export function isSipUri(uri: Uri): uri is SipUri {
  return uri.scheme === "sip" || uri.scheme === "sips";
}

// ---------------------------------------------------------------------------
// name-addr / addr-spec

/**
 * Parses a From/To/Contact/Route value: `[display-name] <uri> *(;param)` or
 * `addr-spec *(;param)` (where the URI may not contain `;`, `?` or `,`).
 *
 * @example parseNameAddr('"Alice" <sip:alice@example.com>;tag=1928301774')
 */
export function parseNameAddr(value: string): ParseResult<NameAddr> {
  const sc = new Scanner(value);
  sc.skipWs();
  let displayName: string | null = null;
  let uriText: string;
  if (sc.peek() === 0x22) {
    const q = sc.quoted();
    if (q === null) return { ok: false, reason: "unterminated quoted display name" };
    displayName = unquote(q);
    sc.skipWs();
    if (sc.peek() !== 0x3c) return { ok: false, reason: "expected '<' after display name" };
  }
  const lt = value.indexOf("<", sc.pos);
  if (sc.peek() === 0x3c || (displayName === null && lt >= 0)) {
    if (displayName === null && lt > sc.pos) {
      // *(token LWS): display name made of tokens
      const words = value.slice(sc.pos, lt).trim().split(/[ \t]+/);
      for (const w of words) {
        if (!isToken(w)) return { ok: false, reason: `bad display name '${value.slice(sc.pos, lt).trim()}'` };
      }
      displayName = words.join(" ");
      sc.pos = lt;
    }
    sc.pos++; // '<'
    const gt = value.indexOf(">", sc.pos);
    if (gt < 0) return { ok: false, reason: "missing '>'" };
    uriText = value.slice(sc.pos, gt);
    if (uriText.length === 0 || isWs(uriText.charCodeAt(0)) || isWs(uriText.charCodeAt(uriText.length - 1))) {
      return { ok: false, reason: "whitespace inside <>" };
    }
    sc.pos = gt + 1;
  } else {
    // addr-spec: ends at ';' (header params), whitespace or end
    const start = sc.pos;
    while (sc.pos < value.length) {
      const c = value.charCodeAt(sc.pos);
      if (c === 0x3b || isWs(c)) break;
      sc.pos++;
    }
    uriText = value.slice(start, sc.pos);
    if (uriText.includes("?") || uriText.includes(",")) {
      return { ok: false, reason: "URI with '?' or ',' must be enclosed in <>" };
    }
  }
  const uri = parseUri(uriText);
  if (!uri.ok) return uri;
  const params: Params = new Map();
  const err = parseHeaderParams(sc, params);
  if (err) return { ok: false, reason: err };
  return { ok: true, value: { displayName, uri: uri.value, params, tag: params.get("tag") ?? null, raw: value } };
}

// ---------------------------------------------------------------------------
// Via, CSeq

/**
 * Parses one Via value: `SIP / 2.0 / UDP host[:port] *(;param)` (LWS allowed around `/`).
 *
 * @example parseVia("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport")
 */
export function parseVia(value: string): ParseResult<Via> {
  const sc = new Scanner(value);
  sc.skipWs();
  const name = sc.token();
  sc.skipWs();
  if (!sc.eat("/")) return { ok: false, reason: "bad Via protocol" };
  sc.skipWs();
  const version = sc.token();
  sc.skipWs();
  if (!sc.eat("/")) return { ok: false, reason: "bad Via protocol" };
  sc.skipWs();
  const transport = sc.token();
  if (name.length === 0 || version.length === 0 || transport.length === 0) {
    return { ok: false, reason: "bad Via protocol" };
  }
  const wsStart = sc.pos;
  sc.skipWs();
  if (sc.pos === wsStart) return { ok: false, reason: "missing space before Via sent-by" };
  const hostStart = sc.pos;
  if (sc.peek() === 0x5b) {
    const close = value.indexOf("]", sc.pos);
    if (close < 0) return { ok: false, reason: "unterminated IPv6 reference in Via" };
    sc.pos = close + 1;
  } else {
    while (sc.pos < value.length && HOST_CHARS[value.charCodeAt(sc.pos)] === 1) sc.pos++;
  }
  let hostport = value.slice(hostStart, sc.pos);
  sc.skipWs();
  if (sc.eat(":")) {
    sc.skipWs();
    const ps = sc.pos;
    while (sc.pos < value.length && isDigits(value[sc.pos] ?? "")) sc.pos++;
    hostport += `:${value.slice(ps, sc.pos)}`;
  }
  const hp = parseHost(hostport);
  if (!hp.ok) return { ok: false, reason: `Via: ${hp.reason}` };
  const params: Params = new Map();
  const err = parseHeaderParams(sc, params);
  if (err) return { ok: false, reason: `Via: ${err}` };
  const rportRaw = params.get("rport");
  let rport: number | true | null = null;
  if (rportRaw === null) rport = true;
  else if (rportRaw !== undefined) {
    if (!isDigits(rportRaw) || Number(rportRaw) > 65535) return { ok: false, reason: "Via: bad rport" };
    rport = Number(rportRaw);
  }
  return {
    ok: true,
    value: {
      protocol: `${name.toUpperCase()}/${version}`,
      transport: transport.toUpperCase(),
      host: hp.value.host,
      port: hp.value.port,
      params,
      branch: params.get("branch") ?? null,
      received: params.get("received") ?? null,
      rport,
      raw: value,
    },
  };
}

/** Serializes a Via value from its parts (normalizing whitespace). */
export function formatVia(via: Pick<Via, "protocol" | "transport" | "host" | "port" | "params">): string {
  let s = `${via.protocol}/${via.transport} ${via.host}${via.port === null ? "" : `:${via.port}`}`;
  for (const [k, v] of via.params) s += v === null ? `;${k}` : `;${k}=${v}`;
  return s;
}

const MAX_CSEQ = 2 ** 32 - 1;

/** Parses `CSeq: 1*DIGIT LWS Method`; the number must fit 32 bits (RFC 3261 8.1.1.5). */
export function parseCSeq(value: string): ParseResult<CSeq> {
  const m = /^[ \t]*([0-9]+)[ \t]+(\S+)[ \t]*$/.exec(value);
  if (!m || !m[1] || !m[2]) return { ok: false, reason: `bad CSeq '${value}'` };
  if (!isToken(m[2])) return { ok: false, reason: `bad CSeq method '${m[2]}'` };
  if (m[1].length > 10 || Number(m[1]) > MAX_CSEQ) return { ok: false, reason: "CSeq number too large" };
  return { ok: true, value: { seq: Number(m[1]), method: m[2] } };
}

const DATE_RE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$/;

// ---------------------------------------------------------------------------
// Whole messages

const decoder = new TextDecoder("utf-8");
const encoder = new TextEncoder();

function fail(
  reason: string,
  salvage: ParseSalvage | null,
  status: 400 | 505 = 400,
): Extract<MessageParseResult, { ok: false }> {
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
    const m = /^[ \t]*SIP[ \t]*\/[ \t]*([0-9.]+)[ \t]*\/[ \t]*([A-Za-z]+)[ \t]+([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?:[ \t]*:[ \t]*([0-9]{1,5}))?/i.exec(
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

// ---------------------------------------------------------------------------
// Serialization

/** A header to send: name (any spelling) and value. */
export type OutgoingHeader = readonly [name: string, value: string];

function build(startLine: string, headers: readonly OutgoingHeader[], body: Uint8Array | string | undefined): Uint8Array {
  const bodyBytes = body === undefined ? new Uint8Array(0) : typeof body === "string" ? encoder.encode(body) : body;
  let head = `${startLine}\r\n`;
  for (const [name, value] of headers) {
    if (normalizeHeaderName(name) === "content-length") continue;
    head += `${canonicalHeaderName(name)}: ${value}\r\n`;
  }
  head += `Content-Length: ${bodyBytes.length}\r\n\r\n`;
  const headBytes = encoder.encode(head);
  if (bodyBytes.length === 0) return headBytes;
  const out = new Uint8Array(headBytes.length + bodyBytes.length);
  out.set(headBytes, 0);
  out.set(bodyBytes, headBytes.length);
  return out;
}

/**
 * Serializes a request; Content-Length is always computed from the body (a given
 * Content-Length header is ignored).
 *
 * @example serializeRequest("OPTIONS", "sip:127.0.0.1", [["Via", "SIP/2.0/UDP ..."]])
 */
export function serializeRequest(
  method: string,
  uri: string,
  headers: readonly OutgoingHeader[],
  body?: Uint8Array | string,
): Uint8Array {
  return build(`${method} ${uri} SIP/2.0`, headers, body);
}

/** Serializes a response; Content-Length is computed from the body. */
export function serializeResponse(
  status: number,
  reason: string,
  headers: readonly OutgoingHeader[],
  body?: Uint8Array | string,
): Uint8Array {
  return build(`SIP/2.0 ${status} ${reason}`, headers, body);
}

/** Serializes a parsed message again (header values as parsed, one line per list value). */
export function serializeMessage(msg: SipMessage): Uint8Array {
  const headers: OutgoingHeader[] = msg.headers.fields.map((f) => [f.name, f.value] as const);
  return msg.kind === "request"
    ? serializeRequest(msg.method, msg.uri, headers, msg.body)
    : serializeResponse(msg.status, msg.reason, headers, msg.body);
}

/** The body decoded as UTF-8. */
export function bodyText(msg: { body: Uint8Array }): string {
  return msg.body.length === 0 ? "" : decoder.decode(msg.body);
}

/** Standard reason phrases for the statuses this stack sends. */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: "Trying",
  180: "Ringing",
  181: "Call Is Being Forwarded",
  182: "Queued",
  183: "Session Progress",
  200: "OK",
  202: "Accepted",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  410: "Gone",
  415: "Unsupported Media Type",
  416: "Unsupported URI Scheme",
  420: "Bad Extension",
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  482: "Loop Detected",
  483: "Too Many Hops",
  484: "Address Incomplete",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  491: "Request Pending",
  500: "Server Internal Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  504: "Server Time-out",
  505: "Version Not Supported",
  600: "Busy Everywhere",
  603: "Decline",
  604: "Does Not Exist Anywhere",
  606: "Not Acceptable",
};

/** The reason phrase for a status code (a generic one for unknown codes). */
export function reasonPhrase(status: number): string {
  return REASON_PHRASES[status] ?? (status < 200 ? "Progress" : status < 300 ? "OK" : "Error");
}
