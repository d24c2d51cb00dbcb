/**
 * Delivers the public events to the accounts' webhooks. Runs in every API process: each
 * event is taken from the log's dispatch feed by one of them (a Redis consumer group, or
 * the in-process feed), expanded into one delivery per matching webhook in the shared
 * delivery queue, and each delivery is claimed by one process at a time. A failed or
 * timed-out delivery is tried again with exponential backoff for up to a day; a slow
 * webhook holds at most its own share of the concurrency, never the others'.
 */
import { createHmac } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { WebhookWithSecret } from "@conf/db";
import type { Delivery, DeliveryQueue, EventLog } from "@conf/session-store";
import { checkResolved, checkUrl, type OutboundPolicy } from "@conf/outbound";

/** Options of {@link startWebhookDispatcher}; the limits come from WEBHOOK_* variables. */
export interface WebhookDispatcherOptions {
  readonly log: EventLog;
  readonly queue: DeliveryQueue;
  /** The webhooks of an account, with their secrets. */
  readonly webhooksOf: (accountSid: string) => Promise<WebhookWithSecret[]>;
  readonly policy: OutboundPolicy;
  /** Whole request, ms. Default 10000. */
  readonly timeoutMs?: number;
  /** First retry after this long, doubling, ms. Default 5000. */
  readonly retryBaseMs?: number;
  /** Longest pause between tries, ms. Default 3600000. */
  readonly retryMaxMs?: number;
  /** No retry this long after the first try, ms. Default 86400000. */
  readonly retryForMs?: number;
  /** Deliveries in flight in this process. Default 32. */
  readonly concurrency?: number;
  /** Deliveries in flight to one webhook in this process. Default 4. */
  readonly concurrencyPerWebhook?: number;
  /** Looks for events and due deliveries this often, ms. Default 250. */
  readonly pollMs?: number;
  /** A webhook list is kept this long before it is read again, ms. Default 5000. */
  readonly cacheTtlMs?: number;
  /** Resolves a host name to addresses (default: the system resolver). */
  readonly resolve?: (host: string) => Promise<string[]>;
  readonly onError?: (message: string, err?: unknown) => void;
}

export interface WebhookDispatcher {
  /** Forgets the cached webhooks of an account (after a create or delete here). */
  invalidate(accountSid: string): void;
  /** Stops taking work and waits for deliveries in flight. */
  close(): Promise<void>;
}

/**
 * The `Conference-Signature` header of `body` sent at `t` (unix seconds).
 * @example signature("secret", 1718000000, '{"type":"call.joined"}') // "t=1718000000,v1=5f0c..."
 */
export function signature(secret: string, t: number, body: string): string {
  return `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}`;
}

const EVENTS_PER_STEP = 100;
/** An event taken by a dispatcher that died is taken by another after this long, ms. */
const RECLAIM_AFTER_MS = 60_000;
const CACHE_MAX_ACCOUNTS = 10_000;

/**
 * Starts delivering.
 * @example const d = startWebhookDispatcher({ log: store.eventLog, queue, webhooksOf: (a) => repos.webhooks.ofAccount(a), policy });
 */
export function startWebhookDispatcher(o: WebhookDispatcherOptions): WebhookDispatcher {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const retryBaseMs = o.retryBaseMs ?? 5000;
  const retryMaxMs = o.retryMaxMs ?? 3_600_000;
  const retryForMs = o.retryForMs ?? 86_400_000;
  const concurrency = o.concurrency ?? 32;
  const perWebhook = o.concurrencyPerWebhook ?? 4;
  const pollMs = o.pollMs ?? 250;
  const cacheTtlMs = o.cacheTtlMs ?? 5000;
  const resolve = o.resolve ?? (async (host: string) => (await lookup(host, { all: true })).map((a) => a.address));
  const onError =
    o.onError ?? ((m: string, e?: unknown) => console.error(`webhooks: ${m}`, e instanceof Error ? e.message : (e ?? "")));
  const consumer = `api-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const cache = new Map<string, { at: number; hooks: Promise<WebhookWithSecret[]> }>();
  const inflight = new Map<string, number>();
  const running = new Set<Promise<void>>();
  let total = 0;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let step: Promise<void> | null = null;

  function webhooks(accountSid: string): Promise<WebhookWithSecret[]> {
    const now = Date.now();
    const hit = cache.get(accountSid);
    if (hit && now - hit.at < cacheTtlMs) return hit.hooks;
    if (cache.size >= CACHE_MAX_ACCOUNTS) cache.clear();
    const hooks = o.webhooksOf(accountSid);
    cache.set(accountSid, { at: now, hooks });
    hooks.catch(() => cache.delete(accountSid));
    return hooks;
  }

  async function expandEvents(): Promise<boolean> {
    const taken = await o.log.dispatch.take(consumer, EVENTS_PER_STEP, RECLAIM_AFTER_MS);
    const now = Date.now();
    for (const e of taken) {
      for (const hook of await webhooks(e.accountSid)) {
        if (hook.types !== null && !hook.types.includes(e.type)) continue;
        const d: Delivery = {
          id: `${hook.webhook_sid}|${e.id}`,
          webhookSid: hook.webhook_sid,
          accountSid: e.accountSid,
          body: e.json,
          attempt: 0,
          firstAt: now,
        };
        if ((await o.queue.enqueue(d, now)) === "full")
          onError(`queue full: event ${e.id} not delivered to webhook ${hook.webhook_sid}`);
      }
    }
    await o.log.dispatch.ack(taken.map((e) => e.dispatchId));
    return taken.length === EVENTS_PER_STEP;
  }

  async function send(d: Delivery, hook: WebhookWithSecret): Promise<boolean> {
    const url = checkUrl(hook.url, o.policy);
    if (!url.ok) throw new Error(`URL ${url.error}`);
    // The name may point anywhere by now: its addresses are checked at send time.
    if (isIP(url.value.host) === 0) {
      const ok = checkResolved(url.value.host, await resolve(url.value.host), o.policy);
      if (!ok.ok) throw new Error(ok.error);
    }
    const t = Math.floor(Date.now() / 1000);
    const res = await fetch(hook.url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "Conference-Signature": signature(hook.secret, t, d.body),
        "User-Agent": "conference-webhooks/1",
      },
      body: d.body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The answer's body is not read: a receiver cannot make us hold anything.
    await res.body?.cancel().catch(() => {});
    return res.status >= 200 && res.status < 300;
  }

  async function deliver(d: Delivery): Promise<void> {
    const hook = (await webhooks(d.accountSid)).find((h) => h.webhook_sid === d.webhookSid);
    if (!hook) return o.queue.done(d); // deleted since
    let delivered = false;
    try {
      delivered = await send(d, hook);
    } catch (err) {
      onError(`delivery to webhook ${d.webhookSid} failed`, err);
    }
    if (delivered) return o.queue.done(d);
    const attempt = d.attempt + 1;
    const now = Date.now();
    if (now - d.firstAt >= retryForMs) {
      onError(`giving up on event ${d.id} for webhook ${d.webhookSid} after ${attempt} tries`);
      return o.queue.done(d);
    }
    await o.queue.retry({ ...d, attempt }, now + Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(attempt - 1, 30)));
  }

  async function startDeliveries(): Promise<void> {
    const free = concurrency - total;
    if (free <= 0) return;
    const now = Date.now();
    const due = await o.queue.claim(now, free, timeoutMs + 30_000);
    for (const d of due) {
      const n = inflight.get(d.webhookSid) ?? 0;
      if (n >= perWebhook) {
        // This webhook has its share in flight: later, without counting a try.
        await o.queue.retry(d, now + pollMs);
        continue;
      }
      inflight.set(d.webhookSid, n + 1);
      total++;
      const p = deliver(d)
        .catch((err) => onError(`delivery ${d.id}`, err))
        .finally(() => {
          total--;
          const m = (inflight.get(d.webhookSid) ?? 1) - 1;
          if (m <= 0) inflight.delete(d.webhookSid);
          else inflight.set(d.webhookSid, m);
          running.delete(p);
        });
      running.add(p);
    }
  }

  async function runStep(): Promise<void> {
    let more = true;
    for (let rounds = 0; more && rounds < 10 && !closed; rounds++) more = await expandEvents();
    if (!closed) await startDeliveries();
  }

  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => {
      step = runStep()
        .catch((err) => onError("dispatch step failed", err))
        .finally(() => {
          step = null;
          schedule();
        });
    }, pollMs);
  };
  schedule();

  return {
    invalidate(accountSid) {
      cache.delete(accountSid);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await step;
      await Promise.all(running);
    },
  };
}
