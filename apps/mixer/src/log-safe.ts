/**
 * Values from the network (SIP headers, Request-URIs, SDP, DTMF, error messages that
 * quote them) reach log lines; a CR or LF in one would forge a log line of its own, and
 * other control characters can drive terminals. Everything printed goes through here.
 */

/** Longest value printed; the rest is cut (a 16 KB header must not flood the log). */
const MAX_LOGGED_CHARS = 256;

// C0, DEL, C1, and the Unicode line and paragraph separators (some log viewers break on them).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function hex(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** Escapes control characters as \xNN (\uNNNN for the Unicode separators); no length cap. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, hex);
}

/**
 * One network-derived value for a log line: control characters escaped, backslashes
 * doubled (so an escape in the log is never ambiguous), at most 256 characters.
 *
 * @example log(`refused ${logSafe(call.dialedNumber)}`)
 */
export function logSafe(value: unknown): string {
  const text = value instanceof Error ? value.message : String(value);
  const cut = text.length > MAX_LOGGED_CHARS ? `${text.slice(0, MAX_LOGGED_CHARS)}...(${text.length} chars)` : text;
  return escapeControl(cut.replaceAll("\\", "\\\\"));
}
