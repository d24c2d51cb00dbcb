/**
 * Zod schemas shared by the routes, from which the OpenAPI document is generated: the
 * error bodies, the list envelope, the query parameters, and the call-flow attributes
 * (driven by the attribute table of `@conf/call-flow`, so docs and validation agree).
 */
import { ATTRIBUTE_KEYS, ATTRIBUTES, type AttributeKey, checkValue } from "@conf/call-flow";
import { z } from "@hono/zod-openapi";

export const ErrorItemSchema = z
  .object({
    field: z.string().nullable().openapi({ example: "name" }),
    message: z.string().openapi({ example: "must be a string" }),
    reference_sid: z.string().nullable().openapi({ example: null }),
  })
  .openapi("ErrorItem");

export const ErrorSchema = z
  .object({
    message: z.string().openapi({ example: "object validation error" }),
    errors: z.array(ErrorItemSchema).nullable(),
  })
  .openapi("Error");

export const BadJsonSchema = z
  .object({
    body: z.object({
      message: z.literal("cannot parse json. Check json for validity"),
      errors: z.null(),
    }),
    status: z.literal(400),
  })
  .openapi("BadJson");

const ERROR_DESCRIPTIONS = {
  400: "Bad request: a bad query parameter (filter, order, limit, offset, fields)",
  401: "Authentication required (missing or wrong credentials)",
  403: "Permission denied",
  404: "No item error: the object does not exist or belongs to another account",
  409: "Conflict (e.g. an access code already used in another meeting room of the account)",
  415: "Unsupported media type: the body must be JSON",
  422: "Object validation error: one entry per invalid field",
} as const;
type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** A 400 of a route that takes a body: a bad query parameter, or the reference's own envelope for unparsable JSON. */
const BadRequestWithBodySchema = z.union([ErrorSchema, BadJsonSchema]);

type ErrorEntry = {
  description: string;
  content: { "application/json": { schema: typeof ErrorSchema | typeof BadRequestWithBodySchema } };
};

/**
 * The `responses` entries of the given error statuses, plus `default`: any other error
 * the server may send on any route (413 body too large, 429 too many failed logins, 500,
 * 503 live store unavailable) has the same error body. A route that lists 415 takes a
 * JSON body, so its 400 may also be the reference's bad-JSON envelope (`BadJson`).
 * @example responses: { 200: ok(MeetingRoomSchema), ...errors(401, 404) }
 */
export function errors<S extends ErrorStatus>(...statuses: S[]) {
  const takesBody = statuses.includes(415 as S);
  const out = {} as Record<S | "default", ErrorEntry>;
  for (const s of statuses) {
    out[s] =
      s === 400 && takesBody
        ? {
            description: `${ERROR_DESCRIPTIONS[400]}; or a body that is not JSON, answered in the reference's own envelope (BadJson)`,
            content: { "application/json": { schema: BadRequestWithBodySchema } },
          }
        : { description: ERROR_DESCRIPTIONS[s], content: { "application/json": { schema: ErrorSchema } } };
  }
  out.default = {
    description:
      "Any other error (413 body too large, 429 too many failed logins, 500, 503 live store unavailable), in the same error body",
    content: { "application/json": { schema: ErrorSchema } },
  };
  return out;
}

/**
 * The 200 body of a route with field filtering: the whole object, or, with
 * `include_fields` / `exclude_fields`, only the fields asked for (the component `name`,
 * every property optional). Lists use it for their items.
 * @example export const MeetingRoomFilteredSchema = fieldFiltered(MeetingRoomSchema, "MeetingRoomFields");
 */
export function fieldFiltered<T extends z.ZodObject>(schema: T, name: string) {
  const cut = schema.partial().openapi(name, {
    description: "The object cut by include_fields or exclude_fields: only the fields asked for",
  });
  return z.union([schema, cut]);
}

/** A 200 JSON response entry. */
export function ok<T extends z.ZodType>(schema: T, description = "OK") {
  return { description, content: { "application/json": { schema } } };
}

/** A JSON request body entry (not required: an empty body is `{}`). */
export function jsonBodyOf<T extends z.ZodType>(schema: T, description: string) {
  return { description, required: false, content: { "application/json": { schema } } };
}

/**
 * The body of a PUT: the reference's PUT "require[s] to send the entire object", so the
 * body is required (an empty or undeclared body is validated as `{}` and refused, where
 * an optional body would reach the handler unvalidated) and so is every field in
 * `required`; a missing one is a 422 entry "field is required", and nothing changes.
 * @example body: putBodyOf(MeetingRoomInputSchema, ["access_codes", "attributes", "did_group_sid", "name"], "MeetingRoomReplace")
 */
export function putBodyOf<T extends z.ZodObject>(schema: T, required: readonly (keyof T["shape"] & string)[], name: string) {
  const mask = Object.fromEntries(required.map((k) => [k, true])) as { [K in keyof T["shape"]]?: true };
  const whole = schema.required(mask as never).openapi(name);
  return {
    description: `The entire object: ${required.join(", ")} are required; read-only fields may be sent with their current value`,
    required: true,
    content: { "application/json": { schema: whole } },
  };
}

const fieldsParam = (name: "include_fields" | "exclude_fields") =>
  z
    .string()
    .optional()
    .openapi({
      param: { name, in: "query" },
      description: `Comma-separated list of fields to ${name === "include_fields" ? "include in" : "exclude from"} the response`,
      example: name === "include_fields" ? "name,attributes" : "attributes",
    });

/** Query of a single object: field filtering. */
export const ObjectQuerySchema = z.object({
  include_fields: fieldsParam("include_fields"),
  exclude_fields: fieldsParam("exclude_fields"),
});

const limitParam = (defaultLimit: number) =>
  z
    .string()
    .optional()
    .openapi({
      param: { name: "limit", in: "query" },
      description: `Items per page, 0 to 1000 (default ${defaultLimit})`,
      example: String(defaultLimit),
    });

/** Query of a list: pagination, result filtering and field filtering. */
export const ListQuerySchema = z.object({
  limit: limitParam(10),
  offset: z
    .string()
    .optional()
    .openapi({ param: { name: "offset", in: "query" }, description: "Items skipped (default 0)", example: "0" }),
  order: z
    .string()
    .optional()
    .openapi({
      param: { name: "order", in: "query" },
      description: "`field`, `field asc` or `field desc`",
      example: "name desc",
    }),
  filter: z
    .string()
    .optional()
    .openapi({
      param: { name: "filter", in: "query" },
      description:
        'Result filter: `field op value` joined by `and`; op is eq, ne, gt, ge, lt, le, like, ilike, in, notin; values bare, "double" or \'single\' quoted; lists as `in ("a", "b")`; keys of attributes as `attributes.<key>`',
      example: 'name like "Sales%" and attributes.conference_language eq EN',
    }),
  include_fields: fieldsParam("include_fields"),
  exclude_fields: fieldsParam("exclude_fields"),
});

/** Query of an operator list (`/core/v2`): as ListQuerySchema, `limit` defaulting to 1000 as the Core samples show. */
export const CoreListQuerySchema = ListQuerySchema.extend({ limit: limitParam(1000) });

/** The query of a PATCH: `nested_objects=replace` replaces nested objects whole (rule 4). */
export const PatchQuerySchema = ObjectQuerySchema.extend({
  nested_objects: z
    .enum(["merge", "replace"])
    .optional()
    .openapi({
      param: { name: "nested_objects", in: "query" },
      description: "`replace`: nested objects (attributes) are replaced whole instead of merged",
    }),
});

/** The list envelope of the reference around `item`. */
export function pageSchema<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      count: z.number().int().openapi({ description: "Items in this response" }),
      has_more: z.boolean().openapi({
        description:
          "Whether matching items exist outside this page (before or after it); true exactly when `pagination` has a link",
      }),
      items: z.array(item),
      limit: z.number().int(),
      offset: z.number().int(),
      pagination: z
        .object({
          next: z
            .string()
            .optional()
            .openapi({ description: "Absolute URL of the items after this page (present when there are any)" }),
          previous: z.string().optional().openapi({
            description: "Absolute URL of the items before this page (present when there are any; past the end, the last items)",
          }),
        })
        .openapi({
          description:
            "Links to the items outside this page; `{}` exactly when there are none. A `limit=0` page's links carry the default limit.",
        }),
      total: z.number().int().nullable().openapi({ description: "Items matching in all (null for uncountable objects)" }),
    })
    .openapi(name);
}

function attributeDoc(key: AttributeKey) {
  const spec = ATTRIBUTES[key];
  const values = "values" in spec && spec.values ? ` (${spec.values.join(" / ")})` : "";
  return {
    description: `${spec.meaning}${values}. Kind: ${spec.kind}; default ${JSON.stringify(spec.default)}.`,
    example: spec.default,
  };
}

const attributeShape = <T extends z.ZodType>(make: (key: AttributeKey) => T) =>
  Object.fromEntries(ATTRIBUTE_KEYS.map((k) => [k, make(k).openapi(attributeDoc(k))])) as Record<AttributeKey, T>;

/** Every attribute with its value (the Call Flow object's `attributes`). */
export const AttributesSchema = z.object(attributeShape(() => z.string())).openapi("Attributes");

/** The keys a level overrides (accounts, DID groups, DIDs, meeting rooms). */
export const AttributeOverridesSchema = z
  .object(attributeShape(() => z.string().optional()))
  .openapi("AttributeOverrides", { description: "Call-flow attributes overridden at this level (only the keys set)" });

/**
 * Attributes in a request body: known keys only, each value checked by the attribute
 * table (so every bad field of a body is reported in one 422); `null` removes a key in
 * a PATCH.
 */
export const AttributesInputSchema = z
  .strictObject(
    attributeShape((key) =>
      z
        .string({ error: "must be a string (or null to remove the key)" })
        .superRefine((value, ctx) => {
          const why = checkValue(ATTRIBUTES[key], value);
          if (why) ctx.addIssue({ code: "custom", message: why });
        })
        .nullable()
        .optional(),
    ),
  )
  .openapi("AttributesInput");

/** A SID path parameter (any string: an unknown SID is a 404, not a validation error). */
export function sidParam<N extends string>(name: N, example: string) {
  return z.object({
    [name]: z.string().openapi({ param: { name, in: "path" }, example }),
  } as Record<N, z.ZodString>);
}
