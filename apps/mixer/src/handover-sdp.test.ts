/**
 * The hand-over re-INVITE as the phone receives it, over real UDP between two nodes on
 * one store: RFC 3264 section 8 wants a new offer in the same session to keep the o=
 * line (username, session id, address) and raise its version, or a strict phone may
 * take it for another session and ignore the move.
 */
import { afterEach, expect, test } from "bun:test";
import { createAccessRouter, createMemoryConfig } from "@conf/access-router";
import { BUILT_IN_CALL_FLOWS } from "@conf/call-flow";
import { loadPrompts } from "@conf/media";
import { createSessionStore } from "@conf/session-store";
import { bodyText } from "@conf/sip";
import { RawPeer, reply, request, sdp } from "@conf/sip/test-peer";
import { MixerNode } from "./node.ts";

const NUMBER = "15162065919";
const CODE = "4321";
const SECURED = BUILT_IN_CALL_FLOWS.find((f) => f.name === "secured")?.callFlowSid ?? "";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function origin(body: string): { username: string; id: string; version: number; address: string } {
  const o = body.split(/\r?\n/).find((l) => l.startsWith("o="));
  const [username, id, version, , , address] = (o ?? "").slice(2).split(" ");
  return { username: username ?? "", id: id ?? "", version: Number(version), address: address ?? "" };
}

/** An Opus phone's offer: dynamic payload type 96, telephone-event 101. */
function opusSdp(port: number, direction = "sendrecv"): string {
  return sdp(port, direction)
    .replace("RTP/AVP 0 101", "RTP/AVP 96 101")
    .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1");
}

/** A phone calls the front node, keys its code, and is handed over to the owner node. */
async function handover(body: (port: number, direction?: string) => string): Promise<{ reinvite: string; owner: MixerNode }> {
  const prompts = loadPrompts();
  if (!prompts.ok) throw new Error(prompts.error);
  // A prefix of its own: stores of one prefix in one process share their meetings.
  const store = createSessionStore({ prefix: `test-${crypto.randomUUID()}:` });
  cleanup.push(() => store.close());
  const router = createAccessRouter({
    config: createMemoryConfig({
      accounts: [{ sid: "A1", callFlowSid: SECURED }],
      dids: [{ sid: "D1", accountSid: "A1", phonenumber: NUMBER }],
      meetingRooms: [{ sid: "R1", accountSid: "A1", name: "room", accessCodes: [{ accessCode: CODE, role: "participant" }] }],
    }),
  });
  const base = 43000 + Math.floor(Math.random() * 100) * 20;
  const lines: string[] = [];
  const common = { router, store, prompts: prompts.library, sipPort: 0, log: (l: string) => lines.push(l) };
  // The owner listens on another loopback address: c= moves there, o= must not.
  const owner = new MixerNode({ ...common, nodeId: "owner", sipHost: "127.0.0.2", rtpPortMin: base, rtpPortMax: base + 9 });
  const front = new MixerNode({
    ...common,
    nodeId: "front",
    sipHost: "127.0.0.1",
    rtpPortMin: base + 10,
    rtpPortMax: base + 19,
    placement: () => ["owner"],
  });
  await owner.start();
  await front.start();
  cleanup.push(
    () => owner.stop(),
    () => front.stop(),
  );
  const phone = await RawPeer.open();
  const sink = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  cleanup.push(
    () => phone.close(),
    () => sink.close(),
  );

  const callId = `ho-sdp-${crypto.randomUUID()}`;
  phone.send(
    request({ method: "INVITE", uaPort: front.sipPort, peerPort: phone.port, callId, cseq: 1, body: body(sink.port) }),
    front.sipPort,
  );
  const ok = await phone.waitResponse(200, "INVITE", callId, 3000);
  const toTag = ok.to.tag ?? "";
  phone.send(request({ method: "ACK", uaPort: front.sipPort, peerPort: phone.port, callId, toTag, cseq: 1 }), front.sipPort);
  let cseq = 1;
  for (const d of `${CODE}#`) {
    cseq++;
    phone.send(
      request({
        method: "INFO",
        uaPort: front.sipPort,
        peerPort: phone.port,
        callId,
        toTag,
        cseq,
        contentType: "application/dtmf-relay",
        body: `Signal=${d}\r\nDuration=160\r\n`,
      }),
      front.sipPort,
    );
    await phone.waitFor(
      (r) => r.msg.kind === "response" && r.msg.callId === callId && r.msg.cseq.seq === cseq,
      2000,
      `INFO ${d}`,
    );
  }
  const reinvite = await phone.waitRequest("INVITE", callId, 5000);
  phone.send(reply(reinvite, 200, "OK", [`Contact: <sip:caller@127.0.0.1:${phone.port}>`], body(sink.port)), front.sipPort);

  const first = origin(bodyText(ok));
  const moved = origin(bodyText(reinvite));
  expect(moved.username).toBe(first.username);
  expect(moved.id).toBe(first.id);
  expect(moved.address).toBe(first.address);
  expect(moved.version).toBe(first.version + 1);
  // The media moved to the owner all the same.
  expect(bodyText(reinvite)).toContain("c=IN IP4 127.0.0.2");

  // Later offers and answers, from the owner now, carry on the same o= line.
  await phone.waitRequest("ACK", callId, 3000);
  const deadline = performance.now() + 3000;
  while (!owner.calls.size && performance.now() < deadline) await Bun.sleep(20);
  const ownerPort = owner.sipPort;
  phone.send(
    request({
      method: "INVITE",
      uri: `sip:mixer@127.0.0.2:${ownerPort}`,
      uaPort: ownerPort,
      peerPort: phone.port,
      callId,
      toTag,
      cseq: 10,
      body: body(sink.port, "sendonly"),
    }),
    ownerPort,
    "127.0.0.2",
  );
  const held = await phone.waitFor(
    (r) => r.msg.kind === "response" && r.msg.callId === callId && r.msg.cseq.seq === 10 && r.msg.status === 200,
    3000,
    "the owner's answer to the hold re-INVITE",
  );
  const hold = origin(bodyText(held.msg));
  expect(hold.id).toBe(first.id);
  expect(hold.address).toBe(first.address);
  expect(hold.version).toBe(first.version + 2);
  return { reinvite: bodyText(reinvite), owner };
}

test("the hand-over re-INVITE keeps the o= line of the call's SDP and raises its version", async () => {
  await handover(sdp);
}, 20_000);

test("an Opus call is moved with its payload type: the re-INVITE offers opus at 96, the owner's call is OPUS/96", async () => {
  const { reinvite, owner } = await handover(opusSdp);
  expect(reinvite).toContain("m=audio");
  expect(reinvite).toMatch(/RTP\/AVP 96 101/);
  expect(reinvite).toContain("a=rtpmap:96 opus/48000/2");
  const call = [...owner.calls.values()][0];
  expect(call?.media.codec).toBe("OPUS");
  expect(call?.media.payloadType).toBe(96);
  expect(call?.sender.samplesPerFrame).toBe(960);
}, 20_000);
