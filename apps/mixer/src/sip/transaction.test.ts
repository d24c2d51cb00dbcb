import { describe, expect, test } from "bun:test";
import { parseMessage, type SipRequest, type SipResponse } from "./message.ts";
import { sleep } from "./test-peer.ts";
import {
  InviteClientTransaction,
  InviteServerTransaction,
  NonInviteClientTransaction,
  NonInviteServerTransaction,
  resolveTimers,
  serverTransactionKey,
  type SipTimerOptions,
  TransactionLayer,
} from "./transaction.ts";

const DEST = { address: "127.0.0.1", port: 5999 };

function req(method: string, extra = "", viaBranch = "z9hG4bKt1"): SipRequest {
  const r = parseMessage(
    `${method} sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=${viaBranch}\r\nFrom: <sip:a@h>;tag=f\r\nTo: <sip:x@h>\r\nCall-ID: c1\r\nCSeq: 1 ${method}\r\n${extra}\r\n`,
  );
  if (!r.ok || r.value.kind !== "request") throw new Error("fixture");
  return r.value;
}

function res(status: number, method = "INVITE"): SipResponse {
  const r = parseMessage(
    `SIP/2.0 ${status} X\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKt1\r\nFrom: <sip:a@h>;tag=f\r\nTo: <sip:x@h>;tag=t\r\nCall-ID: c1\r\nCSeq: 1 ${method}\r\n\r\n`,
  );
  if (!r.ok || r.value.kind !== "response") throw new Error("fixture");
  return r.value;
}

function recorder(timers: SipTimerOptions) {
  const sent: { at: number; data: string }[] = [];
  const t0 = performance.now();
  const layer = new TransactionLayer((d) => sent.push({ at: performance.now() - t0, data: new TextDecoder().decode(d) }), resolveTimers(timers));
  return { sent, layer, gaps: () => sent.slice(1).map((s, i) => s.at - (sent[i] as { at: number }).at) };
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe("resolveTimers", () => {
  test("RFC 3261 defaults", () => {
    expect(resolveTimers()).toEqual({
      t1: 500,
      t2: 4000,
      t4: 5000,
      timerB: 32000,
      timerD: 32000,
      timerF: 32000,
      timerH: 32000,
      timerI: 5000,
      timerJ: 32000,
      timerK: 5000,
      timerL: 32000,
      timerM: 32000,
    });
  });
  test("derived timers follow T1 and T4", () => {
    const t = resolveTimers({ t1: 10, t4: 50, timerD: 100 });
    expect([t.timerB, t.timerF, t.timerH, t.timerJ, t.timerI, t.timerK, t.timerD]).toEqual([640, 640, 640, 640, 50, 50, 100]);
  });
});

describe("server transaction keys", () => {
  test("ACK maps to its INVITE, CANCEL has its own", () => {
    expect(serverTransactionKey(req("ACK"))).toBe(serverTransactionKey(req("INVITE")));
    expect(serverTransactionKey(req("CANCEL"))).not.toBe(serverTransactionKey(req("INVITE")));
    expect(serverTransactionKey(req("INVITE", "", "z9hG4bKother"))).not.toBe(serverTransactionKey(req("INVITE")));
  });
  test("RFC 2543 requests (no magic cookie) key on Call-ID, tags, CSeq and the top Via", () => {
    expect(serverTransactionKey(req("INVITE", "", "old1"))).toBe(serverTransactionKey(req("ACK", "", "old1")));
    expect(serverTransactionKey(req("INVITE", "", "old1"))).toContain("2543");
  });
});

describe("INVITE server transaction", () => {
  test("2xx: timer G doubles up to T2 until the ACK; timer H reports a missing ACK", async () => {
    const { layer, sent, gaps } = recorder({ t1: 10, t2: 40, timerH: 400 });
    let timedOut = 0;
    const tx = new InviteServerTransaction(layer, "k", req("INVITE"), DEST, { onAckTimeout: () => void timedOut++ });
    layer.addServer(tx);
    tx.respond(bytes("200"), 200);
    expect(tx.state).toBe("accepted");
    await sleep(250);
    const g = gaps();
    expect(g.length).toBeGreaterThanOrEqual(5);
    expect(g[0]).toBeLessThan(25);
    expect(g[1]).toBeGreaterThan(15);
    for (const x of g.slice(3)) expect(x).toBeGreaterThan(30);
    for (const x of g) expect(x).toBeLessThan(75); // capped at T2 = 40 (80 would mean no cap)
    await sleep(250);
    expect(timedOut).toBe(1);
    const n = sent.length;
    await sleep(80);
    expect(sent.length).toBe(n);
    layer.close();
  });

  test("2xx: the ACK stops retransmissions; INVITE retransmissions still get the 2xx", async () => {
    const { layer, sent } = recorder({ t1: 10, t2: 40 });
    let timedOut = 0;
    const tx = new InviteServerTransaction(layer, "k", req("INVITE"), DEST, { onAckTimeout: () => void timedOut++ });
    layer.addServer(tx);
    tx.respond(bytes("200"), 200);
    await sleep(35);
    expect(tx.receiveAck()).toBe("2xx");
    expect(tx.receiveAck()).toBe("ignored");
    const n = sent.length;
    await sleep(120);
    expect(sent.length).toBe(n);
    tx.receiveRetransmission();
    expect(sent.length).toBe(n + 1);
    expect(timedOut).toBe(0);
    layer.close();
  });

  test("non-2xx: retransmitted until ACK, then Confirmed and terminated after timer I", async () => {
    const { layer, sent } = recorder({ t1: 10, t2: 40, t4: 50 });
    const tx = new InviteServerTransaction(layer, "k", req("INVITE"), DEST);
    layer.addServer(tx);
    tx.respond(bytes("100"), 100);
    tx.receiveRetransmission();
    expect(sent.map((s) => s.data)).toEqual(["100", "100"]);
    tx.respond(bytes("486"), 486);
    expect(tx.respond(bytes("200"), 200)).toBe(false);
    await sleep(40);
    expect(sent.length).toBeGreaterThanOrEqual(4);
    expect(tx.receiveAck()).toBe("non-2xx");
    expect(tx.state).toBe("confirmed");
    const n = sent.length;
    tx.receiveRetransmission();
    await sleep(100);
    expect(sent.length).toBe(n);
    expect(tx.state).toBe("terminated");
    expect(layer.server.size).toBe(0);
  });
});

describe("non-INVITE server transaction", () => {
  test("absorbs retransmissions while Trying, then replays the cached response until timer J", async () => {
    const { layer, sent } = recorder({ t1: 5 });
    const tx = new NonInviteServerTransaction(layer, "k", req("BYE"), DEST);
    layer.addServer(tx);
    tx.receiveRetransmission();
    expect(sent.length).toBe(0);
    tx.respond(bytes("200"), 200);
    tx.receiveRetransmission();
    expect(sent.map((s) => s.data)).toEqual(["200", "200"]);
    expect(tx.respond(bytes("500"), 500)).toBe(false);
    await sleep(400);
    expect(tx.state).toBe("terminated");
    expect(layer.server.size).toBe(0);
  });
});

describe("client transactions", () => {
  test("non-INVITE: timer E doubles to T2, stays at T2 after a provisional, timer F times out", async () => {
    const { layer, gaps } = recorder({ t1: 10, t2: 40, timerF: 300 });
    let timeouts = 0;
    const responses: number[] = [];
    const tx = new NonInviteClientTransaction(layer, "z9hG4bKt1", "BYE", bytes("BYE"), DEST, {
      onResponse: (r) => void responses.push(r.status),
      onTimeout: () => void timeouts++,
    });
    layer.addClient(tx);
    tx.start();
    await sleep(120);
    tx.receiveResponse(res(100, "BYE"));
    await sleep(250);
    expect(timeouts).toBe(1);
    expect(responses).toEqual([100]);
    const g = gaps();
    expect(g[0]).toBeLessThan(25);
    for (const x of g.slice(3)) {
      expect(x).toBeGreaterThan(30);
      expect(x).toBeLessThan(75);
    }
    expect(tx.state).toBe("terminated");
  });

  test("non-INVITE: a final response completes it; retransmitted finals are absorbed", async () => {
    const { layer, sent } = recorder({ t1: 10, t4: 30 });
    const responses: number[] = [];
    const tx = new NonInviteClientTransaction(layer, "z9hG4bKt1", "BYE", bytes("BYE"), DEST, {
      onResponse: (r) => void responses.push(r.status),
      onTimeout: () => {},
    });
    layer.addClient(tx);
    tx.start();
    tx.receiveResponse(res(200, "BYE"));
    tx.receiveResponse(res(200, "BYE"));
    expect(responses).toEqual([200]);
    await sleep(60);
    expect(sent.length).toBe(1);
    expect(tx.state).toBe("terminated");
  });

  test("INVITE: timer A doubles without the T2 cap until timer B", async () => {
    const { layer, gaps } = recorder({ t1: 5, t2: 10 });
    let timeouts = 0;
    const tx = new InviteClientTransaction(
      layer,
      "z9hG4bKt1",
      bytes("INVITE"),
      DEST,
      { onResponse: () => {}, onTimeout: () => void timeouts++ },
      () => bytes("ACK"),
    );
    layer.addClient(tx);
    tx.start();
    await sleep(400);
    expect(timeouts).toBe(1);
    const g = gaps();
    expect(g.length).toBeGreaterThanOrEqual(5);
    expect(g[g.length - 1]).toBeGreaterThan(60); // 80 ms gap: beyond T2
  });

  test("INVITE: a failure is ACKed once per retransmission and reported once", async () => {
    const { layer, sent } = recorder({ t1: 10, timerD: 50 });
    const responses: number[] = [];
    const tx = new InviteClientTransaction(
      layer,
      "z9hG4bKt1",
      bytes("INVITE"),
      DEST,
      { onResponse: (r) => void responses.push(r.status), onTimeout: () => {} },
      () => bytes("ACK"),
    );
    layer.addClient(tx);
    tx.start();
    tx.receiveResponse(res(180));
    tx.receiveResponse(res(486));
    tx.receiveResponse(res(486));
    expect(responses).toEqual([180, 486]);
    expect(sent.map((s) => s.data)).toEqual(["INVITE", "ACK", "ACK"]);
    await sleep(100);
    expect(tx.state).toBe("terminated");
  });

  test("layer.close() stops every timer", async () => {
    const { layer, sent } = recorder({ t1: 5 });
    const tx = new NonInviteClientTransaction(layer, "z9hG4bKt1", "BYE", bytes("BYE"), DEST, {
      onResponse: () => {},
      onTimeout: () => {
        throw new Error("must not fire");
      },
    });
    layer.addClient(tx);
    tx.start();
    layer.close();
    layer.close();
    await sleep(60);
    expect(sent.length).toBe(1);
    expect(layer.client.size).toBe(0);
  });
});
