import { describe, expect, test } from "bun:test";
import { countHeaderLines, headerSectionEnd, SourceAdmission, sdpTooLarge } from "./limits.ts";
import { SipUa } from "./ua.ts";
import { RawPeer, request, sdp } from "./test-peer.ts";

const enc = (s: string) => new TextEncoder().encode(s);

describe("SourceAdmission", () => {
  test("token bucket per source, then 503s from a second budget, then silence", () => {
    let now = 0;
    const a = new SourceAdmission(
      { invitesPerSecond: 2, burst: 2, pendingPerSource: 100, callsPerSource: 100 },
      () => false,
      () => now,
    );
    const kinds = Array.from({ length: 6 }, () => a.admit("192.0.2.1").kind);
    expect(kinds).toEqual(["admit", "admit", "refuse", "refuse", "drop", "drop"]);
    expect(a.admit("192.0.2.2").kind).toBe("admit");
    now = 500; // one token back
    expect(a.admit("192.0.2.1").kind).toBe("admit");
  });

  test("pending and call counts end with their tickets; trusted sources are not counted", () => {
    const a = new SourceAdmission(
      { invitesPerSecond: 1000, burst: 1000, pendingPerSource: 2, callsPerSource: 3 },
      (x) => x === "198.51.100.1",
    );
    const t1 = a.admit("192.0.2.1");
    const t2 = a.admit("192.0.2.1");
    expect(a.admit("192.0.2.1")).toMatchObject({ kind: "refuse", why: "INVITEs waiting for an answer or ACK" });
    if (t1.kind !== "admit" || t2.kind !== "admit") throw new Error("admitted");
    t1.ticket.settle();
    t1.ticket.settle(); // idempotent
    const t3 = a.admit("192.0.2.1");
    expect(t3.kind).toBe("admit");
    t2.ticket.settle();
    expect(a.admit("192.0.2.1")).toMatchObject({ kind: "refuse", why: "calls at a time" });
    t1.ticket.end();
    expect(a.admit("192.0.2.1").kind).toBe("admit");
    for (let i = 0; i < 50; i++) expect(a.admit("198.51.100.1").kind).toBe("admit");
  });
});

describe("cheap message checks", () => {
  test("header lines are counted up to the empty line, no further than max + 1", () => {
    expect(countHeaderLines(enc("\r\n\r\nINVITE x SIP/2.0\r\nA: 1\r\nB: 2\r\n\r\nbody\r\nmore\r\n"), 10)).toBe(3);
    expect(countHeaderLines(enc(`OPTIONS x SIP/2.0\n${"X: 1\n".repeat(500)}\n`), 100)).toBe(101);
    expect(headerSectionEnd(enc("A\r\nB\r\n\r\nbody"), 100)).toBe(8);
    expect(headerSectionEnd(enc("A\r\nB\r\n\r\nbody"), 5)).toBe(-1);
  });

  test("SDP: m-lines and payload types are counted without parsing", () => {
    const limits = { sdpMaxFormats: 4, sdpMaxMedia: 2 };
    expect(sdpTooLarge(sdp(4000), limits)).toBeNull();
    expect(sdpTooLarge(sdp(4000).replace("RTP/AVP 0 101", "RTP/AVP 0 8 9 18 101"), limits)).toContain("payload types");
    const three = `${sdp(4000)}m=video 4002 RTP/AVP 96\r\nm=video 4004 RTP/AVP 97\r\n`;
    expect(sdpTooLarge(three, limits)).toContain("m-lines");
  });
});

describe("SipUa per-source holds", () => {
  test("an ACK ends an INVITE's pending hold and a BYE its call hold, so a source can keep calling", async () => {
    const ua = await SipUa.listen({
      port: 0,
      sourceLimits: { invitesPerSecond: 1000, burst: 1000, pendingPerSource: 1, callsPerSource: 2 },
      handlers: { onInvite: (call) => void call.accept(sdp(5000)) },
    });
    const p = await RawPeer.open();
    try {
      const place = async (callId: string) => {
        p.send(
          request({ method: "INVITE", uaPort: ua.address.port, peerPort: p.port, callId, cseq: 1, body: sdp(6000) }),
          ua.address.port,
        );
        const ok = await p.waitResponse(200, "INVITE", callId);
        p.send(
          request({ method: "ACK", uaPort: ua.address.port, peerPort: p.port, callId, toTag: ok.to.tag ?? "", cseq: 1 }),
          ua.address.port,
        );
        return ok.to.tag ?? "";
      };
      const tag1 = await place("hold-1");
      await Bun.sleep(50);
      await place("hold-2");
      await Bun.sleep(50);
      // Two calls up: the third is refused until one ends.
      p.send(
        request({ method: "INVITE", uaPort: ua.address.port, peerPort: p.port, callId: "hold-3", cseq: 1, body: sdp(6000) }),
        ua.address.port,
      );
      await p.waitResponse(503, "INVITE", "hold-3");
      p.send(
        request({ method: "BYE", uaPort: ua.address.port, peerPort: p.port, callId: "hold-1", toTag: tag1, cseq: 2 }),
        ua.address.port,
      );
      await p.waitResponse(200, "BYE", "hold-1");
      await place("hold-4");
    } finally {
      p.close();
      ua.close();
    }
  });
});
