/**
 * The message the API publishes after a config change so every router instance drops
 * what it cached. One shape for publisher and subscribers, carried as JSON over the
 * session store's `Bus` on {@link invalidationChannel}.
 */

/**
 * The pub/sub channel name for config invalidations.
 * @example bus.publish(invalidationChannel, { kind: "account", accountSid })
 */
export const invalidationChannel = "config:invalidate";

export const INVALIDATION_KINDS = ["all", "account"] as const;
export type InvalidationKind = (typeof INVALIDATION_KINDS)[number];

/**
 * What changed.
 * - `account`: anything of that account (its attributes or call flow, a DID group, a
 *   DID added, moved or removed, a prefix, a meeting room or access code). Drops the
 *   account's access-code lookups and every number lookup (a DID or prefix may have
 *   moved between accounts, or a refused number may now exist). A DID moved from one
 *   account to another needs only one of the two.
 * - `all`: drop everything (e.g. after a restore, or a message we could not read).
 * @example const scope: Invalidation = { kind: "account", accountSid: "0b1c..." };
 */
export type Invalidation = { readonly kind: "all" } | { readonly kind: "account"; readonly accountSid: string };

/**
 * Reads an invalidation from untrusted input (a pub/sub payload, parsed or not).
 * Anything unreadable becomes `{ kind: "all" }`: dropping too much costs a few
 * lookups, dropping too little routes a call by stale config.
 * @example parseInvalidation('{"kind":"account","accountSid":"a1"}') // { kind: "account", accountSid: "a1" }
 */
export function parseInvalidation(input: unknown): Invalidation {
  let v = input;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      return { kind: "all" };
    }
  }
  if (typeof v === "object" && v !== null && "kind" in v) {
    const o = v as { kind: unknown; accountSid?: unknown };
    if (o.kind === "account" && typeof o.accountSid === "string" && o.accountSid.length > 0) {
      return { kind: "account", accountSid: o.accountSid };
    }
  }
  return { kind: "all" };
}
