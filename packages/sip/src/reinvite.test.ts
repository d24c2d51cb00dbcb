import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  type Dialog,
  type DialogSnapshot,
  DialogSnapshotError,
  DuplicateDialogError,
  parseDialogSnapshot,
  type ReinviteResult,
} from "./dialog.ts";
import { bodyText, type SipMessage, type SipRequest, type SipResponse } from "./message.ts";
import { branch, RawPeer, reply, request, sdp, sleep } from "./test-peer.ts";
import { type IncomingCall, SipUa, type SipUaHandlers } from "./ua.ts";

/**
 * Our re-INVITE (RFC 3261 14.1, target refresh 12.2) and the hand-over of a dialog
 * to another UA: snapshot, release, adopt. A scripted peer plays the phone over UDP.
 */

const TIMERS = { t1: 20, t2: 160, t4: 100 };
/** 64*T1 with TIMERS: how long a released dialog is remembered. */
const MOVED_MS = 64 * TIMERS.t1;

let ua: SipUa;
let peer: RawPeer;
let calls: IncomingCall[];
let events: string[];
let errors: unknown[];
const extraUas: SipUa[] = [];

async function listen(handlers: SipUaHandlers = {}): Promise<SipUa> {
  const u = await SipUa.listen({
    host: "127.0.0.1",
    port: 0,
    timers: TIMERS,
    handlers: { onError: (e) => void errors.push(e), ...handlers },
  });
  extraUas.push(u);
  return u;
}

async function start(handlers: SipUaHandlers = {}): Promise<void> {
  ua = await listen({ onInvite: (c) => void calls.push(c), ...handlers });
}

beforeEach(async () => {
  calls = [];
  events = [];
  errors = [];
  peer = await RawPeer.open();
});

afterEach(() => {
  for (const u of extraUas.splice(0)) u.close();
  peer.close();
});

async function waitUntil(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error("condition not met in time");
    await sleep(5);
  }
}

/** The peer calls `ua`, which answers; the peer ACKs. */
async function establish(callId: string, headers?: string[]): Promise<{ dialog: Dialog; toTag: string }> {
  toUa({ method: "INVITE", callId, cseq: 1, body: sdp(40000), headers });
  await waitUntil(() => calls.some((c) => c.callId === callId));
  const call = calls.find((c) => c.callId === callId) as IncomingCall;
  const dialog = call.accept(sdp(30000));
  if (!dialog) throw new Error("accept failed");
  const ok = await peer.waitResponse(200, "INVITE", callId);
  const toTag = ok.to.tag ?? "";
  toUa({ method: "ACK", callId, cseq: 1, toTag });
  await waitUntil(() => dialog.state === "confirmed");
  return { dialog, toTag };
}

/** Sends a request from the peer to the UA. */
const toUa = (spec: Parameters<RawPeer["sendRequest"]>[1]): void => peer.sendRequest(ua.address.port, spec);

/** Port a response to `req` goes to: the UA's, as its top Via says. */
function viaPort(req: SipRequest): number {
  return req.via[0]?.port ?? 5060;
}

const isReq = (method: string, seq?: number) => (m: SipMessage) =>
  m.kind === "request" && m.method === method && (seq === undefined || m.cseq.seq === seq);

function settledNow<T>(p: Promise<T>): Promise<T | "pending"> {
  return Promise.race([p, sleep(0).then(() => "pending" as const)]);
}

describe("Dialog.reinvite", () => {
  test("target refresh on a UAS dialog: INVITE via the route set with the foreign Contact, 2xx ACKed (again when retransmitted)", async () => {
    await start();
    const { dialog, toTag } = await establish("re-1", [`Record-Route: <sip:127.0.0.1:${peer.port};lr>`]);
    const seqBefore = dialog.localSeq;
    const result = dialog.reinvite({ sdp: sdp(50000), contact: "<sip:conf@127.0.0.1:5071>" });

    const inv = await peer.waitRequest("INVITE", "re-1");
    expect(inv.uri).toBe(`sip:caller@127.0.0.1:${peer.port}`);
    expect(inv.headers.getAll("route")).toEqual([`<sip:127.0.0.1:${peer.port};lr>`]);
    expect(inv.cseq).toEqual({ seq: seqBefore + 1, method: "INVITE" });
    expect(inv.headers.get("contact")).toBe("<sip:conf@127.0.0.1:5071>");
    expect(inv.from.tag).toBe(toTag);
    expect(inv.to.tag).toBe("ft1");
    expect(inv.to.raw).toBe('"Caller" <sip:+15551230000@127.0.0.1>;tag=ft1');
    expect(inv.contentType).toBe("application/sdp");
    expect(bodyText(inv)).toBe(sdp(50000));
    expect(inv.via[0]?.port).toBe(ua.address.port);
    expect(inv.via[0]?.branch?.startsWith("z9hG4bK")).toBe(true);
    // Timer A retransmits until a response.
    await peer.waitFor((r) => isReq("INVITE")(r.msg) && r.msg !== inv && r.msg.callId === "re-1", 500, "retransmission");

    peer.send(reply(inv, 100, "Trying"), viaPort(inv));
    await sleep(10);
    expect(await settledNow(result)).toBe("pending");
    const ok = reply(inv, 200, "OK", [`Contact: <sip:phone2@127.0.0.1:${peer.port};transport=udp>`], sdp(41000));
    peer.send(ok, viaPort(inv));
    const r = await result;
    expect(r).toEqual({ ok: true, status: 200, sdp: sdp(41000), contact: `<sip:phone2@127.0.0.1:${peer.port};transport=udp>` });
    expect(dialog.remoteTarget).toBe(`sip:phone2@127.0.0.1:${peer.port};transport=udp`);
    expect(dialog.localSdp).toBe(sdp(50000));
    expect(dialog.remoteSdp).toBe(sdp(41000));
    expect(dialog.state).toBe("confirmed");

    const ackReq = await peer.waitRequest("ACK", "re-1");
    expect(ackReq.uri).toBe(`sip:phone2@127.0.0.1:${peer.port};transport=udp`);
    expect(ackReq.cseq).toEqual({ seq: inv.cseq.seq, method: "ACK" });
    expect(ackReq.headers.getAll("route")).toEqual([`<sip:127.0.0.1:${peer.port};lr>`]);
    expect(ackReq.via[0]?.branch).not.toBe(inv.via[0]?.branch);
    expect(ackReq.from.tag).toBe(toTag);
    expect(ackReq.to.tag).toBe("ft1");
    expect(ackReq.body.length).toBe(0);

    peer.send(ok, viaPort(inv));
    await waitUntil(() => peer.count(isReq("ACK")) === 2);
    const acks = peer.received.filter((x) => isReq("ACK")(x.msg)).map((x) => x.raw);
    expect(acks[1]).toBe(acks[0] as string);

    // Later requests use the new target and the next CSeq.
    const bye = dialog.bye();
    const byeReq = await peer.waitRequest("BYE", "re-1");
    expect(byeReq.uri).toBe(`sip:phone2@127.0.0.1:${peer.port};transport=udp`);
    expect(byeReq.cseq.seq).toBe(inv.cseq.seq + 1);
    peer.send(reply(byeReq, 200, "OK"), viaPort(byeReq));
    expect(await bye).toEqual({ ok: true, status: 200 });
    expect(errors).toEqual([]);
  });

  test("without a contact option our own Contact is sent", async () => {
    await start();
    const { dialog } = await establish("re-2");
    const result = dialog.reinvite({ sdp: sdp(50002) });
    const inv = await peer.waitRequest("INVITE", "re-2");
    expect(inv.headers.get("contact")).toBe(`<sip:15162065919@127.0.0.1:${ua.address.port}>`);
    // A 2xx without Contact keeps the remote target.
    peer.send(reply(inv, 200, "OK", [], sdp(41002)), viaPort(inv));
    expect(await result).toEqual({ ok: true, status: 200, sdp: sdp(41002), contact: null });
    expect(dialog.remoteTarget).toBe(`sip:caller@127.0.0.1:${peer.port}`);
    const ackReq = await peer.waitRequest("ACK", "re-2");
    expect(ackReq.uri).toBe(`sip:caller@127.0.0.1:${peer.port}`);
  });

  test("488: not ok, ACKed on the INVITE's branch, the session stays as it was", async () => {
    await start();
    const { dialog } = await establish("re-3");
    const result = dialog.reinvite({ sdp: sdp(50003), contact: "<sip:conf@127.0.0.1:5071>" });
    const inv = await peer.waitRequest("INVITE", "re-3");
    peer.send(reply(inv, 488, "Not Acceptable Here", [`Contact: <sip:elsewhere@127.0.0.1:${peer.port}>`]), viaPort(inv));
    expect(await result).toEqual({ ok: false, status: 488, reason: "Not Acceptable Here" });
    const ackReq = await peer.waitRequest("ACK", "re-3");
    expect(ackReq.via[0]?.branch).toBe(inv.via[0]?.branch);
    expect(ackReq.uri).toBe(inv.uri);
    expect(ackReq.cseq).toEqual({ seq: inv.cseq.seq, method: "ACK" });
    expect(dialog.remoteTarget).toBe(`sip:caller@127.0.0.1:${peer.port}`);
    expect(dialog.localSdp).toBe(sdp(30000));
    expect(dialog.remoteSdp).toBe(sdp(40000));
    expect(dialog.state).toBe("confirmed");

    // The next one may go out at once, with the next CSeq.
    const again = dialog.reinvite({ sdp: sdp(50004) });
    const second = (await peer.waitFor((x) => isReq("INVITE", inv.cseq.seq + 1)(x.msg), 2000, "second re-INVITE"))
      .msg as SipRequest;
    peer.send(reply(second, 491, "Request Pending"), viaPort(second));
    expect(await again).toEqual({ ok: false, status: 491, reason: "Request Pending" });
  });

  test("no final response: 408 after timeoutMs (1xx ignored); the dialog can re-INVITE again", async () => {
    await start();
    const { dialog } = await establish("re-4");
    const t0 = performance.now();
    const result = dialog.reinvite({ sdp: sdp(50005), timeoutMs: 150 });
    const inv = await peer.waitRequest("INVITE", "re-4");
    peer.send(reply(inv, 180, "Ringing"), viaPort(inv));
    expect(await result).toEqual({ ok: false, status: 408, reason: "Request Timeout" });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    const n = peer.count(isReq("INVITE"));
    await sleep(100);
    expect(peer.count(isReq("INVITE"))).toBe(n);
    const next = dialog.reinvite({ sdp: sdp(50006), timeoutMs: 50 });
    expect(await settledNow(next)).toBe("pending");
    expect(await next).toMatchObject({ ok: false, status: 408 });
  });

  test("default timeout is timer B (64*T1)", async () => {
    await start();
    const { dialog } = await establish("re-5");
    const t0 = performance.now();
    expect(await dialog.reinvite({ sdp: sdp(1) })).toEqual({ ok: false, status: 408, reason: "Request Timeout" });
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(64 * TIMERS.t1 - 5);
    expect(took).toBeLessThan(64 * TIMERS.t1 + 1000);
  });

  test("one at a time: a second call while one is pending gets 491 at once; ended dialogs get 481; early ones 491", async () => {
    await start();
    const { dialog, toTag } = await establish("re-6");
    const first = dialog.reinvite({ sdp: sdp(50007) });
    const second = await settledNow(dialog.reinvite({ sdp: sdp(50008) }));
    expect(second).toEqual({ ok: false, status: 491, reason: "Request Pending" });
    const inv = await peer.waitRequest("INVITE", "re-6");
    expect(bodyText(inv)).toBe(sdp(50007));
    peer.send(reply(inv, 200, "OK", [], sdp(41007)), viaPort(inv));
    expect((await first).ok).toBe(true);
    await sleep(30);
    expect(peer.count((m) => isReq("INVITE")(m) && m.callId === "re-6" && bodyText(m) === sdp(50008))).toBe(0);

    toUa({ method: "BYE", callId: "re-6", cseq: 2, toTag });
    await peer.waitResponse(200, "BYE", "re-6");
    expect(await settledNow(dialog.reinvite({ sdp: sdp(1) }))).toEqual({
      ok: false,
      status: 481,
      reason: "Call/Transaction Does Not Exist",
    });

    // Answered but not yet ACKed: another INVITE is still in progress.
    toUa({ method: "INVITE", callId: "re-7", cseq: 1, body: sdp(40000) });
    await waitUntil(() => calls.some((c) => c.callId === "re-7"));
    const early = calls.find((c) => c.callId === "re-7")?.accept(sdp(30000)) as Dialog;
    expect(early.state).toBe("early");
    expect(await settledNow(early.reinvite({ sdp: sdp(1) }))).toMatchObject({ ok: false, status: 491 });
  });

  test("glare: the peer's re-INVITE while ours is pending gets 491 and never reaches the app", async () => {
    await start({
      onReinvite: () => {
        events.push("app-reinvite");
        return { sdp: sdp(30001) };
      },
    });
    const { dialog, toTag } = await establish("glare-1");
    const ours = dialog.reinvite({ sdp: sdp(50009) });
    const inv = await peer.waitRequest("INVITE", "glare-1");
    const br = branch();
    toUa({ method: "INVITE", callId: "glare-1", cseq: 2, toTag, branch: br, body: sdp(40001) });
    const pending = await peer.waitResponse(491, "INVITE", "glare-1");
    expect(pending.to.tag).toBe(toTag);
    expect(events).toEqual([]);
    toUa({ method: "ACK", callId: "glare-1", cseq: 2, toTag, branch: br });
    // The peer's side of the glare: it rejects ours with 491 too.
    peer.send(reply(inv, 491, "Request Pending"), viaPort(inv));
    expect(await ours).toEqual({ ok: false, status: 491, reason: "Request Pending" });

    // With nothing pending, the peer's re-INVITE reaches the app again.
    toUa({ method: "INVITE", callId: "glare-1", cseq: 3, toTag, body: sdp(40002) });
    await waitUntil(() => peer.count((m) => m.kind === "response" && m.status === 200 && m.cseq.seq === 3) >= 1);
    expect(events).toEqual(["app-reinvite"]);
    expect(dialog.remoteSdp).toBe(sdp(40002));
  });

  test("a UAC dialog re-INVITEs too", async () => {
    ua = await listen();
    const out = ua.invite({ target: `sip:record@127.0.0.1:${peer.port}`, sdp: sdp(31000) });
    const inv = await peer.waitRequest("INVITE");
    const to = `${inv.headers.get("to")};tag=rec1`;
    const ok = reply(inv, 200, "OK", [`Contact: <sip:rec@127.0.0.1:${peer.port}>`], sdp(32000)).replace(
      `To: ${inv.headers.get("to")}`,
      `To: ${to}`,
    );
    peer.send(ok, viaPort(inv));
    const r = await out.result;
    if (!r.ok) throw new Error(r.reason);
    await peer.waitRequest("ACK");
    const result = r.dialog.reinvite({ sdp: sdp(31001) });
    const re = await peer.waitFor((x) => isReq("INVITE")(x.msg) && x.msg.cseq.seq === inv.cseq.seq + 1, 2000, "re-INVITE");
    const reReq = re.msg as SipRequest;
    expect(reReq.uri).toBe(`sip:rec@127.0.0.1:${peer.port}`);
    expect(reReq.to.tag).toBe("rec1");
    expect(reReq.from.tag).toBe(out.localTag);
    expect(reReq.headers.get("contact")).toBe(`<sip:mixer@127.0.0.1:${ua.address.port}>`);
    peer.send(reply(reReq, 200, "OK", [], sdp(32001)), viaPort(reReq));
    expect(await result).toMatchObject({ ok: true, status: 200, sdp: sdp(32001) });
    await peer.waitFor((x) => isReq("ACK", reReq.cseq.seq)(x.msg), 2000, "ACK of the re-INVITE");
  });

  test("a contact that is not a name-addr (or would inject headers) is refused before anything is sent", async () => {
    await start();
    const { dialog } = await establish("re-9");
    const seq = dialog.localSeq;
    for (const contact of ["<sip:conf@127.0.0.1:5071>\r\nX-Evil: 1", "not a contact", ""]) {
      await expect(dialog.reinvite({ sdp: sdp(1), contact })).rejects.toBeInstanceOf(TypeError);
    }
    await sleep(30);
    expect(dialog.localSeq).toBe(seq);
    expect(peer.count((m) => isReq("INVITE")(m) && m.callId === "re-9")).toBe(0);
  });

  test("close() settles a pending re-INVITE", async () => {
    await start();
    const { dialog } = await establish("re-8");
    const result = dialog.reinvite({ sdp: sdp(1) });
    await peer.waitRequest("INVITE", "re-8");
    ua.close();
    expect(await result).toEqual({ ok: false, status: 0, reason: "closed" });
  });
});

describe("snapshot", () => {
  test("survives JSON and carries everything a Dialog is built from", async () => {
    await start();
    const { dialog, toTag } = await establish("snap-1", ["Record-Route: <sip:10.0.0.1;lr>"]);
    const snap = JSON.parse(JSON.stringify(dialog.snapshot())) as DialogSnapshot;
    expect(snap).toEqual({
      role: "uas",
      callId: "snap-1",
      localTag: toTag,
      remoteTag: "ft1",
      localHeader: "<sip:15162065919@127.0.0.1>",
      remoteHeader: '"Caller" <sip:+15551230000@127.0.0.1>;tag=ft1',
      remoteTarget: `sip:caller@127.0.0.1:${peer.port}`,
      routeSet: ["<sip:10.0.0.1;lr>"],
      localSeq: dialog.localSeq,
      remoteSeq: 1,
      source: { address: "127.0.0.1", port: peer.port },
      localSdp: sdp(30000),
      remoteSdp: sdp(40000),
    });
    expect(parseDialogSnapshot(snap)).toEqual(snap);
  });

  const good: DialogSnapshot = {
    role: "uas",
    callId: "c",
    localTag: "l",
    remoteTag: "r",
    localHeader: "<sip:a@h>",
    remoteHeader: "<sip:b@h>;tag=r",
    remoteTarget: "sip:b@127.0.0.1:5062",
    routeSet: [],
    localSeq: 5,
    remoteSeq: null,
    source: { address: "127.0.0.1", port: 5062 },
    localSdp: null,
    remoteSdp: null,
  };
  const bad: { name: string; input: unknown; field: string }[] = [
    { name: "not an object", input: "x", field: "(snapshot)" },
    { name: "unknown role", input: { ...good, role: "proxy" }, field: "role" },
    { name: "empty Call-ID", input: { ...good, callId: "" }, field: "callId" },
    { name: "missing local tag", input: { ...good, localTag: undefined }, field: "localTag" },
    { name: "unparseable remote target", input: { ...good, remoteTarget: "not a uri" }, field: "remoteTarget" },
    { name: "route set of numbers", input: { ...good, routeSet: [1] }, field: "routeSet" },
    { name: "fractional CSeq", input: { ...good, localSeq: 1.5 }, field: "localSeq" },
    { name: "CSeq beyond 2^31", input: { ...good, localSeq: 2 ** 31 }, field: "localSeq" },
    { name: "remote CSeq as string", input: { ...good, remoteSeq: "3" }, field: "remoteSeq" },
    { name: "source without port", input: { ...good, source: { address: "127.0.0.1" } }, field: "source" },
    { name: "SDP as number", input: { ...good, remoteSdp: 1 }, field: "remoteSdp" },
  ];
  for (const c of bad) {
    test(`rejects a snapshot: ${c.name}`, () => {
      let err: unknown = null;
      try {
        parseDialogSnapshot(c.input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DialogSnapshotError);
      expect((err as DialogSnapshotError).field).toBe(c.field);
      expect((err as Error).message).toBe(`dialog snapshot: bad or missing field "${c.field}"`);
    });
  }
});

describe("hand-over to another UA", () => {
  /** Node A answers, moves the call to node B with a re-INVITE, releases; B adopts. */
  async function handOver(callId: string, bHandlers: SipUaHandlers = {}) {
    await start({ onBye: (d) => void events.push(`a-bye:${d.endReason}`) });
    const b = await listen(bHandlers);
    const { dialog: a, toTag } = await establish(callId);
    const result = a.reinvite({ sdp: sdp(52000), contact: b.contact("conf") });
    const inv = await peer.waitRequest("INVITE", callId);
    expect(inv.headers.get("contact")).toBe(`<sip:conf@127.0.0.1:${b.address.port}>`);
    const ok = reply(inv, 200, "OK", [`Contact: <sip:caller@127.0.0.1:${peer.port}>`], sdp(42000));
    peer.send(ok, viaPort(inv));
    const r: ReinviteResult = await result;
    expect(r.ok).toBe(true);
    await peer.waitRequest("ACK", callId);
    const snap = JSON.parse(JSON.stringify(a.snapshot())) as DialogSnapshot;
    ua.releaseDialog(a);
    const adopted = b.adoptDialog(snap);
    return { a, b, adopted, toTag, inv, ok };
  }

  /** A request from the phone to B's Contact (what the target refresh told it). */
  function toB(b: SipUa, method: string, callId: string, toTag: string, cseq: number, body?: string, contentType?: string) {
    peer.send(
      request({
        method,
        uri: `sip:conf@127.0.0.1:${b.address.port}`,
        uaPort: b.address.port,
        peerPort: peer.port,
        callId,
        cseq,
        toTag,
        body,
        contentType,
      }),
      b.address.port,
    );
  }

  test("B handles the phone's INFO, OPTIONS, re-INVITE and BYE; A no longer does", async () => {
    const digits: string[] = [];
    const { a, b, adopted, toTag } = await handOver("ho-1", {
      onInfoDtmf: (d, digit) => void digits.push(`${d.callId}:${digit}`),
      onReinvite: (_d, offer) => {
        events.push(`b-reinvite:${offer.direction}`);
        return { sdp: sdp(52000, "recvonly") };
      },
      onAck: (_d, info) => void events.push(`b-ack:${info.initial}`),
      onBye: (d) => void events.push(`b-bye:${d.callId}:${d.endReason}`),
    });
    expect(a.state).toBe("terminated");
    expect(a.endReason).toBe("moved");
    expect(ua.dialogs.size).toBe(0);
    expect(adopted.state).toBe("confirmed");
    expect(adopted.id).toBe(a.id);
    expect(adopted.localSdp).toBe(sdp(52000));
    expect(adopted.remoteSdp).toBe(sdp(42000));
    expect(b.dialogs.get(adopted.id)).toBe(adopted);
    expect(() => b.adoptDialog(a.snapshot())).toThrow(DuplicateDialogError);
    // A's bye() on the moved dialog sends nothing.
    expect(await a.bye()).toEqual({ ok: true, status: 0 });

    toB(b, "INFO", "ho-1", toTag, 2, "Signal=7\r\nDuration=100\r\n", "application/dtmf-relay");
    await peer.waitResponse(200, "INFO", "ho-1");
    expect(digits).toEqual(["ho-1:7"]);
    expect(peer.received.find((x) => x.msg.kind === "response" && x.msg.cseq.method === "INFO")?.from.port).toBe(b.address.port);

    toB(b, "OPTIONS", "ho-1", toTag, 3);
    const opt = await peer.waitResponse(200, "OPTIONS", "ho-1");
    expect(opt.headers.get("contact")).toBe(`<sip:conf@127.0.0.1:${b.address.port}>`);
    expect(opt.to.tag).toBe(toTag);

    toB(b, "INVITE", "ho-1", toTag, 4, sdp(42000, "sendonly"));
    const got = await peer.waitFor(
      (x) => x.msg.kind === "response" && x.msg.status === 200 && x.msg.cseq.seq === 4 && x.msg.cseq.method === "INVITE",
      2000,
      "200 to the re-INVITE at B",
    );
    const reOk = got.msg as SipResponse;
    expect(got.from.port).toBe(b.address.port);
    expect(reOk.headers.get("contact")).toBe(`<sip:conf@127.0.0.1:${b.address.port}>`);
    expect(bodyText(reOk)).toBe(sdp(52000, "recvonly"));
    toB(b, "ACK", "ho-1", toTag, 4);
    await waitUntil(() => events.includes("b-ack:false"));
    expect(events).toEqual(["b-reinvite:sendonly", "b-ack:false"]);

    toB(b, "BYE", "ho-1", toTag, 5);
    await peer.waitResponse(200, "BYE", "ho-1");
    expect(events).toEqual(["b-reinvite:sendonly", "b-ack:false", "b-bye:ho-1:bye-received"]);
    expect(adopted.state).toBe("terminated");
    expect(b.dialogs.size).toBe(0);
    expect(errors).toEqual([]);
  });

  test("B's bye() reaches the phone from B with the dialog's tags and a CSeq above A's", async () => {
    const { b, adopted, toTag, inv } = await handOver("ho-2");
    const result = adopted.bye();
    const got = await peer.waitFor((x) => isReq("BYE")(x.msg) && x.msg.callId === "ho-2", 2000, "BYE from B");
    const bye = got.msg as SipRequest;
    expect(got.from.port).toBe(b.address.port);
    expect(bye.via[0]?.port).toBe(b.address.port);
    expect(bye.uri).toBe(`sip:caller@127.0.0.1:${peer.port}`);
    expect(bye.from.tag).toBe(toTag);
    expect(bye.to.tag).toBe("ft1");
    expect(bye.to.raw).toBe('"Caller" <sip:+15551230000@127.0.0.1>;tag=ft1');
    expect(bye.callId).toBe("ho-2");
    expect(bye.cseq).toEqual({ seq: inv.cseq.seq + 1, method: "BYE" });
    peer.send(reply(bye, 200, "OK"), viaPort(bye));
    expect(await result).toEqual({ ok: true, status: 200 });
    expect(adopted.endReason).toBe("bye-sent");
  });

  test("after the release A re-ACKs a retransmitted 2xx, answers INFO and OPTIONS, 200 + onBye to a BYE; then forgets", async () => {
    const { b, toTag, ok, a } = await handOver("ho-3");
    const acksBefore = peer.count(isReq("ACK"));
    peer.send(ok, ua.address.port);
    await waitUntil(() => peer.count(isReq("ACK")) === acksBefore + 1);
    const lastAck = peer.received.filter((x) => isReq("ACK")(x.msg)).at(-1);
    expect(lastAck?.from.port).toBe(ua.address.port);

    const toA = (method: string, cseq: number) => toUa({ method, callId: "ho-3", cseq, toTag });
    // A phone that missed the target refresh still reaches us: keys and pings are answered.
    toA("INFO", 2);
    await peer.waitResponse(200, "INFO", "ho-3");
    toA("OPTIONS", 3);
    await peer.waitResponse(200, "OPTIONS", "ho-3");
    toA("BYE", 4);
    await peer.waitResponse(200, "BYE", "ho-3");
    expect(events).toEqual(["a-bye:moved"]);
    expect(a.endReason).toBe("moved");
    // B is untouched: forwarding the hang-up is the app's business.
    expect(b.dialogs.size).toBe(1);
    toA("BYE", 5);
    await peer.waitResponse(481, "BYE", "ho-3");
    expect(events).toEqual(["a-bye:moved"]);
  });

  /** A's phone hangs up after the moved state is over: 481, and the app hears nothing. */
  async function lateByeGets481(callId: string, toTag: string): Promise<void> {
    toUa({ method: "BYE", callId, cseq: 2, toTag });
    await peer.waitResponse(481, "BYE", callId);
    expect(events).toEqual([]);
  }

  test("forgetReleased ends the moved state at once", async () => {
    const { toTag, a } = await handOver("ho-6");
    ua.forgetReleased(a);
    await lateByeGets481("ho-6", toTag);
  });

  test("the moved state ends after 64*T1: a late BYE to A gets 481", async () => {
    const { toTag } = await handOver("ho-4");
    await sleep(MOVED_MS + 100);
    await lateByeGets481("ho-4", toTag);
  });

  test("releaseDialog is a no-op for a dialog this UA does not hold; adopting back takes it over again", async () => {
    const { a, b, adopted, toTag } = await handOver("ho-5");
    b.releaseDialog(a);
    expect(b.dialogs.get(adopted.id)).toBe(adopted);
    ua.releaseDialog(a);
    b.releaseDialog(adopted);
    expect(adopted.endReason).toBe("moved");
    const back = ua.adoptDialog(adopted.snapshot());
    expect(back.localSeq).toBe(adopted.localSeq);
    toUa({ method: "INFO", callId: "ho-5", cseq: 2, toTag });
    await peer.waitResponse(200, "INFO", "ho-5");
  });
});
