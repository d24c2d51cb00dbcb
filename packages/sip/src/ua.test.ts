import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Dialog } from "./dialog.ts";
import { bodyText, type SipMessage, type SipResponse } from "./message.ts";
import { branch, RawPeer, reply, request, sdp, sleep } from "./test-peer.ts";
import { type IncomingCall, type ReinviteOffer, SipUa, type SipUaHandlers } from "./ua.ts";

const TIMERS = { t1: 20, t2: 160, t4: 100 };

let ua: SipUa;
let peer: RawPeer;
let events: string[];
let calls: IncomingCall[];
let errors: unknown[];
let drops: string[];

/** The onInvite of tests that answer later: keeps the call in `calls`. */
const collect = (c: IncomingCall): void => {
  calls.push(c);
};

async function start(handlers: SipUaHandlers = {}, extra: { forceRport?: boolean; answerTimeoutMs?: number } = {}) {
  ua = await SipUa.listen({
    host: "127.0.0.1",
    port: 0,
    timers: TIMERS,
    ...extra,
    handlers: {
      onError: (e) => {
        errors.push(e);
      },
      onDrop: (r) => {
        drops.push(r);
      },
      ...handlers,
    },
  });
}

beforeEach(async () => {
  events = [];
  calls = [];
  errors = [];
  drops = [];
  peer = await RawPeer.open();
});

afterEach(() => {
  ua?.close();
  peer.close();
});

const is200Invite = (m: SipMessage) => m.kind === "response" && m.status === 200 && m.cseq.method === "INVITE";

/** Sends an INVITE and waits for the app to see it. */
/** Sends a request from the peer to the UA. */
const toUa = (spec: Parameters<RawPeer["sendRequest"]>[1]): void => peer.sendRequest(ua.address.port, spec);

async function invite(callId: string, opts: { branch?: string; headers?: string[]; rport?: boolean } = {}) {
  const br = opts.branch ?? branch();
  const text = request({
    method: "INVITE",
    uaPort: ua.address.port,
    peerPort: peer.port,
    callId,
    cseq: 1,
    branch: br,
    body: sdp(40000),
    headers: opts.headers,
    rport: opts.rport,
  });
  peer.send(text, ua.address.port);
  return { branch: br, text };
}

function ack(callId: string, toTag: string, cseq = 1, br = branch(), body?: string) {
  toUa({ method: "ACK", callId, toTag, cseq, branch: br, body });
}

async function establish(callId: string, headers?: string[]): Promise<{ dialog: Dialog; toTag: string; ok: SipResponse }> {
  await invite(callId, { headers });
  const call = await waitCall(callId);
  const dialog = call.accept(sdp(30000));
  if (!dialog) throw new Error("accept failed");
  const ok = await peer.waitResponse(200, "INVITE", callId);
  const toTag = ok.to.tag ?? "";
  ack(callId, toTag);
  await waitUntil(() => dialog.state === "confirmed");
  return { dialog, toTag, ok };
}

async function waitCall(callId: string): Promise<IncomingCall> {
  await waitUntil(() => calls.some((c) => c.callId === callId));
  return calls.find((c) => c.callId === callId) as IncomingCall;
}

async function waitUntil(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error("condition not met in time");
    await sleep(5);
  }
}

describe("INVITE server transaction", () => {
  test("100 at once, 200 retransmitted with timer G until ACK, then silence", async () => {
    await start({
      onInvite: collect,
      onAck: (d, info) => {
        events.push(`ack:${info.initial}`);
      },
    });
    await invite("inv-1");
    const trying = await peer.waitResponse(100, "INVITE", "inv-1");
    expect(trying.to.tag).toBeNull();
    const call = await waitCall("inv-1");
    expect(call.dialedNumber).toBe("15162065919");
    expect(call.callerNumber).toBe("+15551230000");
    expect(call.from).toBe('"Caller" <sip:+15551230000@127.0.0.1>;tag=ft1');
    expect(call.to).toBe("<sip:15162065919@127.0.0.1>");
    expect(call.contact).toBe(`<sip:caller@127.0.0.1:${peer.port}>`);
    expect(call.source).toEqual({ address: "127.0.0.1", port: peer.port });
    expect(call.sdp).toContain("m=audio 40000");
    const dialog = call.accept(sdp(30000));
    expect(dialog?.state).toBe("early");

    const ok = await peer.waitResponse(200, "INVITE", "inv-1");
    expect(ok.to.tag).toBe(call.localTag);
    expect(bodyText(ok)).toContain("m=audio 30000");
    expect(ok.headers.get("content-type")).toBe("application/sdp");
    expect(ok.headers.get("allow")).toBe("INVITE");
    expect(ok.headers.getAll("allow")).toContain("INFO");
    expect(ok.headers.get("contact")).toBe(`<sip:15162065919@127.0.0.1:${ua.address.port}>`);
    expect(ok.headers.get("server")).toBe("conf-mixer");
    expect(ok.via[0]?.rport).toBe(peer.port);
    expect(ok.via[0]?.received).toBe("127.0.0.1");

    await waitUntil(() => peer.count(is200Invite) >= 3);
    const gaps = peer.received.filter((r) => is200Invite(r.msg)).map((r) => r.at);
    // T1 = 20 ms doubling: the second gap is 2*T1. Measured at the receiver, so allow
    // for arrival jitter on a loaded machine; 30 still tells doubling from a fixed T1.
    expect((gaps[2] as number) - (gaps[1] as number)).toBeGreaterThanOrEqual(30);

    ack("inv-1", call.localTag);
    await waitUntil(() => dialog?.state === "confirmed");
    expect(events).toEqual(["ack:true"]);
    const n = peer.count(is200Invite);
    await sleep(250);
    expect(peer.count(is200Invite)).toBeLessThanOrEqual(n + 1);
    const after = peer.count(is200Invite);
    await sleep(200);
    expect(peer.count(is200Invite)).toBe(after);
  });

  test("a retransmitted INVITE is absorbed: the app sees one call, the last response is resent", async () => {
    await start({
      onInvite: collect,
    });
    const { text } = await invite("inv-2");
    await peer.waitResponse(100, "INVITE", "inv-2");
    await waitCall("inv-2");
    calls[0]?.ringing();
    await peer.waitResponse(180, "INVITE", "inv-2");
    peer.send(text, ua.address.port);
    await waitUntil(() => peer.count((m) => m.kind === "response" && m.status === 180) === 2);
    await sleep(30);
    expect(calls.length).toBe(1);
    calls[0]?.accept(sdp(30000));
    await peer.waitResponse(200, "INVITE", "inv-2");
    peer.send(text, ua.address.port);
    await waitUntil(() => peer.count(is200Invite) >= 2);
    expect(calls.length).toBe(1);
  });

  test("a rejected INVITE: non-2xx retransmitted until ACK (same branch), ACK absorbed", async () => {
    await start({
      onInvite: (c) => {
        c.reject(486);
      },
    });
    const { branch: br } = await invite("inv-3");
    const busy = await peer.waitResponse(486, "INVITE", "inv-3");
    expect(busy.reason).toBe("Busy Here");
    await waitUntil(() => peer.count((m) => m.kind === "response" && m.status === 486) >= 2);
    ack("inv-3", busy.to.tag ?? "", 1, br);
    await sleep(60);
    const n = peer.count((m) => m.kind === "response" && m.status === 486);
    await sleep(300);
    expect(peer.count((m) => m.kind === "response" && m.status === 486)).toBe(n);
    expect(drops).not.toContain("ACK matches no transaction or dialog");
  });

  test("no ACK for our 2xx: timer H reports the dialog failed and the stack sends BYE", async () => {
    await start({
      onInvite: (c) => {
        c.accept(sdp(30000));
      },
      onDialogFailed: (d, reason) => {
        events.push(`failed:${reason}`);
      },
    });
    await invite("inv-4");
    const bye = await peer.waitRequest("BYE", "inv-4", 3000);
    expect(events).toEqual(["failed:ack-timeout"]);
    expect(bye.uri).toBe(`sip:caller@127.0.0.1:${peer.port}`);
    // 64*T1 = 1280 ms: at most ~ log2(1280/20) + (1280-?)/160 copies of the 200.
    const n = peer.count(is200Invite);
    expect(n).toBeGreaterThan(5);
    expect(n).toBeLessThan(16);
  });

  test("the app not answering in time gets 480 and onCancel with state timed-out", async () => {
    await start(
      {
        onInvite: collect,
        onCancel: (c) => {
          events.push(`cancel:${c.state}`);
        },
      },
      { answerTimeoutMs: 100 },
    );
    await invite("inv-5");
    await peer.waitResponse(480, "INVITE", "inv-5");
    expect(events).toEqual(["cancel:timed-out"]);
    expect(calls[0]?.accept(sdp(1))).toBeNull();
  });
});

describe("CANCEL", () => {
  test("before the answer: 200 for CANCEL, 487 for INVITE, app told; accept then fails", async () => {
    await start({
      onInvite: collect,
      onCancel: (c) => {
        events.push(`cancel:${c.state}`);
      },
    });
    const { branch: br } = await invite("can-1");
    await waitCall("can-1");
    toUa({ method: "CANCEL", callId: "can-1", cseq: 1, branch: br });
    const ok = await peer.waitResponse(200, "CANCEL", "can-1");
    const terminated = await peer.waitResponse(487, "INVITE", "can-1");
    expect(terminated.to.tag).toBe(ok.to.tag);
    expect(events).toEqual(["cancel:cancelled"]);
    expect(calls[0]?.accept(sdp(1))).toBeNull();
    ack("can-1", terminated.to.tag ?? "", 1, br);
  });

  test("CANCEL matching nothing gets 481", async () => {
    await start();
    toUa({ method: "CANCEL", callId: "can-2", cseq: 1 });
    await peer.waitResponse(481, "CANCEL", "can-2");
  });
});

describe("dialogs", () => {
  test("BYE from the caller: 200, onBye; later requests in that dialog get 481", async () => {
    await start({
      onInvite: collect,
      onBye: (d) => {
        events.push(`bye:${d.callId}`);
      },
    });
    const { dialog, toTag } = await establish("dlg-1");
    toUa({ method: "BYE", callId: "dlg-1", cseq: 2, toTag });
    await peer.waitResponse(200, "BYE", "dlg-1");
    expect(events).toEqual(["bye:dlg-1"]);
    expect(dialog.state).toBe("terminated");
    expect(dialog.endReason).toBe("bye-received");
    toUa({ method: "INFO", callId: "dlg-1", cseq: 3, toTag });
    await peer.waitResponse(481, "INFO", "dlg-1");
  });

  test("our BYE goes via the route set to the remote target, retransmitted until answered", async () => {
    const proxy = await RawPeer.open();
    try {
      await start({
        onInvite: collect,
      });
      const { dialog, toTag } = await establish("dlg-2", [
        `Record-Route: <sip:127.0.0.1:${proxy.port};lr>, <sip:10.9.9.9;lr;ftag=x>`,
      ]);
      expect(dialog.routeSet).toEqual([`<sip:127.0.0.1:${proxy.port};lr>`, "<sip:10.9.9.9;lr;ftag=x>"]);
      const result = dialog.bye();
      const bye = await proxy.waitRequest("BYE", "dlg-2");
      expect(bye.uri).toBe(`sip:caller@127.0.0.1:${peer.port}`);
      expect(bye.headers.getAll("route")).toEqual([`<sip:127.0.0.1:${proxy.port};lr>`, "<sip:10.9.9.9;lr;ftag=x>"]);
      expect(bye.from.tag).toBe(toTag);
      expect(bye.to.tag).toBe("ft1");
      expect(bye.to.raw).toBe('"Caller" <sip:+15551230000@127.0.0.1>;tag=ft1');
      expect(bye.cseq.method).toBe("BYE");
      expect(bye.via[0]?.branch?.startsWith("z9hG4bK")).toBe(true);
      await proxy.waitFor(
        (r) => r.msg.kind === "request" && r.msg.method === "BYE" && r !== proxy.received[0],
        1000,
        "BYE retransmission",
      );
      expect(dialog.state).toBe("terminated");
      const top = bye.via[0];
      proxy.send(reply(bye, 200, "OK"), top?.rport === true ? ua.address.port : (top?.port ?? 5060));
      expect(await result).toEqual({ ok: true, status: 200 });
      const n = proxy.count((m) => m.kind === "request" && m.method === "BYE");
      await sleep(200);
      expect(proxy.count((m) => m.kind === "request" && m.method === "BYE")).toBe(n);
    } finally {
      proxy.close();
    }
  });

  test("BYE before the ACK is deferred until the ACK", async () => {
    await start({
      onInvite: collect,
    });
    await invite("dlg-3");
    const call = await waitCall("dlg-3");
    const dialog = call.accept(sdp(30000));
    const ok = await peer.waitResponse(200, "INVITE", "dlg-3");
    const result = dialog?.bye();
    await sleep(60);
    expect(peer.count((m) => m.kind === "request" && m.method === "BYE")).toBe(0);
    ack("dlg-3", ok.to.tag ?? "");
    const bye = await peer.waitRequest("BYE", "dlg-3");
    peer.send(reply(bye, 200, "OK"), ua.address.port);
    expect(await result).toEqual({ ok: true, status: 200 });
  });

  test("in-dialog request for an unknown dialog gets 481; BYE without To tag too", async () => {
    await start();
    toUa({ method: "BYE", callId: "nope", cseq: 2, toTag: "zz" });
    await peer.waitResponse(481, "BYE", "nope");
    toUa({ method: "BYE", callId: "nope2", cseq: 2 });
    await peer.waitResponse(481, "BYE", "nope2");
  });

  test("BYE on the early dialog (after 180) ends the call like CANCEL", async () => {
    await start({
      onInvite: (c) => {
        calls.push(c);
        c.ringing();
      },
      onCancel: (c) => {
        events.push(`cancel:${c.state}`);
      },
    });
    await invite("dlg-4");
    const ringing = await peer.waitResponse(180, "INVITE", "dlg-4");
    expect(ringing.headers.get("contact")).not.toBeNull();
    toUa({ method: "BYE", callId: "dlg-4", cseq: 2, toTag: ringing.to.tag ?? "" });
    await peer.waitResponse(200, "BYE", "dlg-4");
    await peer.waitResponse(487, "INVITE", "dlg-4");
    expect(events).toEqual(["cancel:cancelled"]);
  });

  test("INFO DTMF (dtmf-relay and dtmf) is answered 200 and reported", async () => {
    const digits: string[] = [];
    await start({
      onInvite: collect,
      onInfoDtmf: (_d, digit, ms) => {
        digits.push(`${digit}/${ms}`);
      },
    });
    const { toTag } = await establish("dtmf-1");
    const info = (cseq: number, body: string, contentType: string) =>
      toUa({ method: "INFO", callId: "dtmf-1", cseq, toTag, body, contentType });
    info(2, "Signal=5\r\nDuration=160\r\n", "application/dtmf-relay");
    await waitUntil(() => peer.count((m) => m.kind === "response" && m.cseq.method === "INFO") === 1);
    info(3, "#", "application/dtmf");
    info(4, "Signal=11\r\nDuration=100\r\n", "application/dtmf-relay");
    info(5, "<xml/>", "application/media_control+xml");
    info(6, "Signal=Z\r\n", "application/dtmf-relay");
    const r415 = await peer.waitResponse(415, "INFO", "dtmf-1");
    expect(r415.headers.getAll("accept")).toEqual(["application/dtmf-relay", "application/dtmf"]);
    await peer.waitResponse(400, "INFO", "dtmf-1");
    await waitUntil(() => digits.length === 3);
    expect(digits).toEqual(["5/160", "#/0", "#/100"]);
    expect(peer.count((m) => m.kind === "response" && m.cseq.method === "INFO" && m.status === 200)).toBe(3);
  });

  test("re-INVITE for hold: reported with direction, answered 200 with the app's SDP, retransmitted until ACK", async () => {
    const offers: ReinviteOffer[] = [];
    await start({
      onInvite: collect,
      onReinvite: async (_d, offer) => {
        offers.push(offer);
        await sleep(5);
        return { sdp: sdp(30000, "recvonly") };
      },
      onAck: (_d, info) => {
        events.push(`ack:${info.initial}`);
      },
    });
    const { dialog, toTag } = await establish("hold-1");
    const reinvite = request({
      method: "INVITE",
      uaPort: ua.address.port,
      peerPort: peer.port,
      callId: "hold-1",
      cseq: 2,
      toTag,
      body: sdp(40000, "sendonly"),
    });
    peer.send(reinvite, ua.address.port);
    await waitUntil(() => peer.count((m) => is200Invite(m) && m.cseq.seq === 2) >= 2);
    expect(offers[0]?.direction).toBe("sendonly");
    expect(dialog.localSdp).toContain("a=recvonly");
    expect(dialog.remoteSdp).toContain("a=sendonly");
    ack("hold-1", toTag, 2);
    await waitUntil(() => events.length === 2);
    expect(events).toEqual(["ack:true", "ack:false"]);
    const n = peer.count((m) => is200Invite(m) && m.cseq.seq === 2);
    await sleep(250);
    expect(peer.count((m) => is200Invite(m) && m.cseq.seq === 2)).toBeLessThanOrEqual(n + 1);

    // c=0.0.0.0 (RFC 2543 hold) and a=inactive
    toUa({ method: "INVITE", callId: "hold-1", cseq: 3, toTag, body: sdp(40000, "inactive") });
    await waitUntil(() => offers.length === 2);
    expect(offers[1]?.direction).toBe("inactive");
    ack("hold-1", toTag, 3);
  });

  test("re-INVITE without a handler gets 488; the dialog stays up", async () => {
    await start({
      onInvite: collect,
    });
    const { dialog, toTag } = await establish("hold-2");
    toUa({ method: "INVITE", callId: "hold-2", cseq: 2, toTag, body: sdp(1) });
    await peer.waitResponse(488, "INVITE", "hold-2");
    expect(dialog.state).toBe("confirmed");
  });
});

describe("out-of-dialog requests and errors", () => {
  test("OPTIONS keep-alive: 200 with Allow and Accept", async () => {
    await start();
    toUa({ method: "OPTIONS", callId: "opt-1", cseq: 1 });
    const ok = await peer.waitResponse(200, "OPTIONS", "opt-1");
    expect(ok.headers.getAll("allow")).toEqual(["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO"]);
    expect(ok.headers.getAll("accept")).toContain("application/sdp");
    expect(ok.to.tag).not.toBeNull();
  });

  test("a socket error reaches onError as the error itself, with context socket", async () => {
    const seen: { err: unknown; ctx: string }[] = [];
    await start({ onError: (err, ctx) => void seen.push({ err, ctx }) });
    // The answer goes to a port that has closed meanwhile: the kernel's port-unreachable
    // comes back as a socket error (ECONNREFUSED) on the UA's socket.
    const gone = await RawPeer.open();
    const gonePort = gone.port;
    gone.send(
      request({ method: "OPTIONS", uaPort: ua.address.port, peerPort: gonePort, callId: "opt-gone", cseq: 1 }),
      ua.address.port,
    );
    gone.close();
    await waitUntil(() => seen.some((s) => s.ctx === "socket"));
    const e = seen.find((s) => s.ctx === "socket")?.err;
    expect(e).toBeInstanceOf(Error);
    expect(String((e as Error).message)).toContain("ECONNREFUSED");
  });

  test("a retransmitted non-INVITE request gets the cached response", async () => {
    await start();
    const text = request({
      method: "OPTIONS",
      uaPort: ua.address.port,
      peerPort: peer.port,
      callId: "opt-2",
      cseq: 1,
      branch: branch(),
    });
    peer.send(text, ua.address.port);
    const first = await peer.waitResponse(200, "OPTIONS", "opt-2");
    peer.send(text, ua.address.port);
    await waitUntil(() => peer.count((m) => m.kind === "response" && m.callId === "opt-2") === 2);
    const raws = peer.received.filter((r) => r.msg.callId === "opt-2").map((r) => r.raw);
    expect(raws[1]).toBe(raws[0] as string);
    expect(first.to.tag).not.toBeNull();
  });

  test("an in-dialog request with a lower CSeq gets 500", async () => {
    await start({
      onInvite: collect,
    });
    const { toTag } = await establish("cseq-1");
    toUa({ method: "INFO", callId: "cseq-1", cseq: 5, toTag });
    await peer.waitResponse(200, "INFO", "cseq-1");
    toUa({ method: "INFO", callId: "cseq-1", cseq: 4, toTag });
    const r = await peer.waitResponse(500, "INFO", "cseq-1");
    expect(r.reason).toBe("CSeq Out of Order");
  });

  test("unknown method 501, known-but-unsupported 405 with Allow", async () => {
    await start();
    toUa({ method: "FOO", callId: "m-1", cseq: 1 });
    toUa({ method: "REGISTER", callId: "m-2", cseq: 1 });
    toUa({ method: "SUBSCRIBE", callId: "m-3", cseq: 1 });
    await peer.waitResponse(501, "FOO", "m-1");
    const r405 = await peer.waitResponse(405, "REGISTER", "m-2");
    expect(r405.headers.getAll("allow")).toContain("INVITE");
    await peer.waitResponse(405, "SUBSCRIBE", "m-3");
  });

  test("garbage is ignored, broken requests with Via and CSeq get 400, and the stack keeps working", async () => {
    await start({
      onInvite: () => {
        throw new Error("app bug");
      },
    });
    peer.send(new Uint8Array([0, 1, 2, 255, 13, 10, 13, 10]), ua.address.port);
    peer.send("hello world\r\n\r\n", ua.address.port);
    peer.send("\r\n\r\n", ua.address.port);
    toUa({ method: "OPTIONS", callId: "bad-1", cseq: 1, cseqMethod: "INVITE" });
    const bad = await peer.waitResponse(400, "INVITE", "bad-1");
    expect(bad.reason).toBe("Bad Request (CSeq method does not match the request method)");
    // A handler that throws reaches onError only.
    await invite("bad-2");
    await peer.waitResponse(100, "INVITE", "bad-2");
    await waitUntil(() => errors.length === 1);
    toUa({ method: "OPTIONS", callId: "ok-1", cseq: 1 });
    await peer.waitResponse(200, "OPTIONS", "ok-1");
    expect(drops.some((d) => d.startsWith("no empty line") || d.startsWith("bad method"))).toBe(true);
    expect(peer.garbage).toEqual([]);
  });

  test("Require with unknown extensions gets 420 with Unsupported", async () => {
    await start();
    toUa({ method: "OPTIONS", callId: "req-1", cseq: 1, headers: ["Require: 100rel, foo"] });
    const r = await peer.waitResponse(420, "OPTIONS", "req-1");
    expect(r.headers.getAll("unsupported")).toEqual(["100rel", "foo"]);
  });

  test("responses matching no transaction are dropped", async () => {
    await start();
    peer.send(
      [
        "SIP/2.0 200 OK",
        `Via: SIP/2.0/UDP 127.0.0.1:${ua.address.port};branch=z9hG4bKnothing`,
        "From: <sip:a@h>;tag=1",
        "To: <sip:b@h>;tag=2",
        "Call-ID: stray",
        "CSeq: 1 BYE",
        "",
        "",
      ].join("\r\n"),
      ua.address.port,
    );
    await waitUntil(() => drops.includes("response matches no transaction"));
    expect(peer.received.length).toBe(0);
  });
});

describe("response routing (RFC 3261 18.2.2, RFC 3581)", () => {
  test("without rport the response goes to the Via sent-by port; a foreign sent-by host gets received=", async () => {
    const other = await RawPeer.open();
    try {
      await start();
      toUa({ method: "OPTIONS", callId: "via-1", cseq: 1, rport: false, viaHost: `127.0.0.1:${other.port}` });
      const r = await other.waitResponse(200, "OPTIONS", "via-1");
      expect(r.via[0]?.received).toBeNull();
      expect(r.via[0]?.rport).toBeNull();
      expect(peer.received.length).toBe(0);

      toUa({ method: "OPTIONS", callId: "via-2", cseq: 1, rport: true, viaHost: "phone.invalid:5999" });
      const r2 = await peer.waitResponse(200, "OPTIONS", "via-2");
      expect(r2.via[0]?.received).toBe("127.0.0.1");
      expect(r2.via[0]?.rport).toBe(peer.port);
      expect(r2.via[0]?.host).toBe("phone.invalid");
    } finally {
      other.close();
    }
  });

  test("forceRport: a caller behind NAT (Contact on another host, no proxy) gets our BYE where its INVITE came from", async () => {
    await start({ onInvite: (c) => void calls.push(c) }, { forceRport: true });
    toUa({
      method: "INVITE",
      callId: "nat-1",
      cseq: 1,
      contact: "<sip:caller@10.255.0.9:5060>",
      body: sdp(40000, "sendrecv", "10.255.0.9"),
    });
    const call = await waitCall("nat-1");
    const dialog = call.accept(sdp(30000));
    if (!dialog) throw new Error("accept failed");
    const ok = await peer.waitResponse(200, "INVITE", "nat-1");
    ack("nat-1", ok.to.tag ?? "");
    await waitUntil(() => dialog.state === "confirmed");
    expect(dialog.remoteTarget).toBe("sip:caller@10.255.0.9:5060");
    void dialog.bye();
    const bye = await peer.waitRequest("BYE", "nat-1");
    // The Request-URI stays the Contact; only the packet goes to the NAT binding.
    expect(bye.uri).toBe("sip:caller@10.255.0.9:5060");
  });

  test("forceRport answers the source port even without rport", async () => {
    await start({}, { forceRport: true });
    toUa({ method: "OPTIONS", callId: "via-3", cseq: 1, rport: false, viaHost: "10.1.1.1:5070" });
    const r = await peer.waitResponse(200, "OPTIONS", "via-3");
    expect(r.via[0]?.received).toBe("127.0.0.1");
  });
});

describe("lifecycle", () => {
  test("close() is idempotent and stops every retransmission", async () => {
    await start({
      onInvite: (c) => {
        c.accept(sdp(1));
      },
    });
    await invite("close-1");
    await peer.waitResponse(200, "INVITE", "close-1");
    ua.close();
    ua.close();
    const n = peer.count(is200Invite);
    await sleep(300);
    expect(peer.count(is200Invite)).toBe(n);
    expect(ua.layer.server.size).toBe(0);
    expect(ua.isClosed).toBe(true);
  });
});
