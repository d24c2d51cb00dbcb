import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { udp } from "bun";
import type { Dialog } from "./dialog.ts";
import { sdp } from "./test-peer.ts";
import { type IncomingCall, SipUa } from "./ua.ts";

/**
 * Interop with a real SIP client: Net::SIP (Debian libnet-sip-perl) calls our UAS.
 * Skipped, with a message, when perl or Net::SIP is missing.
 */
const hasNetSip = Bun.spawnSync(["perl", "-MNet::SIP", "-e", "1"], { stderr: "ignore", stdout: "ignore" }).exitCode === 0;
if (!hasNetSip) console.warn("interop-net-sip: skipped, perl with Net::SIP (libnet-sip-perl) is not installed");

const script = join(import.meta.dir, "fixtures", "net-sip-caller.pl");
const calleeScript = join(import.meta.dir, "fixtures", "net-sip-callee.pl");

let ua: SipUa;
let rtp: udp.Socket<"buffer">;
let events: string[];

beforeEach(async () => {
  events = [];
  // Somewhere for Net::SIP's RTP to go (it echoes media by default).
  rtp = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
});
afterEach(() => {
  ua?.close();
  rtp.close();
});

async function runCaller(mode: "caller-bye" | "wait-bye"): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn(["perl", script, String(ua.address.port), mode], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill(), 9000);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, out, err };
}

describe.skipIf(!hasNetSip)("Net::SIP interop", () => {
  test("Net::SIP calls in, we answer, it hangs up", async () => {
    let call: IncomingCall | null = null;
    ua = await SipUa.listen({
      host: "127.0.0.1",
      port: 0,
      handlers: {
        onInvite: (c) => {
          call = c;
          events.push(`invite:${c.dialedNumber}:${c.callerNumber}`);
          c.ringing();
          c.accept(sdp(rtp.port));
        },
        onAck: (_d, info) => void events.push(`ack:${info.initial}`),
        onBye: () => void events.push("bye"),
        onError: (e) => void events.push(`error:${String(e)}`),
      },
    });
    const r = await runCaller("caller-bye");
    expect(r.err).toBe("");
    expect(r.out).toBe("ESTABLISHED\nBYE DONE\n");
    expect(r.code).toBe(0);
    expect(events).toEqual(["invite:15162065919:+15551230000", "ack:true", "bye"]);
    expect((call as IncomingCall | null)?.sdp).toContain("m=audio");
  }, 10000);

  test("Net::SIP calls in, we hang up with BYE", async () => {
    ua = await SipUa.listen({
      host: "127.0.0.1",
      port: 0,
      handlers: {
        onInvite: (c) => void c.accept(sdp(rtp.port)),
        onAck: (d: Dialog) => {
          events.push("ack");
          setTimeout(() => {
            void d.bye().then((res) => events.push(`bye:${res.status}`));
          }, 200);
        },
      },
    });
    const r = await runCaller("wait-bye");
    expect(r.out).toBe("ESTABLISHED\nBYE RECEIVED\n");
    expect(r.code).toBe(0);
    await Bun.sleep(50);
    expect(events).toEqual(["ack", "bye:200"]);
  }, 10000);

  test("we call Net::SIP (as the mixer will call a recorder), it answers, we hang up", async () => {
    ua = await SipUa.listen({ host: "127.0.0.1", port: 0 });
    const proc = Bun.spawn(["perl", calleeScript], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill(), 9000);
    try {
      const reader = proc.stdout.getReader();
      let out = "";
      while (!out.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      const port = Number(/LISTEN (\d+)/.exec(out)?.[1]);
      expect(port).toBeGreaterThan(0);
      const call = ua.invite({ target: `sip:record@127.0.0.1:${port}`, sdp: sdp(rtp.port) });
      const r = await call.result;
      if (!r.ok) throw new Error(`${r.status} ${r.reason}`);
      expect(r.sdp).toContain("m=audio");
      await Bun.sleep(200);
      expect(await r.dialog.bye()).toEqual({ ok: true, status: 200 });
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      expect(out).toContain("ESTABLISHED\nBYE RECEIVED\n");
      expect(await proc.exited).toBe(0);
    } finally {
      clearTimeout(timer);
      proc.kill();
    }
  }, 10000);
});
