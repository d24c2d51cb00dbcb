/**
 * DTMF carried in SIP INFO bodies: `application/dtmf-relay` (`Signal=5\r\nDuration=160`)
 * and `application/dtmf` (the digit alone), as sent by many phones and trunks.
 */

/** Content types of INFO bodies that carry a DTMF digit. */
export const DTMF_INFO_TYPES = ["application/dtmf-relay", "application/dtmf"] as const;
export type DtmfInfoType = (typeof DTMF_INFO_TYPES)[number];

export type DtmfInfo = { ok: true; digit: string; durationMs: number } | { ok: false; reason: string };

/** RFC 4733 event codes 10-15 as some devices send them in `Signal=`. */
const EVENT_DIGITS = ["*", "#", "A", "B", "C", "D"] as const;

function normalizeDigit(raw: string): string | null {
  const s = raw.trim().toUpperCase();
  if (/^[0-9*#A-D]$/.test(s)) return s;
  if (/^1[0-5]$/.test(s)) return EVENT_DIGITS[Number(s) - 10] ?? null;
  return null;
}

/**
 * Reads the digit (and duration in ms; 0 when the body gives none) from an INFO body.
 *
 * @example parseDtmfInfo("application/dtmf-relay", "Signal=5\r\nDuration=160") // { ok: true, digit: "5", durationMs: 160 }
 */
export function parseDtmfInfo(contentType: DtmfInfoType, body: string): DtmfInfo {
  if (contentType === "application/dtmf") {
    const digit = normalizeDigit(body);
    return digit === null ? { ok: false, reason: "bad application/dtmf body" } : { ok: true, digit, durationMs: 0 };
  }
  let digit: string | null = null;
  let durationMs = 0;
  for (const line of body.split(/\r?\n/)) {
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    if (key === "signal") digit = normalizeDigit(value);
    else if (key === "duration" && /^[0-9]{1,6}$/.test(value)) durationMs = Number(value);
  }
  return digit === null
    ? { ok: false, reason: "no valid Signal in application/dtmf-relay body" }
    : { ok: true, digit, durationMs };
}
