/**
 * SIP message serialization (RFC 3261 section 7) and the standard reason phrases.
 */
import { canonicalHeaderName, normalizeHeaderName } from "./headers.ts";
import type { HeaderField } from "./syntax.ts";

const decoder = new TextDecoder("utf-8");
const encoder = new TextEncoder();

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

/** What `serializeMessage` reads of a parsed message (a `SipMessage` is one). */
export type SerializableMessage =
  | { kind: "request"; method: string; uri: string; headers: { fields: readonly HeaderField[] }; body: Uint8Array }
  | { kind: "response"; status: number; reason: string; headers: { fields: readonly HeaderField[] }; body: Uint8Array };

/** Serializes a parsed message again (header values as parsed, one line per list value). */
export function serializeMessage(msg: SerializableMessage): Uint8Array {
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
