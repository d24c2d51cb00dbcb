/**
 * The reference's error bodies, and the one error class the routes throw. `app.onError`
 * turns an `ApiError` into its status and body; everything else becomes a 500.
 */

/** One entry of an error body's `errors` list, as the reference spells it. */
export interface ErrorItem {
  readonly field: string | null;
  readonly message: string;
  readonly reference_sid: string | null;
}

/** The usual error body: `{message, errors: [{field, message, reference_sid}]}`. */
export interface ErrorBody {
  readonly message: string;
  readonly errors: readonly ErrorItem[] | null;
}

/** An expected failure with the exact status and JSON body the reference answers. */
export class ApiError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503;
  readonly body: unknown;
  /** Response headers the error carries (Retry-After of a 429). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: ApiError["status"], body: unknown, message?: string, headers: Record<string, string> = {}) {
    super(message ?? (isErrorBody(body) ? body.message : `HTTP ${status}`));
    this.name = "ApiError";
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

function isErrorBody(body: unknown): body is ErrorBody {
  return typeof body === "object" && body !== null && typeof (body as ErrorBody).message === "string";
}

/** An error item; `field` null and no reference by default. */
export function item(field: string | null, message: string, referenceSid: string | null = null): ErrorItem {
  return { field, message, reference_sid: referenceSid };
}

/**
 * 400 for a body that is not valid JSON, in the reference's own (different) envelope.
 * @example throw badJson() // {"body":{"message":"cannot parse json. Check json for validity","errors":null},"status":400}
 */
export function badJson(): ApiError {
  return new ApiError(
    400,
    { body: { message: "cannot parse json. Check json for validity", errors: null }, status: 400 },
    "cannot parse json",
  );
}

/** 400 for a bad query parameter (filter, order, limit ...), naming the parameter. */
export function badRequest(field: string | null, message: string): ApiError {
  return new ApiError(400, { message: "bad request", errors: [item(field, message)] });
}

/** 401 for a missing or wrong credential (the same body either way, so logins cannot be probed). */
export function unauthorized(): ApiError {
  return new ApiError(401, {
    message: "authentication required",
    errors: [item("cause", "authentication required")],
  });
}

/** 403 for an authenticated caller who may not use this route. */
export function forbidden(): ApiError {
  return new ApiError(403, { message: "permission denied", errors: [item("cause", "permission denied")] });
}

/**
 * 404 `no item error` naming the object kind, the same for a missing SID and for another
 * account's SID.
 * @example throw notFound("meeting room") // "cannot find meeting room"
 */
export function notFound(object: string): ApiError {
  return new ApiError(404, { message: "no item error", errors: [item(null, `cannot find ${object}`)] });
}

/** 409 with the conflicting field and, where known, the SID of the object in the way. */
export function conflict(errors: readonly ErrorItem[]): ApiError {
  return new ApiError(409, { message: "conflict", errors });
}

/**
 * 413 for a body over the limit (API_MAX_BODY_BYTES).
 * @example throw payloadTooLarge(1048576) // "the request body must be at most 1048576 bytes"
 */
export function payloadTooLarge(maxBytes: number): ApiError {
  return new ApiError(413, {
    message: "payload too large",
    errors: [item("body", `the request body must be at most ${maxBytes} bytes`)],
  });
}

/**
 * 429 after too many failed logins, with Retry-After in whole seconds.
 * @example throw tooManyRequests(42) // Retry-After: 42
 */
export function tooManyRequests(retryAfterSeconds: number): ApiError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new ApiError(
    429,
    { message: "too many requests", errors: [item("cause", `too many failed logins; retry after ${seconds} seconds`)] },
    "too many requests",
    { "Retry-After": String(seconds) },
  );
}

/** 415 for a request body that is not declared as JSON. */
export function unsupportedMediaType(): ApiError {
  return new ApiError(415, {
    message: "unsupported media type",
    errors: [item("Content-Type", "the request body must be JSON (Content-Type: application/json)")],
  });
}

/** 422 `object validation error` with one item per invalid field. */
export function invalid(errors: readonly ErrorItem[]): ApiError {
  return new ApiError(422, { message: "object validation error", errors });
}

/** 422 for a single field. */
export function invalidField(field: string, message: string): ApiError {
  return invalid([item(field, message)]);
}

/** The body of an unexpected failure; details go to the log, not to the client. */
export function internalError(): ApiError {
  return new ApiError(500, { message: "internal server error", errors: [item(null, "internal server error")] });
}

/**
 * 503 when a backing service (the live session store) did not answer in time: the
 * request may be retried, unlike a 500.
 */
export function serviceUnavailable(): ApiError {
  return new ApiError(503, {
    message: "service unavailable",
    errors: [item(null, "the live session store did not answer; try again later")],
  });
}

/** A repository's expected failure (structurally `DbError` of `@conf/db`). */
export interface RepoError {
  readonly kind: "not_found" | "conflict" | "invalid";
  readonly message: string;
  readonly errors?: readonly { readonly field: string; readonly message: string; readonly referenceSid?: string }[];
}

/** The reference's error for a repository failure: 404, 409 or 422. */
export function fromRepoError(e: RepoError): ApiError {
  if (e.kind === "not_found") {
    return new ApiError(404, { message: "no item error", errors: [item(null, e.message)] });
  }
  const items = (e.errors?.length ? e.errors : [{ field: null, message: e.message }]).map((x) =>
    item(x.field, x.message, "referenceSid" in x ? (x.referenceSid ?? null) : null),
  );
  return e.kind === "conflict" ? conflict(items) : invalid(items);
}

/**
 * The value of a repository result, or the reference's error thrown for `app.onError`.
 * @example const room = unwrap(await repos.meetingRooms.get(accountSid, sid));
 */
export function unwrap<T>(r: { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: RepoError }): T {
  if (r.ok) return r.value;
  throw fromRepoError(r.error);
}
