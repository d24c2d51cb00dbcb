/**
 * One Server-Sent Events stream of an account's public events: what the log kept after
 * the client's last id, then what comes. Pull-driven: the next batch is read only when
 * the client has taken the previous one, so a slow client costs a cursor, never a
 * growing buffer (it falls behind in the log, bounded by the log's retention).
 */
import type { EventLog, LoggedEvent } from "@conf/session-store";

/** Events read from the log per step. */
const BATCH = 100;

export interface EventStreamInput {
  readonly log: EventLog;
  readonly accountSid: string;
  /** Resume after this id (Last-Event-ID); null: from the oldest event kept. */
  readonly lastEventId: string | null;
  /** Which events the client wants. */
  readonly accept: (e: LoggedEvent) => boolean;
  /** A comment is sent after this long without an event, ms; the log is also read again then. */
  readonly keepAliveMs: number;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** Called once when the stream ends, however it ends. */
  readonly onClose: () => void;
  /** Where a failure of the log goes (the stream then ends; the client reconnects and resumes). */
  readonly onError: (err: unknown) => void;
}

/**
 * The body of an SSE response (`text/event-stream`).
 * @example return new Response(eventStream({ log, accountSid, lastEventId: null, accept: () => true, keepAliveMs: 15000, signal, onClose, onError }), { headers: SSE_HEADERS });
 */
export function eventStream(input: EventStreamInput): ReadableStream<Uint8Array> {
  const { log, accountSid, accept, keepAliveMs } = input;
  const encoder = new TextEncoder();
  let cursor = input.lastEventId;
  // Read the log at once, then after each notification or keep-alive.
  let pending = true;
  let wake: (() => void) | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  let unwatch: (() => Promise<void>) | null = null;

  const finish = () => {
    if (closed) return;
    closed = true;
    if (timer) clearTimeout(timer);
    wake?.();
    input.signal.removeEventListener("abort", finish);
    unwatch?.().catch(() => {});
    input.onClose();
  };
  input.signal.addEventListener("abort", finish);

  return new ReadableStream<Uint8Array>(
    {
      async start(controller) {
        try {
          unwatch = await log.watch(accountSid, () => {
            pending = true;
            wake?.();
          });
        } catch (err) {
          input.onError(err);
          finish();
          controller.close();
          return;
        }
        if (closed) {
          await unwatch().catch(() => {});
          return;
        }
        // `retry`: how long a browser waits before reconnecting, ms.
        controller.enqueue(encoder.encode("retry: 2000\n: connected\n\n"));
      },
      async pull(controller) {
        while (!closed) {
          if (pending) {
            pending = false;
            let batch: LoggedEvent[];
            try {
              batch = await log.readAfter(accountSid, cursor, BATCH);
            } catch (err) {
              input.onError(err);
              finish();
              controller.close();
              return;
            }
            if (batch.length === BATCH) pending = true;
            let out = "";
            for (const e of batch) {
              cursor = e.id;
              if (accept(e)) out += `id: ${e.id}\nevent: ${e.type}\ndata: ${e.json}\n\n`;
            }
            if (out !== "" && !closed) {
              controller.enqueue(encoder.encode(out));
              return;
            }
            continue;
          }
          const woke = await new Promise<boolean>((resolve) => {
            wake = () => resolve(true);
            timer = setTimeout(() => resolve(false), keepAliveMs);
          });
          wake = null;
          if (timer) clearTimeout(timer);
          timer = null;
          if (closed) break;
          if (!woke) {
            // A notification lost across a Redis reconnection is made up for here.
            pending = true;
            controller.enqueue(encoder.encode(": keep-alive\n\n"));
            return;
          }
        }
        try {
          controller.close();
        } catch {
          // Already closed by the client going away.
        }
      },
      cancel() {
        finish();
      },
    },
    // Nothing is read ahead of the client.
    { highWaterMark: 0 },
  );
}
