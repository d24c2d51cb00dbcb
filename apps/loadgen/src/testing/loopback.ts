/**
 * Test support for generators on loopback: their settings for fast tests, and what their
 * receive side must show after a window of clean media (every stream whole: no loss,
 * one SSRC each).
 */
import { expect } from "bun:test";
import type { GeneratorConfig, RxSummary } from "../generator-types.ts";

/**
 * A generator on 127.0.0.1 calling `sipPort` from the RTP ports given: two phases, the
 * code at once, talking all the time, short timers, energy measured on every frame.
 * @example const gen = await Generator.create(loopbackConfig(uas.port, { rtpPortMin: 40000, rtpPortMax: 40199 }));
 */
export function loopbackConfig(sipPort: number, ports: { rtpPortMin: number; rtpPortMax: number }): GeneratorConfig {
  return {
    sip: { host: "127.0.0.1", port: sipPort },
    localHost: "127.0.0.1",
    ...ports,
    phases: 2,
    codeDelayMs: 0,
    talk: { onMs: 1000, offMs: 0 },
    lateMs: 25,
    t1Ms: 100,
    energyEvery: 1,
  };
}

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
