/**
 * The one failure callers must tell apart from a bug: the backing store did not answer
 * (Redis down, frozen, or slower than the command timeout). The API answers it with 503
 * and the mixer carries on mixing; a bug (a malformed input, a script error) stays what
 * it is.
 */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`session-store: the store is unavailable (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
    this.name = "StoreUnavailableError";
  }
}

/**
 * Whether an ioredis failure means "no answer" rather than "a wrong command": timeouts,
 * a closed or unwritable connection, retries given up, network errors, and the replies
 * of a server that cannot serve right now (LOADING, BUSY, MASTERDOWN, TRYAGAIN).
 */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === "MaxRetriesPerRequestError") return true;
  if ("code" in err && typeof err.code === "string" && /^E[A-Z]+$/.test(err.code)) return true;
  return /^(Command timed out|Connection is closed|Stream isn't writeable|LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|connect ETIMEDOUT)/.test(
    err.message,
  );
}

/** Rethrows a Redis client failure as {@link StoreUnavailableError} when it means no answer. */
export function rethrowUnavailable(err: unknown): never {
  throw isUnavailable(err) ? new StoreUnavailableError(err) : err;
}
