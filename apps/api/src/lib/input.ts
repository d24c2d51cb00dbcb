/**
 * Strings from the client, checked at the edge before any of them reaches a database,
 * Redis or a log: no control characters (Postgres refuses NUL in text, a CR/LF can
 * forge a log line or a SIP header) and no lone UTF-16 surrogates (Redis' cjson and
 * Postgres' UTF-8 refuse them). Every path segment, query parameter, JSON key and
 * JSON string value is checked; a bad one is a 4xx in the reference's shape naming
 * where it was, never a 500.
 */
import type { MiddlewareHandler } from "hono";
import { badRequest, invalid, item, type ErrorItem } from "./errors.ts";

const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why a client string is refused, or null when it is fine.
 * @example badString("a\u0000b") // "must not contain control characters"
 */
export function badString(s: string): string | null {
  if (CONTROL_RE.test(s)) return "must not contain control characters";
  if (!s.isWellFormed()) return "must be valid Unicode text (no lone surrogates)";
  return null;
}

/**
 * The problems of every key and string of a parsed JSON value, one per bad string,
 * each naming its field (`access_codes[0].access_code`); at most `max` of them. Walks
 * with an explicit stack: a deeply nested body must not overflow the call stack.
 */
export function badJsonStrings(value: unknown, max = 20): ErrorItem[] {
  interface Node {
    readonly v: unknown;
    readonly key: PropertyKey | null;
    readonly parent: Node | null;
  }
  // Parent links, not a path per node: a deep body must not cost depth² to walk.
  const pathOf = (n: Node | null): PropertyKey[] => {
    const path: PropertyKey[] = [];
    for (let at = n; at !== null && at.key !== null; at = at.parent) path.push(at.key);
    return path.reverse();
  };
  const out: ErrorItem[] = [];
  const stack: Node[] = [{ v: value, key: null, parent: null }];
  while (stack.length > 0 && out.length < max) {
    const node = stack.pop() as Node;
    const v = node.v;
    if (typeof v === "string") {
      const why = badString(v);
      if (why) out.push(item(fieldPath(pathOf(node)), why));
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], key: i, parent: node });
    } else if (typeof v === "object" && v !== null) {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i] as [string, unknown];
        const why = badString(k);
        // The key itself cannot be printed safely: name its parent.
        if (why) out.push(item(fieldPath(pathOf(node)), `a key ${why}`));
        else stack.push({ v: child, key: k, parent: node });
      }
    }
  }
  return out;
}

/** Throws the reference's 422 when a parsed body holds a bad string. */
export function checkJsonStrings(body: unknown): void {
  const problems = badJsonStrings(body);
  if (problems.length > 0) throw invalid(problems);
}

/** `access_codes[0].access_code` from a zod path. */
export function fieldPath(path: readonly PropertyKey[]): string | null {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || null;
}

function decodedPath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    // Malformed percent-encoding is the router's business (it keeps it as is).
    return pathname;
  }
}

/**
 * Middleware for every request: the path and each query parameter (name and value)
 * are checked; a bad one is a 400 naming the parameter (or `path`).
 */
export function checkRequestStrings(): MiddlewareHandler {
  return async function checkRequestStringsMiddleware(c, next) {
    const url = new URL(c.req.url);
    const pathProblem = badString(decodedPath(url.pathname));
    if (pathProblem) throw badRequest("path", pathProblem);
    for (const [name, value] of url.searchParams) {
      const nameProblem = badString(name);
      if (nameProblem) throw badRequest(null, `a query parameter name ${nameProblem}`);
      const valueProblem = badString(value);
      if (valueProblem) throw badRequest(name, valueProblem);
    }
    await next();
  };
}
