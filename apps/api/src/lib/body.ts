/**
 * Request bodies: JSON only. A body declared as something else (or not declared) is a
 * 415; JSON that does not parse is the reference's 400. Validation failures of the zod
 * schemas become the reference's 422, one entry per field.
 */
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { ZodError } from "zod";
import { badJson, badRequest, type ErrorItem, invalid, item, type ApiError, unsupportedMediaType } from "./errors.ts";
import { checkJsonStrings, fieldPath } from "./input.ts";

export { fieldPath };

const JSON_TYPE_RE = /^application\/([a-z0-9.+-]+\+)?json\s*(;.*)?$/i;

/** Whether a Content-Type header declares JSON (`application/json`, `application/*+json`, with parameters). */
export function isJsonContentType(header: string | undefined): boolean {
  return header !== undefined && JSON_TYPE_RE.test(header.trim());
}

/** Hono variables set by {@link jsonBody}. */
export interface BodyVariables {
  /** The parsed JSON body of a POST, PUT or PATCH (`{}` for an empty undeclared body). */
  body: unknown;
}

/**
 * Middleware for write methods: checks the media type and parses the JSON once, before
 * the route's validators (which read the same cached body). An empty body without a
 * Content-Type counts as `{}` (a `curl -X POST` without data); an empty body declared
 * as JSON is not JSON and is a 400.
 */
export function jsonBody(): MiddlewareHandler<{ Variables: BodyVariables }> {
  return async function jsonBodyMiddleware(c, next) {
    const method = c.req.method;
    if (method !== "POST" && method !== "PUT" && method !== "PATCH") return next();
    // No route takes this method and path: let it be the 404 it is, whatever the body.
    if (!matchedRoutes(c).some((r) => r.method !== "ALL")) return next();
    const type = c.req.header("content-type");
    const text = await c.req.text();
    if (type === undefined || type.trim() === "") {
      if (text.trim() !== "") throw unsupportedMediaType();
      c.set("body", {});
      // Later validators parse JSON from the cached text; give them the empty object.
      c.req.bodyCache.json = Promise.resolve({});
      return next();
    }
    if (!isJsonContentType(type)) throw unsupportedMediaType();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw badJson();
    }
    checkJsonStrings(body);
    c.set("body", body);
    await next();
  };
}

function article(expected: string): string {
  if (expected === "object" || expected === "array" || expected === "integer") return `an ${expected}`;
  return `a ${expected}`;
}

/** A size limit's message: "must be at most 10", or "... characters" for a string's length. */
function bound(which: "at most" | "at least", limit: number | bigint, origin: string): string {
  return origin === "string" ? `must be ${which} ${limit} characters` : `must be ${which} ${limit}`;
}

/** Whether `path` names a key that its (object) parent in `data` does not have. */
function isAbsent(data: unknown, path: readonly PropertyKey[]): boolean {
  if (path.length === 0) return false;
  let parent: unknown = data;
  for (const key of path.slice(0, -1)) {
    if (typeof parent !== "object" || parent === null) return false;
    parent = (parent as Record<PropertyKey, unknown>)[key];
  }
  if (typeof parent !== "object" || parent === null || Array.isArray(parent)) return false;
  return !Object.hasOwn(parent, path[path.length - 1]!);
}

/**
 * One 422 entry per problem, each naming its field. With `data` (what was validated), a
 * required key that is absent says so instead of naming the type it should have.
 */
export function zodIssuesToItems(error: ZodError, data?: unknown): ErrorItem[] {
  const out: ErrorItem[] = [];
  for (const issue of error.issues) {
    const field = fieldPath(issue.path);
    if (data !== undefined && issue.code === "invalid_type" && field !== null && isAbsent(data, issue.path)) {
      out.push(item(field, "field is required"));
      continue;
    }
    switch (issue.code) {
      case "unrecognized_keys":
        for (const key of issue.keys) {
          const f = fieldPath([...issue.path, key]);
          out.push(item(f, field === "attributes" ? "unknown attribute" : "unknown field"));
        }
        break;
      case "invalid_type": {
        if (field === null) {
          out.push(item(null, "the body must be a JSON object"));
          break;
        }
        const custom = issue.message.startsWith("Invalid input") ? null : issue.message;
        out.push(item(field, custom ?? `must be ${article(issue.expected)}`));
        break;
      }
      case "invalid_value":
        out.push(
          item(
            field,
            issue.message.startsWith("Invalid") ? `must be one of ${issue.values.map(String).join(", ")}` : issue.message,
          ),
        );
        break;
      case "too_big":
        out.push(item(field, bound("at most", issue.maximum, issue.origin)));
        break;
      case "too_small":
        out.push(item(field, bound("at least", issue.minimum, issue.origin)));
        break;
      default:
        out.push(item(field, issue.message));
    }
  }
  return out;
}

/**
 * The `defaultHook` of every OpenAPIHono: a failed body is a 422, a failed query a 400.
 * Throws, so `app.onError` writes the response.
 */
export function validationHook(result: { success: boolean; error?: ZodError; target?: string; data?: unknown }): void {
  if (result.success || !result.error) return;
  const items = zodIssuesToItems(result.error, result.data);
  if (result.target === "query" || result.target === "param") {
    const first = items[0];
    throw badRequest(first?.field ?? result.target, first?.message ?? "invalid parameter") as ApiError;
  }
  throw invalid(items);
}
