/**
 * The SIP door of a real mixer node over real UDP: code guessing keyed by what a
 * caller cannot choose, one source's INVITE flood against everyone else, log lines
 * from hostile SIP values, and messages too large to parse.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { RawPeer, request, sdp, sleep } from "@conf/sip/test-peer";
import type { MixerNode, MixerNodeOptions } from "./node.ts";
import { answeredCall, CODE, keyInfo, type RawCall, startTestNode, until } from "./test-node.ts";

let running: { close(): Promise<void>; peers: RawPeer[]; sink: { close(): void } } | null = null;
let nextPorts = 41000 + Math.floor(Math.random() * 200) * 40;

afterEach(async () => {
  if (!running) return;
  for (const p of running.peers) p.close();
  running.sink.close();
  await running.close();
  running = null;
});

async function startNode(
  extra: Partial<MixerNodeOptions> = {},
  ports = 40,
): Promise<{ node: MixerNode; lines: string[]; sinkPort: number }> {
  const lines: string[] = [];
  const min = nextPorts;
  nextPorts += ports + 2;
  const { node, close } = await startTestNode({
    nodeId: `door-${crypto.randomUUID()}`,
    rtpPortMin: min,
    ports,
    role: "participant",
    log: (l) => lines.push(l),
    extra,
  });
  // Where the node's RTP goes: a socket that swallows it.
  const sink = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  running = { close, peers: [], sink };
  return { node, lines, sinkPort: sink.port };
}

async function peer(host = "127.0.0.1"): Promise<RawPeer> {
  const p = await RawPeer.open(host);
  running?.peers.push(p);
  return p;
}

let seq = 0;

/** INVITE, 200, ACK: an answered call from `p`. */
function dial(p: RawPeer, node: MixerNode, sinkPort: number, fromUser: string): Promise<RawCall> {
  seq++;
  return answeredCall(p, node, {
    callId: `door-${seq}-${crypto.randomUUID()}`,
    rtpPort: sinkPort,
    fromTag: `ft${seq}`,
    fromUser,
  });
}

describe("access-code guessing", () => {
  test("a new From user per call does not reset the count: the source is refused, even with the right code; another source is not", async () => {
    const { node, lines, sinkPort } = await startNode({ codeGuessLimit: 3, codeGuessBanSeconds: 60 });
    const attacker = await peer("127.0.0.1");
    // Three wrong codes, each from a call with another From user.
    for (let i = 0; i < 3; i++) {
      const c = await dial(attacker, node, sinkPort, `+1555000000${i}`);
      await keyInfo(attacker, node, c, "9999#");
      // Past half the limit each check waits a second first.
      await until(() => lines.some((l) => l.includes("wrong-code limit")) || i < 2, 3000, "the limit");
      await sleep(i === 0 ? 300 : 1300);
    }
    expect(lines.some((l) => l.includes("src:127.0.0.1 reached the wrong-code limit"))).toBe(true);
    // A fourth From user, the right code: still refused, the source keyed too many.
    const c = await dial(attacker, node, sinkPort, "+15559999999");
    await keyInfo(attacker, node, c, `${CODE}#`);
    await until(() => lines.some((l) => l.includes("refused code entry from src:127.0.0.1")), 3000, "the refusal");
    expect(lines.some((l) => l.includes(" joined meeting "))).toBe(false);
    // A caller from another address is not refused for someone else's guesses.
    const other = await peer("127.0.0.3");
    const o = await dial(other, node, sinkPort, "+15551112222");
    await keyInfo(other, node, o, `${CODE}#`);
    await until(() => lines.some((l) => l.includes(" joined meeting ")), 3000, "the other caller to join");
  }, 20_000);
});

describe("INVITE flood", () => {
  test("500 INVITEs without ACK from one address do not lock a caller from another address out", async () => {
    // 30 calls' worth of RTP ports: the flood used to take them all (each 200 holds its
    // port until the ACK, 32 s); now one source holds at most SIP_PENDING_PER_SOURCE.
    const { node, sinkPort } = await startNode({}, 60);
    const flooder = await peer("127.0.0.2");
    for (let i = 0; i < 500; i++) {
      flooder.send(
        request({
          method: "INVITE",
          uaPort: node.sipPort,
          peerPort: flooder.port,
          callId: `flood-${i}-${crypto.randomUUID()}`,
          cseq: 1,
          body: sdp(sinkPort),
        }),
        node.sipPort,
      );
      if (i % 50 === 49) await sleep(5);
    }
    await sleep(500);
    const caller = await peer("127.0.0.1");
    const t0 = performance.now();
    const placed = await dial(caller, node, sinkPort, "+15553334444");
    expect(placed.toTag.length).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeLessThan(2000);
    // Distinct calls: timer G retransmits each un-ACKed 200.
    const answered = new Set(
      flooder.received.filter((r) => r.msg.kind === "response" && r.msg.status === 200).map((r) => r.msg.callId),
    ).size;
    const refused = flooder.received.filter((r) => r.msg.kind === "response" && r.msg.status === 503);
    expect(answered).toBeLessThanOrEqual(20); // SIP_PENDING_PER_SOURCE
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.msg.headers.get("retry-after") !== null)).toBe(true);
  }, 20_000);

  test("INVITEs over the per-source rate get 503 with Retry-After; the limits are configurable", async () => {
    const { node, sinkPort } = await startNode(
      { sourceLimits: { invitesPerSecond: 1, burst: 3, pendingPerSource: 100, callsPerSource: 100 } },
      40,
    );
    const p = await peer("127.0.0.4");
    for (let i = 0; i < 5; i++) {
      p.send(
        request({ method: "INVITE", uaPort: node.sipPort, peerPort: p.port, callId: `rate-${i}`, cseq: 1, body: sdp(sinkPort) }),
        node.sipPort,
      );
    }
    await p.waitResponse(503, "INVITE", "rate-3");
    const r = await p.waitResponse(503, "INVITE", "rate-4");
    expect(r.headers.get("retry-after")).toBe("1");
    expect(p.count((m) => m.kind === "response" && m.status === 200)).toBeLessThanOrEqual(3);
  });
});

describe("log lines", () => {
  test("CR/LF in a Request-URI cannot start a log line of its own", async () => {
    const { node, lines, sinkPort } = await startNode();
    const p = await peer();
    p.send(
      request({
        method: "INVITE",
        uri: `sip:1999%0D%0Amixer%3A call CAFAKE joined meeting MFAKE as host@127.0.0.1:${node.sipPort}`.replaceAll(" ", "%20"),
        uaPort: node.sipPort,
        peerPort: p.port,
        callId: "log-1",
        cseq: 1,
        body: sdp(sinkPort),
      }),
      node.sipPort,
    );
    await p
      .waitResponse(404, "INVITE", "log-1")
      .catch(() =>
        p.waitFor(
          (r) =>
            r.msg.kind === "response" &&
            r.msg.callId === "log-1" &&
            r.msg.kind === "response" &&
            (r.msg as { status: number }).status >= 300,
        ),
      );
    await until(() => lines.some((l) => l.startsWith("refused ")), 2000, "the refusal log line");
    for (const l of lines) expect(l).not.toMatch(/[\r\n]/);
    expect(lines.some((l) => l.includes("1999\\x0d\\x0amixer: call CAFAKE"))).toBe(true);
  });

  test("a socket error on the SIP socket logs the error itself, not undefined", async () => {
    const { node, lines } = await startNode();
    // An OPTIONS from a port that closes before the answer: the answer bounces (ICMP
    // port unreachable) and comes back as an error on the node's SIP socket.
    const gone = await RawPeer.open();
    gone.send(
      request({ method: "OPTIONS", uaPort: node.sipPort, peerPort: gone.port, callId: "sock-err-1", cseq: 1 }),
      node.sipPort,
    );
    gone.close();
    await until(() => lines.some((l) => l.startsWith("sip error (socket)")), 2000, "the socket error log line");
    const line = lines.find((l) => l.startsWith("sip error (socket)")) ?? "";
    expect(line).not.toContain("undefined");
    expect(line).toContain("ECONNREFUSED");
  });
});

describe("message limits", () => {
  test("a 64 KB INVITE is answered 513 before its body is parsed; too many headers are dropped; too many payload types get 488", async () => {
    const { node, sinkPort } = await startNode();
    const p = await peer();
    const pts = Array.from({ length: 16_500 }, (_, i) => String(96 + (i % 32))).join(" ");
    const bigSdp = sdp(sinkPort).replace("RTP/AVP 0 101", `RTP/AVP 0 101 ${pts}`);
    const big = request({ method: "INVITE", uaPort: node.sipPort, peerPort: p.port, callId: "big-1", cseq: 1, body: bigSdp });
    expect(big.length).toBeGreaterThan(60_000);
    expect(big.length).toBeLessThan(65_000);
    p.send(big, node.sipPort);
    await p.waitResponse(513, "INVITE", "big-1");

    const headers = Array.from({ length: 150 }, (_, i) => `X-Filler-${i}: ${i}`);
    p.send(
      request({ method: "OPTIONS", uaPort: node.sipPort, peerPort: p.port, callId: "many-1", cseq: 1, headers }),
      node.sipPort,
    );
    // Under the size limit, but over the format limit: refused before negotiation.
    const midSdp = sdp(sinkPort).replace(
      "RTP/AVP 0 101",
      `RTP/AVP 0 101 ${Array.from({ length: 200 }, (_, i) => String(i % 128)).join(" ")}`,
    );
    p.send(
      request({ method: "INVITE", uaPort: node.sipPort, peerPort: p.port, callId: "pts-1", cseq: 1, body: midSdp }),
      node.sipPort,
    );
    await p.waitResponse(488, "INVITE", "pts-1");
    await sleep(200);
    expect(p.count((m) => m.callId === "many-1")).toBe(0);
    // A phone's ordinary INVITE still gets through.
    p.send(request({ method: "OPTIONS", uaPort: node.sipPort, peerPort: p.port, callId: "plain-1", cseq: 1 }), node.sipPort);
    await p.waitResponse(200, "OPTIONS", "plain-1");
  });
});
