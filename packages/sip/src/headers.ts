/**
 * The pieces of a SIP header section (RFC 3261 section 25): character classes, header
 * names (compact and canonical forms, which are lists), quoting and parameters, URIs,
 * name-addr, Via and CSeq. Used by the message parser and by whoever builds headers.
 * Every parser returns a `ParseResult`, never throws.
 */
import type { CSeq, NameAddr, Params, ParseResult, SipUri, TelUri, Uri, Via } from "./syntax.ts";

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

export function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

export function isWs(c: number): boolean {
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
export const LIST_HEADERS = new Set([
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
export const SINGLE_HEADERS = ["call-id", "cseq", "from", "to", "max-forwards", "content-length", "content-type"];

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
      const words = value
        .slice(sc.pos, lt)
        .trim()
        .split(/[ \t]+/);
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

export const DATE_RE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$/;
