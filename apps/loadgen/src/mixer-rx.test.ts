import { expect, test } from "bun:test";
import { describeMixerRx, parseMixerRx } from "./mixer-rx.ts";

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
