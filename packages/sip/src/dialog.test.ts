import { describe, expect, test } from "bun:test";
import { buildInDialogRequest, dialogKey, inDialogTarget } from "./dialog.ts";
import { parseMessage } from "./message.ts";

describe("inDialogTarget (RFC 3261 12.2.1.1)", () => {
  test("no route set: Request-URI and next hop are the remote target", () => {
    const t = inDialogTarget("sip:bob@10.0.0.2:5062", []);
    expect(t.requestUri).toBe("sip:bob@10.0.0.2:5062");
    expect(t.routes).toEqual([]);
    expect(t.nextHop?.port).toBe(5062);
  });
  test("loose routing: Request-URI is the remote target, next hop the first route", () => {
    const t = inDialogTarget("sip:bob@10.0.0.2", ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]);
    expect(t.requestUri).toBe("sip:bob@10.0.0.2");
    expect(t.routes).toEqual(["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]);
    expect(t.nextHop?.host).toBe("p1.example.com");
  });
  test("strict routing: first route becomes the Request-URI, remote target the last route", () => {
    const t = inDialogTarget("sip:bob@10.0.0.2", ["<sip:p1.example.com;maddr=1.2.3.4>", "<sip:p2.example.com;lr>"]);
    expect(t.requestUri).toBe("sip:p1.example.com;maddr=1.2.3.4");
    expect(t.routes).toEqual(["<sip:p2.example.com;lr>", "<sip:bob@10.0.0.2>"]);
    expect(t.nextHop?.host).toBe("p1.example.com");
  });
});

describe("buildInDialogRequest", () => {
  test("BYE carries the dialog's identifiers", () => {
    const { bytes } = buildInDialogRequest(
      {
        localHeader: "<sip:15162065919@127.0.0.1>",
        localTag: "loc",
        remoteHeader: '"Caller" <sip:+1555@127.0.0.1>;tag=rem',
        callId: "cid",
        remoteTarget: "sip:caller@127.0.0.1:5062",
        routeSet: ["<sip:127.0.0.1:5070;lr>"],
      },
      "BYE",
      7,
      "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx;rport",
      [["User-Agent", "t"]],
    );
    const r = parseMessage(bytes);
    if (!r.ok || r.value.kind !== "request") throw new Error("parse");
    expect(r.value.uri).toBe("sip:caller@127.0.0.1:5062");
    expect(r.value.from.tag).toBe("loc");
    expect(r.value.to.tag).toBe("rem");
    expect(r.value.cseq).toEqual({ seq: 7, method: "BYE" });
    expect(r.value.route.map((x) => x.raw)).toEqual(["<sip:127.0.0.1:5070;lr>"]);
    expect(r.value.maxForwards).toBe(70);
  });
  test("dialog keys differ by each part", () => {
    expect(dialogKey("a", "b", "c")).not.toBe(dialogKey("a", "bc", ""));
  });
});
