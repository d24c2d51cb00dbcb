/**
 * The shapes SIP text parses into (URIs, name-addrs, Via, CSeq, header fields), apart
 * from the parser so that the header-piece parsers and the serializer can name them
 * without importing the message parser.
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
