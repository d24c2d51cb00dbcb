import { describe, expect, test } from "bun:test";
import { createCeilingApp, CEILING_BODY } from "./hono-ceiling.ts";
import { parseWrk, runHttpLoad, runHttpLoadProcess } from "./http-load.ts";

const WRK_OUTPUT = `Running 2s test @ http://127.0.0.1:39123/ceiling
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.44us    1.03ms  14.06ms   91.20%
    Req/Sec    24.52k     6.39k   32.22k    75.00%
  Latency Distribution
     50%  502.00us
     75%  774.00us
     90%    1.69ms
     99%    5.54ms
  48788 requests in 2.00s, 152.52MB read
  Non-2xx or 3xx responses: 12
Requests/sec:  24358.44
Transfer/sec:     76.15MB
`;

describe("parseWrk", () => {
  test("reads rate, percentiles in mixed units, max and errors", () => {
    const r = parseWrk(WRK_OUTPUT, "u", 2)!;
    expect(r.rps).toBeCloseTo(24358.44, 2);
    expect(r.requests).toBe(48788);
    expect(r.p50Ms).toBeCloseTo(0.502, 6);
    expect(r.p99Ms).toBeCloseTo(5.54, 6);
    expect(r.maxMs).toBeCloseTo(14.06, 6);
    expect(r.errors).toBe(12);
    expect(parseWrk("wrk: connection refused", "u", 2)).toBeNull();
  });
});

describe("runHttpLoad", () => {
  test("closed and open loop against the ceiling route", async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: createCeilingApp().fetch });
    try {
      const url = `http://127.0.0.1:${server.port}/ceiling`;
      const body = await (await fetch(url)).json();
      expect(body).toEqual(CEILING_BODY);
      const closed = await runHttpLoad({ url, durationS: 0.3, concurrency: 4 });
      expect(closed.requests).toBeGreaterThan(20);
      expect(closed.errors).toBe(0);
      expect(closed.statuses["200"]).toBe(closed.requests);
      expect(closed.p99Ms).toBeGreaterThanOrEqual(closed.p50Ms);
      const open = await runHttpLoad({ url, durationS: 0.5, concurrency: 16, rate: 100 });
      // 100 req/s for 0.5 s: about 50 requests, paced rather than as fast as possible.
      expect(open.requests).toBeGreaterThanOrEqual(45);
      expect(open.requests).toBeLessThanOrEqual(52);
      const missing = await runHttpLoad({ url: `http://127.0.0.1:${server.port}/nope`, durationS: 0.1, concurrency: 1 });
      expect(missing.errors).toBe(missing.requests);
    } finally {
      server.stop(true);
    }
  });
});

describe("a flood of distinct requests", () => {
  test("URLs rotate and the unique token makes every request different, in a second process too", async () => {
    const seen: string[] = [];
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        seen.push(new URL(req.url).search);
        return new Response("{}");
      },
    });
    try {
      const base = `http://127.0.0.1:${server.port}/x?filter=`;
      const r = await runHttpLoad({
        url: `${base}a-TOK`,
        moreUrls: [`${base}b-TOK`],
        uniqueToken: "TOK",
        durationS: 0.3,
        concurrency: 3,
      });
      expect(r.requests).toBeGreaterThan(10);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((s) => s.startsWith("?filter=a-")).length).toBeGreaterThan(4);
      expect(seen.filter((s) => s.startsWith("?filter=b-")).length).toBeGreaterThan(4);
      seen.length = 0;
      const p = await runHttpLoadProcess({
        url: `${base}c-TOK`,
        uniqueToken: "TOK",
        durationS: 0.3,
        concurrency: 2,
        core: null,
        nice: 5,
      });
      expect(p.requests).toBe(seen.length);
      expect(new Set(seen).size).toBe(seen.length);
      expect(p.statuses["200"]).toBe(p.requests);
    } finally {
      server.stop(true);
    }
  });

  test("abortAtEnd ends the run on time when the server never answers", async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => {}) });
    try {
      const url = `http://127.0.0.1:${server.port}/never`;
      const t0 = performance.now();
      const r = await runHttpLoad({ url, durationS: 0.4, concurrency: 3, abortAtEnd: true, abortGraceMs: 200 });
      // Generous: the point is seconds versus forever.
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(performance.now() - t0).toBeGreaterThan(550);
      expect(r.unfinished).toBe(3);
      expect(r.statuses.unfinished).toBe(3);
      expect(r.errors).toBe(0);
      expect(r.unfinishedMaxMs).toBeGreaterThan(500);
    } finally {
      server.stop(true);
    }
  });

  test("answers that come within the grace after the end are counted, not cut", async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: async () => (await Bun.sleep(150), new Response("{}")) });
    try {
      const r = await runHttpLoad({
        url: `http://127.0.0.1:${server.port}/slow`,
        durationS: 0.4,
        concurrency: 3,
        abortAtEnd: true,
        abortGraceMs: 2000,
      });
      expect(r.unfinished).toBe(0);
      expect(r.statuses["200"]).toBe(r.requests);
    } finally {
      server.stop(true);
    }
  });
});
