/**
 * Turning what arrives on the wire into lookup keys. A Request-URI user part is
 * usually plain digits, but carriers and softphones send `+1 (516) 206-5919`,
 * `tel:+15162065919;phone-context=...`, `%2B15162065919` and whole `sip:` URIs.
 */

/** The longest dialed number we look up; longer input is refused without a lookup. */
export const MAX_DIALED_DIGITS = 32;

/** The longest access code we look up; longer input is refused without a lookup. */
export const MAX_CODE_LENGTH = 64;

/** Ad-hoc meeting keys (the `open` flow) are keypad input only, at most this long. */
export const MAX_ADHOC_CODE_LENGTH = 32;

// Visual separators allowed in a tel URI number (RFC 3966) and spaces; anything else
// (letters, `*`, `#`) means this is not a phone number we route.
const DIALED_RE = /^\+?[0-9\s().-]+$/;
const ADHOC_CODE_RE = /^[0-9*]+$/;

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    // A stray `%` is not worth refusing the call for; look at the text as sent.
    return s;
  }
}

/**
 * The digits of a dialed number, or `""` when the input is not a phone number.
 * Strips a `sip:`/`sips:`/`tel:` scheme, everything from `@`, `;` or `?` on, a leading
 * `+` and visual separators.
 * @example normalizeDialed("tel:+1-516-206-5919;phone-context=example.com") // "15162065919"
 */
export function normalizeDialed(raw: string): string {
  let s = percentDecode(raw.trim());
  s = s.replace(/^(sips?|tel):/i, "");
  const cut = s.search(/[@;?]/);
  if (cut >= 0) s = s.slice(0, cut);
  s = s.trim();
  if (!DIALED_RE.test(s)) return "";
  const digits = s.replace(/[^0-9]/g, "");
  return digits.length <= MAX_DIALED_DIGITS ? digits : "";
}

/**
 * An entered access code as a lookup key, or `""` when it cannot be one: surrounding
 * whitespace and one trailing `#` (the keypad's "done" key) are removed.
 * @example normalizeCode(" 890671# ") // "890671"
 */
export function normalizeCode(raw: string): string {
  let s = raw.trim();
  if (s.endsWith("#")) s = s.slice(0, -1);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  if (s.length === 0 || s.length > MAX_CODE_LENGTH || /[\s\u0000-\u001f\u007f]/.test(s)) return "";
  return s;
}

/** Whether a normalized code may key an ad-hoc meeting (keypad digits and `*` only). */
export function isAdhocCode(code: string): boolean {
  return code.length <= MAX_ADHOC_CODE_LENGTH && ADHOC_CODE_RE.test(code);
}
