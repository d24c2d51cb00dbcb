import { describe, expect, test } from "bun:test";
import { type DtmfInfo, type DtmfInfoType, parseDtmfInfo } from "./dtmf-info.ts";

const cases: { name: string; type: DtmfInfoType; body: string; expected: DtmfInfo }[] = [
  {
    name: "dtmf-relay",
    type: "application/dtmf-relay",
    body: "Signal=5\r\nDuration=160\r\n",
    expected: { ok: true, digit: "5", durationMs: 160 },
  },
  {
    name: "spaces and LF",
    type: "application/dtmf-relay",
    body: "Signal= *\nDuration= 250",
    expected: { ok: true, digit: "*", durationMs: 250 },
  },
  {
    name: "event code 11 is #",
    type: "application/dtmf-relay",
    body: "Signal=11\r\nDuration=100",
    expected: { ok: true, digit: "#", durationMs: 100 },
  },
  {
    name: "lower-case letter",
    type: "application/dtmf-relay",
    body: "signal=d",
    expected: { ok: true, digit: "D", durationMs: 0 },
  },
  { name: "no duration", type: "application/dtmf-relay", body: "Signal=0", expected: { ok: true, digit: "0", durationMs: 0 } },
  {
    name: "bad signal",
    type: "application/dtmf-relay",
    body: "Signal=X\r\nDuration=100",
    expected: { ok: false, reason: "no valid Signal in application/dtmf-relay body" },
  },
  {
    name: "no signal",
    type: "application/dtmf-relay",
    body: "Duration=100",
    expected: { ok: false, reason: "no valid Signal in application/dtmf-relay body" },
  },
  { name: "application/dtmf", type: "application/dtmf", body: "7\r\n", expected: { ok: true, digit: "7", durationMs: 0 } },
  {
    name: "application/dtmf garbage",
    type: "application/dtmf",
    body: "77",
    expected: { ok: false, reason: "bad application/dtmf body" },
  },
];

describe("parseDtmfInfo", () => {
  for (const c of cases) test(c.name, () => expect(parseDtmfInfo(c.type, c.body)).toEqual(c.expected));
});
