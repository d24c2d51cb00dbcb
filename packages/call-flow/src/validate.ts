import { ATTRIBUTES, type AttributeKey, type AttributeOverrides, type AttributeSpec, isAttributeKey } from "./attributes.ts";

/** A validation failure that names the offending key, as the API's 422 body wants it. */
export interface AttributeError {
  /** `attributes.<key>`, or `attributes` for the object itself. */
  readonly field: string;
  readonly message: string;
}

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

const KEYS_RE = /^[0-9*#]{1,4}$/;
const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SECONDS_MAX = 86_400;
const SIP_ADDR_RE = /^(sips?:)?[^@\s:;]+@[A-Za-z0-9.-]+(:\d{1,5})?$/;
const LANGUAGE_RE = /^[A-Za-z]{2}$/;
const TEXT_MAX = 256;

/** Why `value` is not a valid value for an attribute of `spec`, or null when it is. */
export function checkValue(spec: AttributeSpec, value: string): string | null {
  switch (spec.kind) {
    case "onoff":
      return value === "on" || value === "off" ? null : "must be on or off";
    case "roleset": {
      if (!/^[hpl]*$/.test(value)) return "must be a set of the letters h, p and l";
      return new Set(value).size === value.length ? null : "must not repeat a role letter";
    }
    case "keys":
      return KEYS_RE.test(value) ? null : "must be 1 to 4 keypad characters of 0-9, * and #";
    case "seconds": {
      if (!/^\d{1,6}$/.test(value)) return "must be a whole number of seconds";
      return Number(value) <= SECONDS_MAX ? null : `must be at most ${SECONDS_MAX} seconds`;
    }
    case "enum":
      return spec.values?.includes(value) ? null : `must be one of ${spec.values?.join(", ")}`;
    case "name":
      return NAME_RE.test(value) ? null : "must be a name of letters, digits, _ and -";
    case "list": {
      const items = value.split(",");
      return items.every((i) => NAME_RE.test(i)) ? null : "must be a comma-separated list of names";
    }
    case "sipaddr":
      return SIP_ADDR_RE.test(value) ? null : "must be a SIP address like user@host[:port]";
    case "text":
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
      if (/[\u0000-\u001f\u007f]/.test(value)) return "must not contain control characters";
      return value.length <= TEXT_MAX ? null : `must be at most ${TEXT_MAX} characters`;
    case "code":
      return LANGUAGE_RE.test(value) ? null : "must be a two-letter language code";
  }
}

/**
 * Validates the overrides one level stores. Every unknown key and every bad value is
 * reported, each naming its key.
 * @example validateOverrides({ conference_entrytones: "off" }) // { ok: true, value: {...} }
 */
export function validateOverrides(input: unknown): Result<AttributeOverrides, AttributeError[]> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, error: [{ field: "attributes", message: "must be an object" }] };
  }
  const errors: AttributeError[] = [];
  const out: AttributeOverrides = {};
  for (const [key, value] of Object.entries(input)) {
    const field = `attributes.${key}`;
    if (!isAttributeKey(key)) {
      errors.push({ field, message: "unknown attribute" });
      continue;
    }
    if (typeof value !== "string") {
      errors.push({ field, message: "must be a string" });
      continue;
    }
    const why = checkValue(ATTRIBUTES[key], value);
    if (why) errors.push({ field, message: why });
    else out[key as AttributeKey] = value;
  }
  return errors.length ? { ok: false, error: errors } : { ok: true, value: out };
}
