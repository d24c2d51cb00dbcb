import type { DbResult, NestedObjects } from "@conf/db";
import { createRoute, type OpenAPIHono, type z } from "@hono/zod-openapi";
import type { AppEnv, Services } from "../lib/context.ts";
import { unwrap } from "../lib/errors.ts";
import { selectOne } from "../lib/listing.ts";
import { errors, jsonBodyOf, ObjectQuerySchema, ok, PatchQuerySchema, putBodyOf } from "../lib/openapi.ts";
import { checkReadOnly, pickUpdatable } from "../lib/patch.ts";

type ErrorStatus = Parameters<typeof errors>[number];

/** The scoped writes of a repository (DID groups, DIDs, meeting rooms). */
interface WritableRepo {
  get(accountSid: string, sid: string): Promise<DbResult<object>>;
  update(accountSid: string, sid: string, patch: never, options: { nestedObjects: NestedObjects }): Promise<DbResult<object>>;
  replace(accountSid: string, sid: string, body: never): Promise<DbResult<object>>;
}

/** What the PUT and PATCH of one kind of account-owned object are made of; see {@link registerObjectWrites}. */
export interface ObjectWrites<Input extends z.ZodObject> {
  /** The object's name in operationIds (`updateDidGroup`, `replaceDidGroup`) and in the PUT body schema's (`DidGroupReplace`). */
  readonly name: string;
  readonly path: string;
  readonly tag: string;
  /** The path parameter naming the object. */
  readonly sidParam: string;
  readonly repo: (repos: Services["repos"]) => WritableRepo;
  readonly params: z.ZodObject;
  readonly input: Input;
  readonly filtered: z.ZodType;
  readonly fields: readonly string[];
  readonly readOnly: readonly string[];
  readonly updatable: readonly string[];
  readonly errorStatuses: readonly ErrorStatus[];
  /** The 200 answer's description, the same for both methods. */
  readonly updated: string;
  readonly patch: { readonly summary: string; readonly description: string };
  /** `required`: every updatable field, as the reference's PUT takes the entire object. */
  readonly put: {
    readonly summary: string;
    readonly description: string;
    readonly required: readonly (keyof Input["shape"] & string)[];
  };
}

/**
 * PATCH and PUT of an account-owned object: the same handler but for the method, the
 * body schema and the patch rule. Both check the read-only fields against the stored
 * object first, keep the updatable ones and publish the account's change. PATCH merges
 * nested objects unless `?nested_objects=replace`; PUT replaces them, as the entire
 * object is sent.
 */
export function registerObjectWrites<Input extends z.ZodObject>(app: OpenAPIHono<AppEnv>, spec: ObjectWrites<Input>): void {
  // The two routes differ in the method, the query (PATCH's `nested_objects`) and the body schema only.
  const route = <M extends "patch" | "put">(
    method: M,
    verb: string,
    text: { summary: string; description: string },
    request: object,
  ) =>
    createRoute({
      method,
      operationId: `${verb}${spec.name}`,
      path: spec.path,
      tags: [spec.tag],
      summary: text.summary,
      description: text.description,
      security: [{ basicAuth: [] }],
      request: { params: spec.params, ...request },
      responses: { 200: ok(spec.filtered, spec.updated), ...errors(...spec.errorStatuses) },
    });
  const patchRoute = route("patch", "update", spec.patch, {
    query: PatchQuerySchema,
    body: jsonBodyOf(spec.input, "The fields to change"),
  });
  const putRoute = route("put", "replace", spec.put, {
    query: ObjectQuerySchema,
    body: putBodyOf(spec.input, spec.put.required, `${spec.name}Replace`),
  });

  for (const route of [patchRoute, putRoute]) {
    const replace = route === putRoute;
    // The routes' types are generic in `spec`, so hono cannot narrow what `valid` returns.
    app.openapi(route, (async (c: Parameters<Parameters<typeof app.openapi>[1]>[0]) => {
      const { accountSid } = c.var.principal;
      const sid = (c.req.valid("param" as never) as Record<string, string>)[spec.sidParam]!;
      const query = c.req.valid("query" as never) as { nested_objects?: NestedObjects };
      const body = c.req.valid("json" as never) as object;
      const repo = spec.repo(c.var.services.repos);
      checkReadOnly(body, unwrap(await repo.get(accountSid, sid)), spec.readOnly);
      const mode = replace ? "replace" : (query.nested_objects ?? "merge");
      const fields = pickUpdatable(body, spec.updatable, mode === "replace") as never;
      const object = unwrap(
        await (replace ? repo.replace(accountSid, sid, fields) : repo.update(accountSid, sid, fields, { nestedObjects: mode })),
      );
      await c.var.services.publish({ kind: "account", accountSid });
      return c.json(selectOne(c, object, spec.fields), 200);
    }) as never);
  }
}
