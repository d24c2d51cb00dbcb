/**
 * The mixer's metrics, from a real call on real UDP: SIP and RTP counters rise, a wrong
 * code counts, the tick-lateness histogram fills, the call and meeting gauges follow the
 * call; the served text passes `promtool check metrics`, and only with the bearer token.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { udp } from "bun";
import { promtoolCheck, sample } from "@conf/log/testing";
import { RawPeer } from "@conf/sip/test-peer";
import { mixerEnvSchema } from "./env.ts";
import { createMixerMetrics, serveMetrics } from "./metrics.ts";
import { answeredCall, CODE, hangUp, keyInfo, startTestNode, until } from "./test-node.ts";
import { CumulativeHistogram } from "./tick-stats.ts";

const TOKEN = "metrics-test-token-0123456789";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("CumulativeHistogram", () => {
  test("each value lands in the first bucket whose bound is not below it; negatives count as 0", () => {
    const h = new CumulativeHistogram([0.001, 0.01]);
    for (const v of [-1, 0, 0.001, 0.005, 0.01, 0.5]) h.observe(v);
    expect([...h.counts]).toEqual([3, 2, 1]);
    expect(h.count).toBe(6);
    expect(h.sum).toBeCloseTo(0.516, 9);
  });
});

describe("MIXER_METRICS_PORT and ADMIN_TOKEN in the mixer's environment", () => {
  const table: { name: string; input: Record<string, string>; expected: { port?: number; token?: string } | "error" }[] = [
    { name: "unset: no listener", input: {}, expected: {} },
    { name: "empty: no listener", input: { MIXER_METRICS_PORT: "", ADMIN_TOKEN: "" }, expected: {} },
    {
      name: "a port and a token",
      input: { MIXER_METRICS_PORT: "9464", ADMIN_TOKEN: TOKEN },
      expected: { port: 9464, token: TOKEN },
    },
    { name: "a token too short", input: { ADMIN_TOKEN: "short" }, expected: "error" },
    { name: "not a port", input: { MIXER_METRICS_PORT: "70000" }, expected: "error" },
  ];
  for (const { name, input, expected } of table) {
    test(name, () => {
      const r = mixerEnvSchema.safeParse(input);
      if (expected === "error") return expect(r.success).toBe(false);
      expect(r.success).toBe(true);
      expect(r.data?.MIXER_METRICS_PORT).toBe(expected.port);
      expect(r.data?.ADMIN_TOKEN).toBe(expected.token);
    });
  }
});

describe("mixer metrics", () => {
  test("a call through a node raises the SIP, RTP and wrong-code counters and fills the tick-lateness histogram", async () => {
    const { node, close } = await startTestNode({
      nodeId: `metrics-${crypto.randomUUID()}`,
      rtpPortMin: 42000 + Math.floor(Math.random() * 100) * 40,
    });
    cleanups.push(close);
    const registry = createMixerMetrics(node);
    const server = serveMetrics({ registry, token: TOKEN, port: 0 });
    cleanups.push(() => server.close());
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      return res.text();
    };

    const before = await scrape();
    expect(await promtoolCheck(before)).toBe("");
    expect(sample(before, 'conference_calls{state="lobby"}')).toBe(0);
    expect(sample(before, "conference_rtp_packets_received_total")).toBe(0);

    const peer = await RawPeer.open();
    cleanups.push(() => peer.close());
    const rtp: udp.Socket<"buffer"> = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() {}, error() {} } });
    cleanups.push(() => rtp.close());
    const call = await answeredCall(peer, node, { callId: `metrics-${crypto.randomUUID()}`, rtpPort: rtp.port });

    const pkt = new Uint8Array(12 + 160).fill(0xff);
    pkt[0] = 0x80;
    pkt[1] = 0;
    let seq = 0;
    const sender = setInterval(() => {
      seq++;
      pkt[2] = (seq >> 8) & 0xff;
      pkt[3] = seq & 0xff;
      rtp.send(pkt, call.rtpPort, "127.0.0.1");
    }, 20);
    cleanups.push(() => clearInterval(sender));

    await until(() => node.calls.size === 1, 2000, "the call");
    const lobby = await scrape();
    expect(sample(lobby, 'conference_calls{state="lobby"}')).toBe(1);

    const keys = (digits: string) => keyInfo(peer, node, call, digits);
    await keys("9999#");
    await until(() => node.counts.wrongCodes === 1, 5000, "the wrong code");
    await keys(`${CODE}#`);
    await until(() => [...node.calls.values()].some((c) => c.state === "meeting"), 5000, "the join");
    await until(() => node.tickStats.lateness.count > 0 && seq > 20, 3000, "ticks and packets");
    // The caller's stream runs, so its first frame reaches the mix soon after the join.
    await until(() => node.counts.joinLatency.count === 1, 3000, "the join timed");

    const during = await scrape();
    expect(await promtoolCheck(during)).toBe("");
    expect(sample(during, 'conference_calls{state="joined"}')).toBe(1);
    expect(sample(during, 'conference_calls{state="lobby"}')).toBe(0);
    expect(sample(during, "conference_meetings")).toBe(1);
    expect(sample(during, 'conference_sip_requests_total{method="INVITE"}')).toBe(1);
    expect(sample(during, 'conference_sip_requests_total{method="INFO"}')).toBe(10);
    expect(sample(during, 'conference_sip_responses_total{code="200"}')).toBeGreaterThanOrEqual(10);
    expect(sample(during, "conference_access_code_failures_total")).toBe(1);
    expect(sample(during, "conference_rtp_packets_received_total")).toBeGreaterThan(10);
    expect(sample(during, "conference_rtp_packets_sent_total")).toBeGreaterThan(10);
    expect(sample(during, "conference_rtp_packets_lost_total")).toBe(0);
    expect(sample(during, "conference_mixer_tick_lateness_seconds_count")).toBeGreaterThan(0);
    expect(sample(during, 'conference_mixer_tick_lateness_seconds_bucket{le="+Inf"}')).toBe(
      sample(during, "conference_mixer_tick_lateness_seconds_count"),
    );
    expect(sample(during, "conference_join_seconds_count")).toBe(1);
    expect(sample(during, "conference_join_seconds_sum")).toBeGreaterThan(0);
    expect(sample(during, "conference_join_seconds_sum")).toBeLessThan(5);

    // After the call the counters keep what it counted; the gauges drop.
    clearInterval(sender);
    hangUp(peer, node, call);
    await until(() => node.calls.size === 0, 3000, "the hang-up");
    const after = await scrape();
    expect(sample(after, 'conference_calls{state="joined"}')).toBe(0);
    expect(sample(after, "conference_meetings")).toBe(0);
    expect(sample(after, 'conference_sip_requests_total{method="BYE"}')).toBe(1);
    expect(sample(after, "conference_rtp_packets_received_total")).toBeGreaterThanOrEqual(
      sample(during, "conference_rtp_packets_received_total") ?? 0,
    );
    expect(sample(after, "conference_rtp_packets_sent_total")).toBeGreaterThanOrEqual(
      sample(during, "conference_rtp_packets_sent_total") ?? 0,
    );
  }, 20_000);

  test("counters never go down: loss that shrinks (a late packet arrived) keeps the highest figure reported", async () => {
    const rtp = { rxPackets: 90, rxExpected: 100, txPackets: 0 };
    const counts = {
      calls: new Map(),
      meetings: 0,
      rtp,
      sip: null,
      wrongCodes: 0,
      lateness: new CumulativeHistogram([0.001]),
      joinLatency: new CumulativeHistogram([0.1]),
    };
    const registry = createMixerMetrics({ counts });
    expect(sample(await registry.metrics(), "conference_rtp_packets_lost_total")).toBe(10);
    rtp.rxPackets = 95;
    expect(sample(await registry.metrics(), "conference_rtp_packets_lost_total")).toBe(10);
    rtp.rxExpected = 120;
    expect(sample(await registry.metrics(), "conference_rtp_packets_lost_total")).toBe(25);
  });

  test("the served /metrics needs the bearer token: 401 in the reference's shape without it or with a wrong one", async () => {
    const registry = createMixerMetrics({
      counts: {
        calls: new Map(),
        meetings: 0,
        rtp: { rxPackets: 0, rxExpected: 0, txPackets: 0 },
        sip: null,
        wrongCodes: 0,
        lateness: new CumulativeHistogram([0.001]),
        joinLatency: new CumulativeHistogram([0.1]),
      },
    });
    const server = serveMetrics({ registry, token: TOKEN, port: 0 });
    cleanups.push(() => server.close());
    const url = `http://127.0.0.1:${server.port}/metrics`;
    for (const headers of [
      {} as Record<string, string>,
      { Authorization: "Bearer wrong-token-0123456789" },
      { Authorization: `Basic ${btoa(`x:${TOKEN}`)}` },
    ]) {
      const res = await fetch(url, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        message: "authentication required",
        errors: [{ field: "cause", message: "authentication required", reference_sid: null }],
      });
    }
    const ok = await fetch(url, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toContain("text/plain");
    expect((await fetch(`http://127.0.0.1:${server.port}/other`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(
      404,
    );
  });
});
