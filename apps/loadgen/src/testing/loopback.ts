/**
 * Test support: what a generator's receive side must show after a window of clean
 * media (every stream whole: no loss, one SSRC each).
 */
import { expect } from "bun:test";
import type { RxSummary } from "../generator-types.ts";

/**
 * Expects `streams` streams, at least `minPackets` packets in all, nothing lost and no
 * SSRC change.
 * @example expectWholeStreams(gen.report().rx, 5, 5 * 17);
 */
export function expectWholeStreams(rx: RxSummary, streams: number, minPackets: number): void {
  expect(rx.streams).toBe(streams);
  expect(rx.counters.packets).toBeGreaterThanOrEqual(minPackets);
  expect(rx.lost).toBe(0);
  expect(rx.counters.ssrcChanges).toBe(0);
}
