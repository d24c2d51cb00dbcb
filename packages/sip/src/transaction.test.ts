import { afterEach, beforeEach, describe, expect, jest, test } from "bun:test";
import { parseMessage, type SipRequest, type SipResponse } from "./message.ts";
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

/*
 * Timer tests run on fake timers with the RFC default values, advanced one
 * millisecond at a time, so intervals are checked exactly and a loaded machine
 * cannot make them flaky.
 */
let now = 0;
beforeEach(() => {
  now = 0;
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

function advance(ms: number): void {
  for (let i = 0; i < ms; i++) {
    now += 1;
    jest.advanceTimersByTime(1);
  }
}

function recorder(timers: SipTimerOptions = {}) {
  const sent: { at: number; data: string }[] = [];
  const layer = new TransactionLayer((d) => sent.push({ at: now, data: new TextDecoder().decode(d) }), resolveTimers(timers));
  return { sent, layer, times: () => sent.map((x) => x.at) };
}

const bytes = (s: string) => new TextEncoder().encode(s);

/** An INVITE client transaction to DEST, added to `layer` and started (its ACK is the bytes "ACK"). */
function startInvite(
  layer: ReturnType<typeof recorder>["layer"],
  events: ConstructorParameters<typeof InviteClientTransaction>[4],
): InviteClientTransaction {
  const tx = new InviteClientTransaction(layer, "z9hG4bKt1", bytes("INVITE"), DEST, events, () => bytes("ACK"));
  layer.addClient(tx);
  tx.start();
  return tx;
}

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
  test("2xx: retransmitted at T1 doubling up to T2; timer H (64*T1) reports the missing ACK", () => {
    const { layer, times } = recorder();
    let timedOut = 0;
    const tx = new InviteServerTransaction(layer, "k", req("INVITE"), DEST, { onAckTimeout: () => void timedOut++ });
    layer.addServer(tx);
    tx.respond(bytes("200"), 200);
    expect(tx.state).toBe("accepted");
    advance(31999);
    expect(timedOut).toBe(0);
    expect(times()).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    advance(1);
    expect(timedOut).toBe(1);
    advance(10000);
    expect(times().length).toBe(11);
    expect(tx.state).toBe("terminated");
    expect(layer.server.size).toBe(0);
    // Every copy after the first is a timer G retransmission of a final response.
    expect(layer.counters).toEqual({ sent: 11, received: 0, retransmissions: 10, responseRetransmissions: 10 });
  });

  test("2xx: the ACK stops retransmissions; a retransmitted INVITE still gets the 2xx", () => {
    const { layer, sent } = recorder();
    let timedOut = 0;
    const tx = new InviteServerTransaction(layer, "k", req("INVITE"), DEST, { onAckTimeout: () => void timedOut++ });
    layer.addServer(tx);
    tx.respond(bytes("200"), 200);
    advance(700);
    expect(tx.receiveAck()).toBe("2xx");
    expect(tx.receiveAck()).toBe("ignored");
    advance(5000);
    expect(sent.length).toBe(2);
    tx.receiveRetransmission();
    expect(sent.length).toBe(3);
    advance(40000);
    expect(timedOut).toBe(0);
  });

  test("non-2xx: retransmitted until ACK, then Confirmed and terminated after timer I (T4)", () => {
    const { layer, sent, times } = recorder();
    const tx = new InviteServerTransaction(layer, "k", req("INVITE"), DEST);
    layer.addServer(tx);
    tx.respond(bytes("100"), 100);
    tx.receiveRetransmission();
    expect(sent.map((x) => x.data)).toEqual(["100", "100"]);
    tx.respond(bytes("486"), 486);
    expect(tx.respond(bytes("200"), 200)).toBe(false);
    advance(1600);
    expect(times()).toEqual([0, 0, 0, 500, 1500]);
    expect(tx.receiveAck()).toBe("non-2xx");
    expect(tx.state).toBe("confirmed");
    tx.receiveRetransmission();
    advance(4999);
    expect(sent.length).toBe(5);
    expect(tx.state).toBe("confirmed");
    advance(1);
    expect(tx.state).toBe("terminated");
    expect(layer.server.size).toBe(0);
  });

  test("non-2xx without ACK ends after timer H", () => {
    const { layer } = recorder();
    let noAck = 0;
    const tx = new InviteServerTransaction(layer, "k", req("INVITE"), DEST, { onNon2xxAckTimeout: () => void noAck++ });
    layer.addServer(tx);
    tx.respond(bytes("480"), 480);
    advance(32000);
    expect(noAck).toBe(1);
    expect(tx.state).toBe("terminated");
  });
});

describe("non-INVITE server transaction", () => {
  test("absorbs retransmissions while Trying, then replays the cached response until timer J", () => {
    const { layer, sent } = recorder();
    const tx = new NonInviteServerTransaction(layer, "k", req("BYE"), DEST);
    layer.addServer(tx);
    tx.receiveRetransmission();
    expect(sent.length).toBe(0);
    tx.respond(bytes("200"), 200);
    tx.receiveRetransmission();
    expect(sent.map((x) => x.data)).toEqual(["200", "200"]);
    expect(tx.respond(bytes("500"), 500)).toBe(false);
    advance(31999);
    expect(tx.state).toBe("completed");
    advance(1);
    expect(tx.state).toBe("terminated");
    expect(layer.server.size).toBe(0);
  });
});

describe("client transactions", () => {
  test("non-INVITE: timer E doubles while Trying, is T2 in Proceeding, timer F times out", () => {
    const { layer, times } = recorder();
    let timeouts = 0;
    const responses: number[] = [];
    const tx = new NonInviteClientTransaction(layer, "z9hG4bKt1", "BYE", bytes("BYE"), DEST, {
      onResponse: (r) => void responses.push(r.status),
      onTimeout: () => void timeouts++,
    });
    layer.addClient(tx);
    tx.start();
    advance(1000);
    tx.receiveResponse(res(100, "BYE"));
    advance(31000);
    expect(timeouts).toBe(1);
    expect(responses).toEqual([100]);
    // 0 and 500 while Trying; the 100 came at 1000, so E fires at 1500 in Proceeding and is reset to T2 (17.1.2.2).
    expect(times()).toEqual([0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500]);
    expect(tx.state).toBe("terminated");
    expect(layer.counters).toEqual({ sent: 10, received: 0, retransmissions: 9, responseRetransmissions: 0 });
  });

  test("non-INVITE: without any response timer E doubles up to T2", () => {
    const { layer, times } = recorder();
    const tx = new NonInviteClientTransaction(layer, "z9hG4bKt1", "BYE", bytes("BYE"), DEST, {
      onResponse: () => {},
      onTimeout: () => {},
    });
    layer.addClient(tx);
    tx.start();
    advance(32000);
    expect(times()).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(tx.state).toBe("terminated");
  });

  test("non-INVITE: a final response completes it; retransmitted finals are absorbed; timer K ends it", () => {
    const { layer, sent } = recorder();
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
    advance(4999);
    expect(sent.length).toBe(1);
    expect(tx.state).toBe("completed");
    advance(1);
    expect(tx.state).toBe("terminated");
  });

  test("INVITE: timer A doubles without the T2 cap until timer B", () => {
    const { layer, times } = recorder();
    let timeouts = 0;
    const tx = startInvite(layer, { onResponse: () => {}, onTimeout: () => void timeouts++ });
    advance(32000);
    expect(timeouts).toBe(1);
    expect(times()).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(tx.retransmissions).toBe(6);
    expect(layer.counters).toEqual({ sent: 7, received: 0, retransmissions: 6, responseRetransmissions: 0 });
  });

  test("INVITE: a provisional stops timer A; a failure is ACKed on each retransmission and reported once", () => {
    const { layer, sent } = recorder();
    const responses: number[] = [];
    const tx = startInvite(layer, { onResponse: (r) => void responses.push(r.status), onTimeout: () => {} });
    tx.receiveResponse(res(180));
    advance(10000);
    expect(sent.map((x) => x.data)).toEqual(["INVITE"]);
    tx.receiveResponse(res(486));
    tx.receiveResponse(res(486));
    expect(responses).toEqual([180, 486]);
    expect(sent.map((x) => x.data)).toEqual(["INVITE", "ACK", "ACK"]);
    advance(32000);
    expect(tx.state).toBe("terminated");
  });

  test("INVITE: 2xx and its retransmissions reach the TU (RFC 6026 Accepted) until timer M", () => {
    const { layer } = recorder();
    const responses: number[] = [];
    const tx = startInvite(layer, { onResponse: (r) => void responses.push(r.status), onTimeout: () => {} });
    tx.receiveResponse(res(200));
    tx.receiveResponse(res(200));
    expect(responses).toEqual([200, 200]);
    expect(tx.state).toBe("accepted");
    advance(32000);
    expect(tx.state).toBe("terminated");
  });

  test("layer.close() stops every timer and is idempotent", () => {
    const { layer, sent } = recorder();
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
    advance(40000);
    expect(sent.length).toBe(1);
    expect(layer.client.size).toBe(0);
  });
});
