/**
 * RTP hijack and reflection, on real UDP against a real node: an attacker on 127.0.0.2
 * sprays a just-answered call's RTP port before the caller's own first packet; an
 * INVITE names a victim's address in its SDP and never sends RTP or an ACK.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { udp } from "bun";
import { createAccessRouter, createMemoryConfig } from "@conf/access-router";
import { DEFAULT_CALL_FLOW_SID } from "@conf/call-flow";
import { createSessionStore } from "@conf/session-store";
import { loadPrompts } from "@conf/media";
import { MixerNode } from "./node.ts";
import { RawPeer, request, sdp } from "@conf/sip/test-peer";
import type { SipResponse } from "@conf/sip";

const prompts = loadPrompts();
if (!prompts.ok) throw new Error(prompts.error);

interface Rtp {
  socket: udp.Socket<"buffer">;
  /** RTP packets received (12-byte header or longer). */
  got: number;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rtpSocket(host: string): Promise<Rtp> {
  const r: Rtp = { socket: null as unknown as udp.Socket<"buffer">, got: 0 };
  r.socket = await Bun.udpSocket({
    hostname: host,
    port: 0,
    socket: {
      data(_s, buf) {
        if (buf.length >= 12 && buf[0] === 0x80) r.got++;
      },
    },
  });
  cleanups.push(() => r.socket.close());
  return r;
}

let portBase = 43000 + Math.floor(Math.random() * 150) * 40;

async function startNode(
  extra: Partial<ConstructorParameters<typeof MixerNode>[0]> = {},
): Promise<{ node: MixerNode; log: string[] }> {
  const config = createMemoryConfig({
    accounts: [{ sid: "A1", callFlowSid: DEFAULT_CALL_FLOW_SID }],
    dids: [{ sid: "D1", accountSid: "A1", phonenumber: "15162065919" }],
  });
  const router = createAccessRouter({ config });
  const store = createSessionStore();
  const log: string[] = [];
  const min = portBase;
  portBase += 40;
  const node = new MixerNode({
    router,
    store,
    prompts: prompts.ok ? prompts.library : (undefined as never),
    nodeId: `test-${min}`,
    sipHost: "127.0.0.1",
    sipPort: 0,
    rtpPortMin: min,
    rtpPortMax: min + 39,
    log: (l) => log.push(l),
    ...extra,
  });
  await node.start();
  cleanups.push(async () => {
    await node.stop();
    router.close();
    await store.close();
  });
  return { node, log };
}

/** An RTP stream: one SSRC, consecutive sequence numbers, 20 ms apart, until stopped. */
function stream(from: Rtp, port: number, ssrc: number): { stop(): void } {
  const pkt = new Uint8Array(12 + 160).fill(0xff);
  pkt[0] = 0x80;
  pkt[1] = 0;
  pkt[8] = (ssrc >>> 24) & 0xff;
  pkt[9] = (ssrc >>> 16) & 0xff;
  pkt[10] = (ssrc >>> 8) & 0xff;
  pkt[11] = ssrc & 0xff;
  let seq = 1000;
  const send = () => {
    seq++;
    pkt[2] = seq >> 8;
    pkt[3] = seq & 0xff;
    try {
      from.socket.send(pkt, port, "127.0.0.1");
    } catch {}
  };
  send();
  const timer = setInterval(send, 20);
  const handle = { stop: () => clearInterval(timer) };
  cleanups.push(handle.stop);
  return handle;
}

/** Sends INVITE and waits for the 200; returns the call's RTP port and the To tag. */
async function call(node: MixerNode, peer: RawPeer, callId: string, body: string): Promise<{ rtpPort: number; toTag: string }> {
  peer.send(request({ method: "INVITE", uaPort: node.sipPort, peerPort: peer.port, callId, cseq: 1, body }), node.sipPort);
  const ok: SipResponse = await peer.waitResponse(200, "INVITE", callId, 5000);
  const m = /m=audio (\d+)/.exec(new TextDecoder().decode(ok.body));
  if (!m) throw new Error("no m= line in the 200");
  return { rtpPort: Number(m[1]), toTag: ok.to.tag ?? "" };
}

function ack(node: MixerNode, peer: RawPeer, callId: string, toTag: string): void {
  peer.send(request({ method: "ACK", uaPort: node.sipPort, peerPort: peer.port, callId, toTag, cseq: 1 }), node.sipPort);
}

async function sipPeer(): Promise<RawPeer> {
  const p = await RawPeer.open();
  cleanups.push(() => p.close());
  return p;
}

const foreignOf = (node: MixerNode) => [...node.calls.values()].reduce((n, c) => n + c.latch.foreign, 0);

const modes: [number, boolean][] = [
  [0, false],
  [1, false],
  [1, true],
];
for (const [shared, batch] of modes) {
  const mode = shared ? `shared socket${batch ? ", RTP_BATCH_IO=1" : ""}` : "a socket per call";
  describe(`RTP latching (${mode})`, () => {
    test("an attacker spraying the port before the caller gets nothing; the caller gets the prompts", async () => {
      const { node } = await startNode({ rtpBatchIo: batch, rtpSharedSockets: shared });
      const peer = await sipPeer();
      const caller = await rtpSocket("127.0.0.1");
      const attacker = await rtpSocket("127.0.0.2");
      const { rtpPort, toTag } = await call(node, peer, "hijack-1", sdp(caller.socket.port));
      // One packet from each of a few source ports (a guessing spray), then a proper stream.
      const spray = new Uint8Array(12 + 160).fill(0xff);
      spray[0] = 0x80;
      spray[1] = 0; // PCMU, as the call negotiated
      const sprayers: Rtp[] = [];
      for (let i = 0; i < 5; i++) {
        const s = await rtpSocket("127.0.0.2");
        sprayers.push(s);
        spray[3] = i;
        s.socket.send(spray, rtpPort, "127.0.0.1");
      }
      const evil = stream(attacker, rtpPort, 0xbad);
      await Bun.sleep(200);
      ack(node, peer, "hijack-1", toTag);
      stream(caller, rtpPort, 0x600d);
      await Bun.sleep(1500);
      evil.stop();
      expect(attacker.got).toBe(0);
      expect(sprayers.map((s) => s.got)).toEqual([0, 0, 0, 0, 0]);
      expect(caller.got).toBeGreaterThan(25);
      // The node hears the caller (not the attacker): its packets were taken.
      expect([...node.calls.values()][0]?.rxPackets).toBeGreaterThan(25);
      expect(foreignOf(node)).toBeGreaterThan(10);
      expect(node.rxSummary()).toMatch(/[1-9]\d* foreign packets dropped/);
    }, 10_000);

    test("a caller behind NAT (SDP names another address) is latched after a few packets and hears the prompts", async () => {
      const { node } = await startNode({ rtpBatchIo: batch, rtpSharedSockets: shared });
      const peer = await sipPeer();
      const caller = await rtpSocket("127.0.0.1");
      const sprayer = await rtpSocket("127.0.0.2");
      const { rtpPort, toTag } = await call(node, peer, "nat-1", sdp(40002, "sendrecv", "127.0.0.5"));
      ack(node, peer, "nat-1", toTag);
      // Stray packets with ever new sequence numbers and SSRCs, interleaved with the caller's stream.
      const junk = new Uint8Array(12 + 160).fill(0xff);
      junk[0] = 0x80;
      junk[1] = 0;
      let n = 0;
      const strays = setInterval(() => {
        n++;
        junk[3] = n * 37;
        junk[11] = n;
        sprayer.socket.send(junk, rtpPort, "127.0.0.1");
      }, 7);
      cleanups.push(() => clearInterval(strays));
      stream(caller, rtpPort, 0x600d);
      await Bun.sleep(2000);
      clearInterval(strays);
      expect(sprayer.got).toBe(0);
      expect(caller.got).toBeGreaterThan(25);
      const c = [...node.calls.values()][0];
      expect(c?.latch.latched).toBe(true);
      expect(c?.latch.port).toBe(caller.socket.port);
    }, 10_000);
  });
}

describe("reflection", () => {
  test("no media goes to the SDP's address before the ACK, nor after it until the caller's own RTP; a silent lobby ends", async () => {
    const { node } = await startNode({ lobbyRtpTimeoutMs: 1500 });
    const peer = await sipPeer();
    const victim = await rtpSocket("127.0.0.3");
    // The flood's shape: INVITEs naming the victim, never ACKed.
    await call(node, peer, "flood-1", sdp(victim.socket.port, "sendrecv", "127.0.0.3"));
    await call(node, peer, "flood-2", sdp(victim.socket.port + 2, "sendrecv", "127.0.0.3"));
    // One ACKed, still naming the victim, who of course sends no RTP.
    const acked = await call(node, peer, "flood-3", sdp(victim.socket.port, "sendrecv", "127.0.0.3"));
    ack(node, peer, "flood-3", acked.toTag);
    expect(node.calls.size).toBe(3);
    await Bun.sleep(1000);
    expect(victim.got).toBe(0);
    // The lobby timeout (1.5 s here) ends calls that never sent RTP; checked once a second.
    const end = performance.now() + 4000;
    while (node.calls.size > 0 && performance.now() < end) await Bun.sleep(50);
    expect(node.calls.size).toBe(0);
    expect(victim.got).toBe(0);
    await peer.waitRequest("BYE", "flood-3", 2000);
  }, 10_000);
});
