import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { udp } from "bun";
import type { Dialog, ReinviteResult } from "./dialog.ts";
import { sdp } from "./test-peer.ts";
import { SipUa } from "./ua.ts";

/**
 * Interop of the hand-over with a real SIP client: Net::SIP (Debian libnet-sip-perl)
 * calls UA A, which moves the call to UA B with a re-INVITE (new Contact, new RTP
 * address); B adopts the dialog. Skipped, with a message, when perl or Net::SIP is missing.
 */
const hasNetSip = Bun.spawnSync(["perl", "-MNet::SIP", "-e", "1"], { stderr: "ignore", stdout: "ignore" }).exitCode === 0;
if (!hasNetSip) console.warn("interop-net-sip-reinvite: skipped, perl with Net::SIP (libnet-sip-perl) is not installed");

const script = join(import.meta.dir, "fixtures", "net-sip-caller.pl");

type Socket = udp.Socket<"buffer">;
let a: SipUa;
let b: SipUa;
let rtpA: Socket;
let rtpB: Socket;
let probe: Socket;
let rtpAtB: number;
let events: string[];

beforeEach(async () => {
  events = [];
  rtpAtB = 0;
  rtpA = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  rtpB = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data() {
        rtpAtB += 1;
      },
    },
  });
  probe = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
});
afterEach(() => {
  a?.close();
  b?.close();
  rtpA.close();
  rtpB.close();
  probe.close();
});

type HandOver = { result: ReinviteResult; adopted: Dialog | null };

/** A answers; on the ACK it re-INVITEs towards B, then releases the dialog and B adopts it. Resolves once the UAs listen; `handedOver` (wrapped, so that awaiting this does not wait for it) once B has the dialog. */
async function listenPair(): Promise<{ handedOver: Promise<HandOver> }> {
  b = await SipUa.listen({
    host: "127.0.0.1",
    port: 0,
    handlers: {
      onBye: (d) => void events.push(`b-bye:${d.endReason}`),
      onError: (e) => void events.push(`b-error:${String(e)}`),
    },
  });
  let done: (v: HandOver) => void = () => {};
  const handedOver = new Promise<HandOver>((r) => {
    done = r;
  });
  a = await SipUa.listen({
    host: "127.0.0.1",
    port: 0,
    handlers: {
      onInvite: (c) => void c.accept(sdp(rtpA.port)),
      onAck: (d, info) => {
        if (!info.initial) return;
        void d.reinvite({ sdp: sdp(rtpB.port), contact: b.contact("conf") }).then((result) => {
          if (!result.ok) return done({ result, adopted: null });
          const snap = JSON.parse(JSON.stringify(d.snapshot()));
          a.releaseDialog(d);
          done({ result, adopted: b.adoptDialog(snap) });
        });
      },
      onBye: (d) => void events.push(`a-bye:${d.endReason}`),
      onError: (e) => void events.push(`a-error:${String(e)}`),
    },
  });
  return { handedOver };
}

function runCaller(mode: "caller-bye" | "wait-bye") {
  const proc = Bun.spawn(["perl", script, String(a.address.port), mode], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill(), 9000);
  return Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]).then(
    ([out, err, code]) => {
      clearTimeout(timer);
      return { out, err, code };
    },
  );
}

/** Sends RTP to Net::SIP's port (from its SDP answer) until its echo reaches B's RTP socket. */
async function echoReachesB(answer: string): Promise<boolean> {
  const port = Number(/^m=audio (\d+)/m.exec(answer)?.[1]);
  const ip = /^c=IN IP4 (\S+)/m.exec(answer)?.[1] ?? "127.0.0.1";
  const pkt = new Uint8Array(12 + 160);
  for (let seq = 1; seq <= 60 && rtpAtB === 0; seq++) {
    pkt.set([0x80, 0x00, seq >> 8, seq & 0xff, 0, 0, (seq * 160) >> 8, (seq * 160) & 0xff, 1, 2, 3, 4]);
    probe.send(pkt, port, ip);
    await Bun.sleep(50);
  }
  return rtpAtB > 0;
}

describe.skipIf(!hasNetSip)("Net::SIP interop: moving a call with a re-INVITE", () => {
  test("Net::SIP accepts the re-INVITE (its media follows to B's address); B hangs up", async () => {
    const { handedOver } = await listenPair();
    const caller = runCaller("wait-bye");
    const { result, adopted } = await handedOver;
    if (!result.ok) throw new Error(`${result.status} ${result.reason}`);
    expect(result.status).toBe(200);
    expect(result.sdp).toContain("m=audio");
    expect(await echoReachesB(result.sdp ?? "")).toBe(true);
    expect(adopted?.state).toBe("confirmed");
    expect(await adopted?.bye()).toEqual({ ok: true, status: 200 });
    const r = await caller;
    expect(r.out).toBe("ESTABLISHED\nBYE RECEIVED\n");
    expect(r.code).toBe(0);
    expect(events).toEqual([]);
  }, 10000);

  test("Net::SIP hangs up after the move; its BYE is answered by whichever UA it reaches", async () => {
    const { handedOver } = await listenPair();
    const caller = runCaller("caller-bye");
    const { result } = await handedOver;
    expect(result.ok).toBe(true);
    const r = await caller;
    expect(r.err).toBe("");
    expect(r.out).toBe("ESTABLISHED\nBYE DONE\n");
    expect(r.code).toBe(0);
    // Net::SIP 0.835 keeps the remote target of the initial 2xx (it ignores the target
    // refresh of an incoming re-INVITE), so its BYE goes to A, which answers from the
    // moved state. A client that honours the refresh hangs up at B instead.
    expect(events.length).toBe(1);
    expect(["a-bye:moved", "b-bye:bye-received"]).toContain(events[0] as string);
  }, 10000);
});
