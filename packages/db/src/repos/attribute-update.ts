import type { AttributeOverrides } from "@conf/call-flow";
import type { SQL } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import {
  type AttributesPatch,
  attributesUpdate,
  checkAttributes,
  type DbResult,
  type FieldError,
  type NestedObjects,
} from "./common.ts";

/** What a write does to `attributes`: nothing (left out of a PATCH), store a whole object, or run SQL merging a PATCH in. */
export type AttributesChange = SQL | AttributeOverrides | undefined;

/** How an object with an `attributes` column is updated; see {@link attributeUpdater}. */
export interface AttributeUpdate<Key, Body, Put extends { readonly attributes?: AttributeOverrides }, T> {
  /** The jsonb column of the attributes, which a merging PATCH reads. */
  readonly column: AnyPgColumn;
  /** A PUT body's fields besides `attributes`, those it leaves out at the repository's defaults. */
  putFields(body: Put): Body;
  /**
   * Checks and writes the other fields along with `attributes`. Only with
   * `attributeErrors: "with-fields"` does it run when the attributes are invalid (`change`
   * undefined, `attributeErrors` their 422 entries, to report with its own); otherwise a
   * bad attributes object is answered before it runs.
   */
  write(key: Key, body: Body, change: AttributesChange, attributeErrors: readonly FieldError[]): Promise<DbResult<T>>;
  readonly attributeErrors?: "first" | "with-fields";
}

/** PATCH (`update`) and PUT (`replace`) of one object, by its key (its SID, or its account's and its own). */
export interface AttributeUpdater<Key, Body, Put, T> {
  update(
    key: Key,
    patch: Body & { readonly attributes?: AttributesPatch },
    options?: { nestedObjects?: NestedObjects },
  ): Promise<DbResult<T>>;
  replace(key: Key, body: Put): Promise<DbResult<T>>;
}

/**
 * The attribute-update code of every repository: a PATCH's attributes merge into the
 * stored ones by the reference's rules (null removes a key) unless `nested_objects=replace`,
 * a PUT stores them whole (none when left out) and its other fields get their defaults;
 * `write` does the rest.
 * @example
 * const updater = attributeUpdater({ column: dids.attributes, putFields: (b) => ({ call_flow_sid: b.call_flow_sid ?? null }), write });
 * await updater.update([accountSid, didSid], { attributes: { conference_language: "DE" } });
 */
export function attributeUpdater<Key, Body, Put extends { readonly attributes?: AttributeOverrides }, T>(
  spec: AttributeUpdate<Key, Body, Put, T>,
): AttributeUpdater<Key, Body, Put, T> {
  const withFields = spec.attributeErrors === "with-fields";

  async function apply(key: Key, body: Body, change: DbResult<AttributesChange>): Promise<DbResult<T>> {
    if (change.ok) return spec.write(key, body, change.value, []);
    return withFields ? spec.write(key, body, undefined, change.error.errors ?? []) : change;
  }

  return {
    async update(key, patch, options = {}) {
      const change =
        patch.attributes === undefined
          ? { ok: true as const, value: undefined }
          : attributesUpdate(spec.column, patch.attributes, options.nestedObjects);
      return apply(key, patch, change);
    },
    async replace(key, body) {
      return apply(key, spec.putFields(body), checkAttributes(body.attributes ?? {}));
    },
  };
}

/**
 * The repositories' `update` and `replace` of objects an account owns, keyed by the
 * account's SID and the object's (the updater's key is the pair).
 * @example return { ...accountUpdates(updater), get, list: pages.ofAccount };
 */
export function accountUpdates<Body, Put, T>(updater: AttributeUpdater<[string, string], Body, Put, T>) {
  return {
    update: (
      accountSid: string,
      sid: string,
      patch: Body & { readonly attributes?: AttributesPatch },
      options?: { nestedObjects?: NestedObjects },
    ) => updater.update([accountSid, sid], patch, options),
    replace: (accountSid: string, sid: string, body: Put) => updater.replace([accountSid, sid], body),
  };
}
