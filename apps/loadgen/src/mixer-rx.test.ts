import { expect, test } from "bun:test";
import { describeMixerRx, describeTickPools, parseMixerRx, parseMixerTicks } from "./mixer-rx.ts";

test("the last totals of each node are summed", () => {
  const log = [
    "mixer: ticks 1000: late ...; 10 calls, 1 meetings; rx totals: 5 packets of 5 expected, 0 lost (0.000%)",
    "mixer mixer-x-w1: ticks 1000: late ...; 1000 calls, 1 meetings; rx totals: 100 packets of 110 expected, 10 lost (9.091%)",
    "mixer: rx totals: 50 packets of 50 expected, 0 lost (0.000%)",
    "mixer mixer-x-w1: rx totals: 3000 packets of 3001 expected, 1 lost (0.033%)",
    "conference: ready",
  ].join("\n");
  expect(parseMixerRx(log)).toEqual({ nodes: 2, received: 3050, expected: 3051, lost: 1 });
  expect(describeMixerRx(parseMixerRx(log))).toContain("1 lost (0.033%)");
  expect(parseMixerRx("nothing")).toBeNull();
});

test("tick lateness: the worst interval of every node, idle lines skipped", () => {
  const log = [
    "mixer: ticks 0: late p50/p99/p99.9/max 0.0/0.0/0.0/0.0 ms, work p50/p99/max 0.0/0.0/0.0 ms; 0 calls, 0 meetings; rx totals: 0 packets of 0 expected, 0 lost (0.000%)",
    "mixer: ticks 100: late p50/p99/p99.9/max 0.1/0.6/2.5/3.0 ms, work p50/p99/max 0.2/0.4/0.9 ms; 50 calls, 1 meetings; rx totals: 5 packets of 5 expected, 0 lost (0.000%)",
    "mixer mixer-x-w1: ticks 100: late p50/p99/p99.9/max 0.2/1.6/9.4/12.5 ms, work p50/p99/max 0.2/0.4/0.9 ms; 50 calls, 1 meetings",
    "mixer: ticks 100: late p50/p99/p99.9/max 0.1/0.8/1.0/1.1 ms, work p50/p99/max 0.2/0.4/0.9 ms; 50 calls, 1 meetings",
    "conference: ready",
  ].join("\n");
  expect(parseMixerTicks(log)).toEqual({
    lines: 3,
    nodes: 2,
    ticks: 300,
    worstP99: 1.6,
    worstP999: 9.4,
    worstMax: 12.5,
    medianP999: 2.5,
    p999s: [1, 2.5, 9.4],
  });
  expect(parseMixerTicks("mixer: rx totals: 1 packets of 1 expected, 0 lost")).toBeNull();
});

test("JSON records (@conf/log) read like the text lines: node by module and worker", () => {
  const rec = (fields: Record<string, unknown>) => JSON.stringify({ level: 30, time: 1, pid: 7, module: "mixer", ...fields });
  const log = [
    rec({ msg: "ticks 100: late p50/p99/p99.9/max 0.1/0.6/2.5/3.0 ms, work p50/p99/max 0.2/0.4/0.9 ms; 50 calls, 1 meetings" }),
    rec({
      time: 2,
      worker: "mixer-x-w1",
      msg: "ticks 100: late p50/p99/p99.9/max 0.2/1.6/9.4/12.5 ms, work p50/p99/max 0.2/0.4/0.9 ms; 50 calls, 1 meetings",
    }),
    rec({ time: 3, msg: "rx totals: 50 packets of 50 expected, 0 lost (0.000%)" }),
    rec({ time: 4, msg: "rx totals: 60 packets of 60 expected, 0 lost (0.000%)" }),
    rec({ time: 5, worker: "mixer-x-w1", msg: "rx totals: 3000 packets of 3001 expected, 1 lost (0.033%)" }),
    "conference: ready",
  ].join("\n");
  expect(parseMixerRx(log)).toEqual({ nodes: 2, received: 3060, expected: 3061, lost: 1 });
  expect(parseMixerTicks(log)).toMatchObject({ lines: 2, nodes: 2, ticks: 200 });
});

test("quiet and flooded intervals are pooled apart: median, p90, worst and counts over 5 and 20 ms", () => {
  expect(describeTickPools([3, 1, 2, 30, 4], [6, 2, 25, 7])).toBe(
    "without the flood (5 intervals) median 3.0 ms, p90 4.0 ms, worst 30.0 ms, 1 over 5 ms, 1 over 20 ms; " +
      "under the flood (4 intervals) median 6.0 ms, p90 7.0 ms, worst 25.0 ms, 3 over 5 ms, 1 over 20 ms",
  );
  expect(describeTickPools([], [1])).toBeNull();
  expect(describeTickPools([1], [])).toBeNull();
});
