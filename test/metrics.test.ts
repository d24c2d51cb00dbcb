/**
 * GET /metrics of the whole service (`bun run start`): the API's answer carries the
 * mixer's families too (fetched over the link from the mixer's process), SIP sent to
 * the mixer shows in them, and the text passes `promtool check metrics`. With
 * MIXER_METRICS_PORT the mixer also serves its own, behind the same token.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { promtoolCheck, sample } from "@conf/log/testing";
import { freePort, type Service, startService } from "./lib/service.ts";

const FAMILIES = [
  "conference_calls",
  "conference_meetings",
  "conference_sip_requests_total",
  "conference_sip_responses_total",
  "conference_rtp_packets_received_total",
  "conference_rtp_packets_sent_total",
  "conference_rtp_packets_lost_total",
  "conference_mixer_tick_lateness_seconds",
  "conference_http_request_duration_seconds",
  "conference_access_code_failures_total",
];

/** Sends OPTIONS to the mixer and waits for its 200. */
async function options(sipPort: number): Promise<void> {
  let answered: () => void = () => {};
  const done = new Promise<void>((resolve) => (answered = resolve));
  const sock = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(_s, buf) {
        if (buf.toString().startsWith("SIP/2.0 200")) answered();
      },
    },
  });
  const callId = `metrics-${crypto.randomUUID()}`;
  sock.send(
    `OPTIONS sip:127.0.0.1:${sipPort} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${sock.port};branch=z9hG4bK${callId}\r\n` +
      `From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
    sipPort,
    "127.0.0.1",
  );
  await Promise.race([done, Bun.sleep(5000).then(() => Promise.reject(new Error("no 200 to OPTIONS")))]);
  sock.close();
}

describe("GET /metrics under bun run start", () => {
  let svc: Service;
  let mixerMetricsPort: number;
  beforeAll(async () => {
    mixerMetricsPort = await freePort();
    svc = await startService({ rtpPortMin: 43000, rtpPortMax: 43099, env: { MIXER_METRICS_PORT: String(mixerMetricsPort) } });
  }, 60_000);
  afterAll(() => svc?.stop());

  test("the API's answer has its own families and the mixer's, counting SIP the mixer took", async () => {
    expect((await fetch(`${svc.api}/metrics`)).status).toBe(401);
    await options(svc.sipPort);
    const res = await fetch(`${svc.api}/metrics`, { headers: { Authorization: `Bearer ${svc.adminToken}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(await promtoolCheck(text)).toBe("");
    for (const family of FAMILIES) expect(text).toContain(`# TYPE ${family} `);
    expect(sample(text, 'conference_sip_requests_total{method="OPTIONS"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'conference_sip_responses_total{code="200"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, "conference_mixer_tick_lateness_seconds_count")).toBeGreaterThan(0);
    expect(sample(text, 'conference_calls{state="joined"}')).toBe(0);
  }, 30_000);

  test("MIXER_METRICS_PORT serves the mixer's own, with the same token", async () => {
    const url = `http://127.0.0.1:${mixerMetricsPort}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    const res = await fetch(url, { headers: { Authorization: `Bearer ${svc.adminToken}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(await promtoolCheck(text)).toBe("");
    expect(text).toContain("# TYPE conference_mixer_tick_lateness_seconds histogram");
    expect(text).not.toContain("conference_http_request_duration_seconds");
  });
});
