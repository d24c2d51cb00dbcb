import countries from "i18n-iso-countries";
import { Metadata, parsePhoneNumberFromString } from "libphonenumber-js";

/** The derived, read-only fields of a DID. */
export interface PhoneFormats {
  /** ISO 3166-1 alpha-3, null when the number belongs to no known country. */
  readonly countryCode: string | null;
  /** National format, e.g. `(516) 206-5919`; the digits when unknown. */
  readonly inCountryFormat: string;
  /** International format, e.g. `+1 516-206-5919`; `+` and the digits when unknown. */
  readonly internationalFormat: string;
}

/**
 * Digits of a phone number as the reference stores it (E.164 without `+`): spaces,
 * dashes, dots, parentheses and one leading `+` are dropped. Null when anything else
 * remains or the length is not 1 to 15 digits.
 * @example normalizePhoneNumber("+1 (516) 206-5919") // "15162065919"
 */
export function normalizePhoneNumber(input: string): string | null {
  const digits = input
    .trim()
    .replace(/^\+/, "")
    .replace(/[\s().-]/g, "");
  return /^[0-9]{1,15}$/.test(digits) ? digits : null;
}

// libphonenumber-js's public formatters rewrite every international separator to a
// space ("+1 516 206 5919"); the reference shows Google libphonenumber's INTERNATIONAL
// format ("+1 516-206-5919"), which applies the metadata's intlFormat as is. These are
// the members of its (untyped) metadata objects used to do the same.
interface FormatRule {
  pattern(): string;
  leadingDigitsPatterns(): string[];
  internationalFormat(): string;
  format(): string;
}
interface PlanWithFormats {
  formats(): FormatRule[];
}

function internationalDigits(country: string, nationalNumber: string): string | null {
  const metadata = new Metadata() as Metadata & { numberingPlan?: PlanWithFormats };
  metadata.selectNumberingPlan(country as Parameters<Metadata["selectNumberingPlan"]>[0]);
  const rules = metadata.numberingPlan?.formats() ?? [];
  const rule = rules.find((f) => {
    const leading = f.leadingDigitsPatterns();
    const last = leading[leading.length - 1];
    if (last !== undefined && nationalNumber.search(new RegExp(last)) !== 0) return false;
    return new RegExp(`^(?:${f.pattern()})$`).test(nationalNumber);
  });
  if (!rule) return null;
  const intl = rule.internationalFormat();
  return nationalNumber.replace(new RegExp(rule.pattern()), intl === "NA" ? rule.format() : intl);
}

/**
 * Country and display formats of a normalized number, derived with libphonenumber-js
 * (country) and i18n-iso-countries (alpha-2 -> alpha-3).
 * @example formatPhoneNumber("15162065919") // { countryCode: "USA", inCountryFormat: "(516) 206-5919", internationalFormat: "+1 516-206-5919" }
 */
export function formatPhoneNumber(digits: string): PhoneFormats {
  const parsed = parsePhoneNumberFromString(`+${digits}`);
  if (!parsed) return { countryCode: null, inCountryFormat: digits, internationalFormat: `+${digits}` };
  const country = parsed.country ?? null;
  const intlBody = country ? internationalDigits(country, parsed.nationalNumber) : null;
  return {
    countryCode: country ? (countries.alpha2ToAlpha3(country) ?? null) : null,
    inCountryFormat: parsed.formatNational(),
    internationalFormat: intlBody ? `+${parsed.countryCallingCode} ${intlBody}` : parsed.formatInternational(),
  };
}
