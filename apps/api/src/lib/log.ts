/**
 * What the API writes to its log about an unexpected error: one JSON line naming the
 * route and the error's kind, never the request's query, body or credentials, and
 * never a failed query's parameters (drizzle puts them in its error message; one of
 * them was an argon2 hash). Every control character is escaped, so a client string in
 * a message cannot start a forged log line.
 */
import type { Context } from "hono";

const MAX_MESSAGE = 300;
const MAX_FRAMES = 8;
const MAX_CAUSES = 3;

/** Secrets that could sit in a message: argon2 hashes, Authorization values. */
function redactSecrets(s: string): string {
  return s
    .replace(/\$argon2[a-z]*\$[^\s"',)]*/gi, "[redacted hash]")
    .replace(/\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]+/gi, "$1 [redacted]");
}

/** A database message without the values it quotes (`invalid input syntax for type uuid: "x"`). */
function redactQuoted(s: string): string {
  return s.replace(/"[^"]*"|'[^']*'/g, '"…"');
}

function cut(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}…` : s;
}

/** The `at ...` lines of a stack (its first line repeats the message, which may hold values). */
function frames(stack: unknown): string[] {
  if (typeof stack !== "string") return [];
  return stack
    .split("\n")
    .filter((l) => /^\s+at\s/.test(l))
    .slice(0, MAX_FRAMES)
    .map((l) => redactSecrets(l.trim()));
}

interface ErrorRecord {
  name: string;
  code?: string;
  message?: string;
  query?: string;
  stack?: string[];
  cause?: ErrorRecord;
}

/** A loggable description of an error and its causes, free of parameters and secrets. */
export function describeError(err: unknown, depth = 0): ErrorRecord {
  if (typeof err !== "object" || err === null) return { name: typeof err };
  const e = err as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    query?: unknown;
    params?: unknown;
    stack?: unknown;
    cause?: unknown;
  };
  const name = typeof e.name === "string" ? e.name : (err.constructor?.name ?? "Object");
  const out: ErrorRecord = { name };
  if (typeof e.code === "string") out.code = e.code;
  // drizzle's query error: the SQL text (placeholders only) is useful, its message
  // carries the parameters and is dropped.
  const isQueryError = typeof e.query === "string" && "params" in e;
  if (isQueryError) out.query = cut(e.query as string);
  else if (typeof e.message === "string") {
    // A database's own message quotes values; keep its wording, not the values.
    const dbError = typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code);
    out.message = cut(redactSecrets(dbError ? redactQuoted(e.message) : e.message));
  }
  const stack = frames(e.stack);
  if (stack.length) out.stack = stack;
  if (e.cause !== undefined && depth < MAX_CAUSES) out.cause = describeError(e.cause, depth + 1);
  return out;
}

/**
 * JSON with every control character escaped: JSON.stringify escapes C0 but leaves DEL,
 * C1 and the line/paragraph separators, which some terminals and log viewers honour.
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * The log line of an unexpected error in a request: method, path (never the query
 * string) and the described error.
 * @example log(unexpectedErrorLine(err, c)) // {"msg":"api: unexpected error","method":"GET","path":"/conference/v2/accounts",...}
 */
export function unexpectedErrorLine(err: unknown, c: Context): string {
  return safeJson({ msg: "api: unexpected error", ...unexpectedErrorRecord(err, c) });
}

/** The fields of {@link unexpectedErrorLine}, for a logger that writes the record itself. */
export function unexpectedErrorRecord(
  err: unknown,
  c: Context,
): { method: string; path: string; error: ReturnType<typeof describeError> } {
  return { method: c.req.method, path: c.req.path, error: describeError(err) };
}
