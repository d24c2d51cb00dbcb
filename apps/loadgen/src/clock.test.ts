import { expect, test } from "bun:test";
import { Ticker } from "./clock.ts";

test("Ticker fires every phase on a fixed grid, without drift, and survives a throwing handler", async () => {
  const fired: { tick: number; phase: number; at: number }[] = [];
  const start = performance.now() + 5;
  const t = new Ticker({
    periodMs: 20,
    phases: 2,
    onTick: (tick, phase) => {
      fired.push({ tick, phase, at: performance.now() });
      if (tick === 1 && phase === 0) throw new Error("boom");
    },
  });
  t.startAt(start);
  await Bun.sleep(5 + 20 * 10 + 5);
  t.stop();
  // 10 periods of 2 phases (11 when the timer lands right on the last deadline).
  expect(fired.length).toBeGreaterThanOrEqual(20);
  expect(fired.length).toBeLessThanOrEqual(22);
  fired.forEach((f, i) => {
    expect(f.tick).toBe(Math.floor(i / 2));
    expect(f.phase).toBe(i % 2);
    // Never early: each sub-tick runs at or after start + i x 10 ms.
    expect(f.at).toBeGreaterThanOrEqual(start + i * 10 - 0.5);
  });
  // Drift-free: the 20th sub-tick is due at start + 190 ms, however late earlier ones ran.
  expect(fired[19]!.at - (start + 190)).toBeLessThan(15);
  expect(t.errors).toBe(1);
  expect(t.lag.count).toBe(fired.length);
});
