import { describe, expect, test } from "bun:test";
import { headerText, recordingTarget } from "./index.ts";

describe("recordingTarget", () => {
  test("accepts the seed's form, ports, sip: prefix, host-only and IPv6", () => {
    expect(recordingTarget("15162065121@10.1.10.190")).toEqual({
      ok: true,
      value: { uri: "sip:15162065121@10.1.10.190", host: "10.1.10.190", port: null },
    });
    expect(recordingTarget(" user@127.0.0.1:5099 ")).toEqual({
      ok: true,
      value: { uri: "sip:user@127.0.0.1:5099", host: "127.0.0.1", port: 5099 },
    });
    expect(recordingTarget("sip:rec@recorder.example.com")).toEqual({
      ok: true,
      value: { uri: "sip:rec@recorder.example.com", host: "recorder.example.com", port: null },
    });
    expect(recordingTarget("10.0.0.5:5080")).toEqual({
      ok: true,
      value: { uri: "sip:10.0.0.5:5080", host: "10.0.0.5", port: 5080 },
    });
    expect(recordingTarget("rec@[2001:db8::1]:5062")).toEqual({
      ok: true,
      value: { uri: "sip:rec@[2001:db8::1]:5062", host: "2001:db8::1", port: 5062 },
    });
    expect(recordingTarget("+1%2A555@10.0.0.1").ok).toBe(true);
  });

  test("refuses other schemes, URI parameters and headers, injection and bad ports", () => {
    for (const bad of [
      "",
      "   ",
      "tel:+15551234567",
      "sips:rec@10.0.0.1",
      "rec@10.0.0.1;transport=tcp",
      "rec;maddr=10.9.9.9@10.0.0.1",
      "rec@10.0.0.1?X-Evil=1",
      "rec@10.0.0.1:0",
      "rec@10.0.0.1:65536",
      "rec@10.0.0.1:5060:5061",
      "rec@10.0.0.1\r\nX-Evil: 1",
      "rec@10.0.0.1 foo",
      "<sip:rec@10.0.0.1>",
      "user:pass@10.0.0.1",
      "rec@-bad-.example",
      "rec@",
      "@10.0.0.1",
    ]) {
      const r = recordingTarget(bad);
      expect({ bad, ok: r.ok }).toEqual({ bad, ok: false });
    }
    expect(recordingTarget("")).toEqual({ ok: false, error: "empty recording_addr" });
    expect(recordingTarget("rec@10.0.0.1;lr")).toEqual({ ok: false, error: "recording_addr is not a sip address" });
  });
});

describe("headerText", () => {
  test("no line breaks or control characters survive; long values are cut by code point", () => {
    expect(headerText("line1\r\nX-Evil: 1")).toBe("line1  X-Evil: 1");
    expect(headerText("\ttabbed\u0000\u007f")).toBe("tabbed");
    expect(headerText("caf\u00e9 \u{1F600}")).toBe("caf\u00e9 \u{1F600}");
    expect(headerText("\u{1F600}".repeat(300))).toBe("\u{1F600}".repeat(256));
    expect(headerText("abcdef", 3)).toBe("abc");
  });
});
