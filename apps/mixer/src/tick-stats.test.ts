import { describe, expect, test } from "bun:test";
import { Histogram, TickStats } from "./tick-stats.ts";

describe("Histogram", () => {
  test("quantiles to a 0.1 ms bucket, max exact", () => {
    const h = new Histogram();
    for (let i = 0; i < 1000; i++) h.add(i < 990 ? 0.05 : 7.23);
    expect(h.quantile(0.5)).toBeCloseTo(0.1, 5);
    expect(h.quantile(0.99)).toBeCloseTo(0.1, 5);
    expect(h.quantile(0.999)).toBeCloseTo(7.23, 5);
    expect(h.max).toBeCloseTo(7.23, 5);
  });

  test("empty, negative and beyond the last bucket", () => {
    const h = new Histogram();
    expect(h.quantile(0.99)).toBe(0);
    h.add(-3);
    h.add(500);
    expect(h.count).toBe(2);
    expect(h.quantile(0.5)).toBeCloseTo(0.1, 5);
    expect(h.quantile(1)).toBe(500);
  });
});

test("TickStats.summary names the figures and starts over", () => {
  const s = new TickStats();
  s.late.add(1.5);
  s.work.add(0.3);
  expect(s.summary()).toBe("ticks 1: late p50/p99/p99.9/max 1.5/1.5/1.5/1.5 ms, work p50/p99/max 0.3/0.3/0.3 ms");
  expect(s.late.count).toBe(0);
});
