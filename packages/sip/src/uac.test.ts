import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { SipRequest } from "./message.ts";
import { RawPeer, reply as farReply, sdp, sleep } from "./test-peer.ts";
import { SipUa } from "./ua.ts";

let ua: SipUa;
let uas: RawPeer;

beforeEach(async () => {
  ua = await SipUa.listen({ host: "127.0.0.1", port: 0, timers: { t1: 20, t2: 160, t4: 100, timerD: 200 } });
  uas = await RawPeer.open();
});
afterEach(() => {
  ua.close();
  uas.close();
});

/** A response to `req` as the far end writes it (the far end tags its To "far1"). */
function reply(req: SipRequest, status: number, reason: string, extra: string[] = [], body = ""): string {
  return farReply(req, status, reason, extra, body, "far1");
}

const target = () => `sip:record@127.0.0.1:${uas.port}`;

describe("UAC INVITE", () => {
  test("timer A retransmits until a provisional; 2xx is ACKed in a new transaction via the route set", async () => {
    const proxy = await RawPeer.open();
    try {
      const provisional: number[] = [];
      const out = ua.invite({
        target: target(),
        sdp: sdp(31000),
        headers: [["X-Meeting", "m1"]],
        onProvisional: (s) => void provisional.push(s),
      });
      const inv = await uas.waitRequest("INVITE");
      expect(inv.headers.get("x-meeting")).toBe("m1");
      expect(inv.contentType).toBe("application/sdp");
      expect(inv.from.tag).toBe(out.localTag);
      await uas.waitFor(
        (r) => r.msg.kind === "request" && r.msg.method === "INVITE" && r !== uas.received[0],
        500,
        "retransmission",
      );
      uas.send(reply(inv, 180, "Ringing"), ua.address.port);
      await sleep(20);
      const sent = uas.count((m) => m.kind === "request" && m.method === "INVITE");
      await sleep(150);
      expect(uas.count((m) => m.kind === "request" && m.method === "INVITE")).toBe(sent);
      expect(provisional).toEqual([180]);

      const ok = reply(
        inv,
        200,
        "OK",
        [`Contact: <sip:rec@127.0.0.1:${uas.port}>`, `Record-Route: <sip:10.8.8.8;lr>, <sip:127.0.0.1:${proxy.port};lr>`],
        sdp(32000),
      );
      uas.send(ok, ua.address.port);
      const r = await out.result;
      if (!r.ok) throw new Error(r.reason);
      expect(r.sdp).toContain("m=audio 32000");
      expect(r.dialog.remoteTag).toBe("far1");
      expect(r.dialog.routeSet).toEqual([`<sip:127.0.0.1:${proxy.port};lr>`, "<sip:10.8.8.8;lr>"]);
      const ackReq = await proxy.waitRequest("ACK");
      expect(ackReq.uri).toBe(`sip:rec@127.0.0.1:${uas.port}`);
      expect(ackReq.cseq).toEqual({ seq: inv.cseq.seq, method: "ACK" });
      expect(ackReq.via[0]?.branch).not.toBe(inv.via[0]?.branch);
      expect(ackReq.headers.getAll("route")).toEqual([`<sip:127.0.0.1:${proxy.port};lr>`, "<sip:10.8.8.8;lr>"]);

      // A retransmitted 2xx gets the same ACK again.
      uas.send(ok, ua.address.port);
      await proxy.waitFor(
        (m) => m.msg.kind === "request" && m.msg.method === "ACK" && m !== proxy.received[0],
        1000,
        "second ACK",
      );

      // BYE from our side goes to the first route too.
      const bye = r.dialog.bye();
      const byeReq = await proxy.waitRequest("BYE");
      expect(byeReq.cseq.seq).toBe(inv.cseq.seq + 1);
      expect(byeReq.to.tag).toBe("far1");
      proxy.send(reply(byeReq, 200, "OK"), ua.address.port);
      expect(await bye).toEqual({ ok: true, status: 200 });
    } finally {
      proxy.close();
    }
  });

  test("the call and the transaction layer count timer A's retransmissions and the datagrams", async () => {
    const before = { ...ua.layer.counters };
    const out = ua.invite({ target: target(), sdp: sdp(31000) });
    expect(out.retransmissions).toBe(0);
    const inv = await uas.waitRequest("INVITE");
    await uas.waitFor(
      (r) => r.msg.kind === "request" && r.msg.method === "INVITE" && r !== uas.received[0],
      500,
      "retransmission",
    );
    uas.send(reply(inv, 486, "Busy Here"), ua.address.port);
    await out.result;
    await uas.waitRequest("ACK");
    const copies = uas.count((m) => m.kind === "request" && m.method === "INVITE");
    expect(out.retransmissions).toBe(copies - 1);
    const c = ua.layer.counters;
    expect(c.retransmissions - before.retransmissions).toBe(copies - 1);
    // The INVITE, its copies and the ACK went out; the 486 came in.
    expect(c.sent - before.sent).toBe(copies + 1);
    expect(c.received - before.received).toBe(1);
  });

  test("a failure is ACKed on the same branch and reported", async () => {
    const out = ua.invite({ target: target(), sdp: sdp(31000) });
    const inv = await uas.waitRequest("INVITE");
    uas.send(reply(inv, 486, "Busy Here"), ua.address.port);
    expect(await out.result).toEqual({ ok: false, status: 486, reason: "Busy Here" });
    const ackReq = await uas.waitRequest("ACK");
    expect(ackReq.via[0]?.branch).toBe(inv.via[0]?.branch);
    expect(ackReq.uri).toBe(inv.uri);
    expect(ackReq.to.tag).toBe("far1");
    // The retransmitted 486 is ACKed again without a second report.
    uas.send(reply(inv, 486, "Busy Here"), ua.address.port);
    await uas.waitFor((m) => m.msg.kind === "request" && m.msg.method === "ACK" && m.msg !== ackReq, 1000, "second ACK");
  });

  test("no answer: timer B gives 408", async () => {
    const quick = await SipUa.listen({ host: "127.0.0.1", port: 0, timers: { t1: 5 } });
    try {
      const out = quick.invite({ target: target(), sdp: sdp(1) });
      expect(await out.result).toEqual({ ok: false, status: 408, reason: "Request Timeout" });
      // A doubling from 5 ms within 64*T1 = 320 ms: 7 copies, the last 5 ms before B (exact timing: transaction.test.ts).
      const n = uas.count((m) => m.kind === "request" && m.method === "INVITE");
      expect(n).toBeGreaterThanOrEqual(5);
      expect(n).toBeLessThanOrEqual(7);
    } finally {
      quick.close();
    }
  });

  test("cancel after the provisional sends CANCEL; the 487 ends the call", async () => {
    const out = ua.invite({ target: target(), sdp: sdp(1) });
    const inv = await uas.waitRequest("INVITE");
    out.cancel();
    await sleep(30);
    expect(uas.count((m) => m.kind === "request" && m.method === "CANCEL")).toBe(0);
    uas.send(reply(inv, 180, "Ringing"), ua.address.port);
    const cancel = await uas.waitRequest("CANCEL");
    expect(cancel.via[0]?.branch).toBe(inv.via[0]?.branch);
    expect(cancel.cseq).toEqual({ seq: inv.cseq.seq, method: "CANCEL" });
    uas.send(reply(cancel, 200, "OK"), ua.address.port);
    uas.send(reply(inv, 487, "Request Terminated"), ua.address.port);
    expect(await out.result).toEqual({ ok: false, status: 487, reason: "Request Terminated" });
  });

  test("BYE from the far end ends our dialog", async () => {
    const byes: string[] = [];
    ua.handlers.onBye = (d) => void byes.push(d.callId);
    const out = ua.invite({ target: target(), sdp: sdp(1) });
    const inv = await uas.waitRequest("INVITE");
    uas.send(reply(inv, 200, "OK", [`Contact: <sip:rec@127.0.0.1:${uas.port}>`], sdp(2)), ua.address.port);
    const r = await out.result;
    if (!r.ok) throw new Error(r.reason);
    await uas.waitRequest("ACK");
    uas.send(
      [
        `BYE sip:mixer@127.0.0.1:${ua.address.port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${uas.port};branch=z9hG4bKfarbye;rport`,
        `From: ${inv.headers.get("to")};tag=far1`,
        `To: ${inv.headers.get("from")}`,
        `Call-ID: ${inv.callId}`,
        "CSeq: 1 BYE",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n"),
      ua.address.port,
    );
    await uas.waitResponse(200, "BYE");
    expect(byes).toEqual([out.callId]);
    expect(r.dialog.state).toBe("terminated");
  });

  test("close() settles a pending call", async () => {
    const out = ua.invite({ target: target(), sdp: sdp(1) });
    await uas.waitRequest("INVITE");
    ua.close();
    expect(await out.result).toEqual({ ok: false, status: 0, reason: "closed" });
  });
});
