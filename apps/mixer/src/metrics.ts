/**
 * The mixer's Prometheus metrics. Nothing here runs per packet or per tick: the node
 * keeps plain counters where the work happens (the SIP stack's message counts, each
 * call's RTP counts, the guess limiter's wrong codes, the clock's preallocated lateness
 * buckets), and the collectors below read them when /metrics is scraped. Served by the
 * API (`bun run start`, over the link) or on MIXER_METRICS_PORT (a mixer on its own),
 * both behind the operator's bearer token.
 */
import { timingSafeEqual } from "node:crypto";
import { Counter, Gauge, type Metric, Registry } from "prom-client";
import type { CallState } from "./call.ts";
import type { NodeCounts } from "./node.ts";
import type { CumulativeHistogram } from "./tick-stats.ts";

/** How a call's state is named in `conference_calls{state}`. */
const STATE_LABELS: Readonly<Record<Exclude<CallState, "ended">, string>> = {
  ivr: "lobby",
  joining: "joining",
  meeting: "joined",
  leaving: "leaving",
};

/** What the collectors read: a MixerNode. */
export interface CountsSource {
  readonly counts: NodeCounts;
}

/**
 * A registry of the mixer's families, read from `node` at each scrape.
 *
 * @example
 * const registry = createMixerMetrics(mixer.node);
 * const text = await registry.metrics(); // Prometheus text format
 */
export function createMixerMetrics(node: CountsSource): Registry {
  const registry = new Registry();
  const registers = [registry];
  new Gauge({
    name: "conference_calls",
    help: "Calls on this mixer node by state (per node: sum over nodes for the service).",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const n: Record<string, number> = {};
      for (const label of Object.values(STATE_LABELS)) n[label] = 0;
      for (const c of node.counts.calls.values()) {
        const label = c.state === "ended" ? null : STATE_LABELS[c.state];
        if (label) n[label] = (n[label] ?? 0) + 1;
      }
      for (const [state, v] of Object.entries(n)) this.set({ state }, v);
    },
  });
  new Gauge({
    name: "conference_meetings",
    help: "Meetings mixed on this mixer node (per node: sum over nodes for the service).",
    registers,
    collect() {
      this.set(node.counts.meetings);
    },
  });
  // The families carry exactly one label each: requests this node received (by
  // method) and responses it sent (by code), the server side a dashboard watches. What it
  // sends as a client (hand-over re-INVITEs, BYEs, OPTIONS) has families of its own.
  type SipCounts = NonNullable<NodeCounts["sip"]>;
  const sipCounter = (
    name: string,
    help: string,
    label: "method" | "code",
    read: (sip: SipCounts) => Iterable<[string, number]>,
  ) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        const sip = node.counts.sip;
        this.reset();
        if (!sip) return;
        for (const [value, v] of read(sip)) this.inc({ [label]: value }, v);
      },
    });
  const SIP_FAMILIES: [string, string, "method" | "code", (sip: SipCounts) => Iterable<[string, number]>][] = [
    [
      "conference_sip_requests_total",
      "SIP requests received from peers, by method (retransmissions included; unknown methods are 'other').",
      "method",
      (sip) => sip.requests.received,
    ],
    [
      "conference_sip_responses_total",
      "SIP responses sent by this node, by status code (retransmissions included).",
      "code",
      (sip) => sip.responses.sent,
    ],
    [
      "conference_sip_requests_sent_total",
      "SIP requests this node sent as a client (hand-over re-INVITEs, BYEs, OPTIONS), by method. Not one of the issue's families.",
      "method",
      (sip) => sip.requests.sent,
    ],
    [
      "conference_sip_responses_received_total",
      "SIP responses this node received to its own requests, by status code. Not one of the issue's families.",
      "code",
      (sip) => sip.responses.received,
    ],
  ];
  for (const [name, help, label, read] of SIP_FAMILIES) sipCounter(name, help, label, read);
  // Loss as the callers' sequence numbers tell it can shrink when a late packet turns
  // up; a counter must not, so the highest figure reported stands.
  let lostReported = 0;
  const rtp = (name: string, help: string, read: (t: NodeCounts["rtp"]) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(node.counts.rtp));
      },
    });
  rtp(
    "conference_rtp_packets_received_total",
    "RTP packets taken from callers on this node (audio and telephone events).",
    (t) => t.rxPackets,
  );
  rtp("conference_rtp_packets_sent_total", "RTP packets sent to callers from this node.", (t) => t.txPackets);
  rtp(
    "conference_rtp_packets_lost_total",
    "RTP packets from callers that never arrived, by the callers' sequence numbers.",
    (t) => {
      lostReported = Math.max(lostReported, t.rxExpected - t.rxPackets);
      return lostReported;
    },
  );
  new Counter({
    name: "conference_access_code_failures_total",
    help: "Wrong access codes entered at this node's prompt.",
    registers,
    collect() {
      this.reset();
      this.inc(node.counts.wrongCodes);
    },
  });
  registry.registerMetric(
    histogramOf(
      "conference_mixer_tick_lateness_seconds",
      "How late the mixer's 20 ms ticks started against their schedule, seconds.",
      () => node.counts.lateness,
    ),
  );
  registry.registerMetric(
    histogramOf(
      "conference_join_seconds",
      "From the release of a caller's last access-code key to its first audio in the meeting's mix, hand-over included, seconds. Not one of the issue's families.",
      () => node.counts.joinLatency,
    ),
  );
  return registry;
}

/**
 * A histogram family read from a `CumulativeHistogram` at scrape time: prom-client's own
 * Histogram takes one `observe` call (and a labels lookup) per value, which the clock
 * must not pay every tick.
 */
function histogramOf(name: string, help: string, read: () => CumulativeHistogram): Metric {
  const family = {
    name,
    help,
    type: "histogram",
    aggregator: "sum",
    async get() {
      const h = read();
      const values: { metricName: string; labels: Record<string, string>; value: number }[] = [];
      let cumulative = 0;
      for (let i = 0; i < h.bounds.length; i++) {
        cumulative += h.counts[i] as number;
        values.push({ metricName: `${name}_bucket`, labels: { le: String(h.bounds[i]) }, value: cumulative });
      }
      values.push({ metricName: `${name}_bucket`, labels: { le: "+Inf" }, value: h.count });
      values.push({ metricName: `${name}_sum`, labels: {}, value: h.sum });
      values.push({ metricName: `${name}_count`, labels: {}, value: h.count });
      return { name, help, type: "histogram", aggregator: "sum", values };
    },
  };
  // The registry only reads the name and calls get(), as it does for its own types.
  return family as unknown as Metric;
}

/** The reference's 401 body, as the API answers it. */
const UNAUTHORIZED_BODY = JSON.stringify({
  message: "authentication required",
  errors: [{ field: "cause", message: "authentication required", reference_sid: null }],
});

/** Whether an Authorization header carries the bearer `token` (compared in constant time). */
export function bearerMatches(header: string | null, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!m?.[1]) return false;
  const a = new Bun.CryptoHasher("sha256").update(m[1]).digest();
  const b = new Bun.CryptoHasher("sha256").update(token).digest();
  return timingSafeEqual(a, b);
}

export interface MetricsServerOptions {
  readonly registry: Registry;
  /** The bearer token a scrape must carry (ADMIN_TOKEN). */
  readonly token: string;
  /** Listen address; default 127.0.0.1. */
  readonly host?: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
}

export interface MetricsServer {
  readonly port: number;
  /** Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` with `Authorization: Bearer <token>`; 401 (the reference's body)
 * without it, 404 elsewhere.
 *
 * @example
 * const server = serveMetrics({ registry, token: env.ADMIN_TOKEN, port: 9464 });
 */
export function serveMetrics(options: MetricsServerOptions): MetricsServer {
  const { registry, token } = options;
  const json = { "Content-Type": "application/json" };
  const server = Bun.serve({
    hostname: options.host ?? "127.0.0.1",
    port: options.port,
    // A scrape has no body: whatever one sends is not read, and not accepted in bulk.
    maxRequestBodySize: 1024,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path !== "/metrics") {
        return new Response(
          JSON.stringify({
            message: "no item error",
            errors: [{ field: null, message: "cannot find route", reference_sid: null }],
          }),
          {
            status: 404,
            headers: json,
          },
        );
      }
      if (!bearerMatches(req.headers.get("authorization"), token))
        return new Response(UNAUTHORIZED_BODY, { status: 401, headers: json });
      if (req.method !== "GET" && req.method !== "HEAD") {
        return new Response(
          JSON.stringify({ message: "method not allowed", errors: [{ field: null, message: "use GET", reference_sid: null }] }),
          {
            status: 405,
            headers: { ...json, Allow: "GET, HEAD" },
          },
        );
      }
      return new Response(await registry.metrics(), { headers: { "Content-Type": registry.contentType } });
    },
  });
  let closing: Promise<void> | undefined;
  return {
    port: server.port ?? options.port,
    close() {
      closing ??= server.stop(true);
      return closing;
    },
  };
}
