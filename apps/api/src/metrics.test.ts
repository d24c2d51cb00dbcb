/**
 * GET /metrics: the operator's bearer token or 401; the request-duration histogram by
 * method, matched route pattern and status (never the raw path); other processes' text
 * merged in; and text that `promtool check metrics` accepts.
 */
import { describe, expect, test } from "bun:test";
import { promtoolCheck, sample } from "@conf/log/testing";
import { Gauge, Registry } from "prom-client";
import { createApp } from "./app.ts";
import { createApiMetrics, type MetricsSource } from "./lib/metrics.ts";
import { ADMIN_TOKEN, blockDatabase } from "./testing.ts";

const BEARER = { Authorization: `Bearer ${ADMIN_TOKEN}` };

const duration = (method: string, route: string, status: number) =>
  `conference_http_request_duration_seconds_count{method="${method}",route="${route}",status="${status}"}`;

describe("GET /metrics", () => {
  const db = blockDatabase();

  /** A registry as another process would serve it (the mixer's families under `bun run start`). */
  function otherProcess(): MetricsSource {
    const registry = new Registry();
    new Gauge({ name: "conference_meetings", help: "Meetings on this node.", registers: [registry] }).set(3);
    return () => registry.metrics();
  }

  test("401 in the reference's shape without the token or with a wrong one; 200 text with it", async () => {
    const app = createApp({ database: db().database, adminToken: ADMIN_TOKEN });
    for (const headers of [{} as Record<string, string>, { Authorization: "Bearer wrong-token-0123456789" }]) {
      const res = await app.request("http://api.test/metrics", { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        message: "authentication required",
        errors: [{ field: "cause", message: "authentication required", reference_sid: null }],
      });
    }
    const ok = await app.request("http://api.test/metrics", { headers: BEARER });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toContain("text/plain");
    expect(await ok.text()).toContain("# TYPE conference_http_request_duration_seconds histogram");
  });

  test("requests are counted by method, route pattern and status; the text merges other processes' and passes promtool", async () => {
    const app = createApp({
      database: db().database,
      adminToken: ADMIN_TOKEN,
      metrics: createApiMetrics({ sources: [otherProcess()] }),
    });
    const secretSid = `sid-${crypto.randomUUID()}`;
    await app.request(`http://api.test/conference/v2/calls/${secretSid}`);
    await app.request(`http://api.test/conference/v2/calls/${secretSid}-2`);
    const created = await app.request("http://api.test/core/v2/endpoints", {
      method: "POST",
      headers: { ...BEARER, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "metrics", type: "conference" }),
    });
    expect(created.status).toBe(200);
    await app.request(`http://api.test/no/such/${secretSid}`);

    const res = await app.request("http://api.test/metrics", { headers: BEARER });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(await promtoolCheck(text)).toBe("");
    expect(sample(text, duration("GET", "/conference/v2/calls/:call_sid", 401))).toBe(2);
    expect(sample(text, duration("POST", "/core/v2/endpoints", 200))).toBe(1);
    expect(sample(text, duration("GET", "unmatched", 404))).toBe(1);
    // The raw path (with what a client put in it) never becomes a label value.
    expect(text).not.toContain(secretSid);
    expect(sample(text, "conference_meetings")).toBe(3);
    // The scrape itself is timed: it shows on the next one.
    const again = await (await app.request("http://api.test/metrics", { headers: BEARER })).text();
    expect(sample(again, duration("GET", "/metrics", 200))).toBe(1);
  });

  test("a source that fails (the mixer not up yet) leaves its families out; the API's own still answer", async () => {
    const failing: MetricsSource = () => Promise.reject(new Error("thread-link: metrics.text got no answer"));
    const app = createApp({
      database: db().database,
      adminToken: ADMIN_TOKEN,
      metrics: createApiMetrics({ sources: [failing] }),
    });
    const res = await app.request("http://api.test/metrics", { headers: BEARER });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("conference_http_request_duration_seconds");
    expect(await promtoolCheck(text)).toBe("");
  });
});
