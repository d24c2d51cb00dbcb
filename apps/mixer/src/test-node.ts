/**
 * Test helpers for tests that drive a real `MixerNode` over loopback UDP: the node with
 * one secured meeting room, and the SIP steps of a raw caller (`@conf/sip/test-peer`):
 * an answered call, keys by SIP INFO.
 */
import { createAccessRouter, createMemoryConfig } from "@conf/access-router";
import { BUILT_IN_CALL_FLOWS } from "@conf/call-flow";
import { loadPrompts } from "@conf/media";
import { createSessionStore, type SessionStore } from "@conf/session-store";
import { type RawPeer, request, sdp } from "@conf/sip/test-peer";
import { MixerNode, type MixerNodeOptions } from "./node.ts";

/** The DID of the test room. */
export const NUMBER = "15162065919";
/** The test room's access code. */
export const CODE = "4321";
const SECURED = BUILT_IN_CALL_FLOWS.find((f) => f.name === "secured")?.callFlowSid ?? "";

/** The caller URI `request()` writes, replaced where a test calls from a number of its own. */
const DEFAULT_FROM = "sip:+15551230000@";

export interface TestNode {
  node: MixerNode;
  store: SessionStore;
  /** Stops the node, closes its router and store. */
  close(): Promise<void>;
}

/**
 * Starts a node on 127.0.0.1 (SIP on a free port, RTP on `rtpPortMin` and the next
 * `ports - 1`) whose one account dials into room R1 under the secured call flow.
 * @example
 * const { node, close } = await startTestNode({ nodeId: "t-1", rtpPortMin: 42000 });
 */
export async function startTestNode(o: {
  nodeId: string;
  rtpPortMin: number;
  /** RTP ports the node may use (default 40). */
  ports?: number;
  /** The role CODE grants (default host). */
  role?: "host" | "participant";
  log?: (line: string) => void;
  extra?: Partial<MixerNodeOptions>;
}): Promise<TestNode> {
  const prompts = loadPrompts();
  if (!prompts.ok) throw new Error(prompts.error);
  const router = createAccessRouter({
    config: createMemoryConfig({
      accounts: [{ sid: "A1", callFlowSid: SECURED }],
      dids: [{ sid: "D1", accountSid: "A1", phonenumber: NUMBER }],
      meetingRooms: [{ sid: "R1", accountSid: "A1", name: "room", accessCodes: [{ accessCode: CODE, role: o.role ?? "host" }] }],
    }),
  });
  const store = createSessionStore({});
  const node = new MixerNode({
    router,
    store,
    prompts: prompts.library,
    nodeId: o.nodeId,
    sipHost: "127.0.0.1",
    sipPort: 0,
    rtpPortMin: o.rtpPortMin,
    rtpPortMax: o.rtpPortMin + (o.ports ?? 40) - 1,
    log: o.log ?? (() => {}),
    ...o.extra,
  });
  await node.start();
  return {
    node,
    store,
    async close() {
      await node.stop();
      router.close();
      await store.close();
    },
  };
}

/** Polls `check` every 20 ms; throws naming `what` after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** A raw caller's dialog with the node; `cseq` is the last one sent. */
export interface RawCall {
  callId: string;
  fromTag?: string;
  toTag: string;
  cseq: number;
  fromUser?: string;
  /** The node's RTP port from its answer. */
  rtpPort: number;
}

function from(text: string, fromUser: string | undefined): string {
  return fromUser ? text.replace(DEFAULT_FROM, `sip:${fromUser}@`) : text;
}

/**
 * INVITE (offering RTP at `rtpPort` on 127.0.0.1), the node's 200, ACK: an answered call from `peer`.
 * @example
 * const call = await answeredCall(peer, node, { callId: "c1", rtpPort: rtp.port });
 */
export async function answeredCall(
  peer: RawPeer,
  node: { sipPort: number },
  c: { callId: string; rtpPort: number; fromTag?: string; fromUser?: string },
): Promise<RawCall> {
  const { callId, fromTag, fromUser } = c;
  const base = { uaPort: node.sipPort, peerPort: peer.port, callId, ...(fromTag ? { fromTag } : {}), cseq: 1 };
  peer.send(from(request({ method: "INVITE", ...base, body: sdp(c.rtpPort) }), fromUser), node.sipPort);
  const ok = await peer.waitResponse(200, "INVITE", callId, 3000);
  const toTag = ok.to.tag ?? "";
  const rtpPort = Number(/m=audio (\d+)/.exec(new TextDecoder().decode(ok.body))?.[1]);
  peer.send(from(request({ method: "ACK", ...base, toTag }), fromUser), node.sipPort);
  return { callId, ...(fromTag ? { fromTag } : {}), toTag, cseq: 1, ...(fromUser ? { fromUser } : {}), rtpPort };
}

/** Keys `digits` with SIP INFO (application/dtmf-relay), each answered before the next. */
export async function keyInfo(peer: RawPeer, node: { sipPort: number }, c: RawCall, digits: string): Promise<void> {
  for (const d of digits) {
    c.cseq++;
    const cseq = c.cseq;
    const info = request({
      method: "INFO",
      uaPort: node.sipPort,
      peerPort: peer.port,
      callId: c.callId,
      ...(c.fromTag ? { fromTag: c.fromTag } : {}),
      toTag: c.toTag,
      cseq,
      contentType: "application/dtmf-relay",
      body: `Signal=${d}\r\nDuration=160\r\n`,
    });
    peer.send(from(info, c.fromUser), node.sipPort);
    await peer.waitFor(
      (r) => r.msg.kind === "response" && r.msg.callId === c.callId && r.msg.cseq.seq === cseq,
      2000,
      `INFO ${d} answered`,
    );
  }
}

/** BYE in the call's dialog, with the next CSeq. */
export function hangUp(peer: RawPeer, node: { sipPort: number }, c: RawCall): void {
  c.cseq++;
  const bye = request({
    method: "BYE",
    uaPort: node.sipPort,
    peerPort: peer.port,
    callId: c.callId,
    ...(c.fromTag ? { fromTag: c.fromTag } : {}),
    toTag: c.toTag,
    cseq: c.cseq,
  });
  peer.send(from(bye, c.fromUser), node.sipPort);
}
