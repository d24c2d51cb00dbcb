import { afterEach, describe, expect, test } from "bun:test";
import { Generator } from "./generator.ts";
import type { CallSpec, GeneratorConfig } from "./generator-types.ts";
import { LoadPool } from "./pool.ts";
import { startReferenceUas, type ReferenceUas } from "./reference-uas.ts";
import { expectWholeStreams, loopbackConfig } from "./testing/loopback.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function config(sipPort: number): GeneratorConfig {
  return loopbackConfig(sipPort, range());
}

function specs(n: number, sends: CallSpec["send"][]): CallSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    index: i,
    fromUser: `1999000${String(i).padStart(4, "0")}`,
    toUser: "15550001111",
    digits: "1234#",
    role: i === 0 ? "host" : "participant",
    send: sends[i % sends.length]!,
    talker: i,
  }));
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("timed out");
    await Bun.sleep(10);
  }
}

/** A random port range in 40000..59000 so parallel runs rarely collide (collisions are skipped). */
function range(): { rtpPortMin: number; rtpPortMax: number } {
  const b = 40000 + Math.floor(Math.random() * 95) * 200;
  return { rtpPortMin: b, rtpPortMax: b + 199 };
}

describe("Generator against the reference UAS", () => {
  test("calls connect, key the code by RFC 4733, receive paced audio without loss, hang up both ways", async () => {
    const uas: ReferenceUas = await startReferenceUas({ ...range(), mediaAfterHash: true });
    cleanups.push(() => uas.close());
    const gen = await Generator.create(config(uas.port));
    cleanups.push(() => gen.close());

    await gen.place(specs(4, ["voice", "silence", "none"]), 0);
    expect(gen.liveCalls).toBe(4);
    // Five digits take 5 x 160 ms; wait for every call's code at the UAS.
    await until(() => uas.calls().every((c) => c.digits === "1234#"), 3000);
    await until(() => gen.report().calls.every((c) => c.codeDoneAt !== null), 1000);
    const before = new Map(uas.calls().map((c) => [c.from, c.packetsIn]));
    gen.resetWindow();
    await Bun.sleep(500);
    const r = gen.report();

    expect(r.calls.map((c) => c.status)).toEqual([200, 200, 200, 200]);
    expect(r.calls.every((c) => c.codeDoneAt !== null && c.inviteTo200Ms !== null)).toBe(true);
    // '#' is pressed (its first packet) before the sequence with its end packets and gap is over.
    expect(r.calls.every((c) => c.codeSentAt !== null && c.codeSentAt < c.codeDoneAt! - 100)).toBe(true);
    // ~25 packets per call in 500 ms; allow the window edges and a busy machine.
    expectWholeStreams(r.rx, 4, 4 * 18);
    expect(r.rx.counters.packets).toBeLessThanOrEqual(4 * 27);
    expect(r.rx.counters.seqJumps).toBe(0);
    expect(r.rx.counters.tsErrors).toBe(0);
    // The reference sends silence: nothing heard as voice.
    expect(r.rx.energy.participant.checked).toBeGreaterThan(0);
    expect(r.rx.energy.participant.voiced).toBe(0);
    // Callers 0 and 3 send voice, 1 silence, 2 nothing once the code is in.
    const after = new Map(uas.calls().map((c) => [c.from, c.packetsIn]));
    const grew = [...after].map(([from, n]) => ({ from, d: n - (before.get(from) ?? 0) }));
    const silent = grew.filter((g) => g.d === 0);
    expect(silent).toHaveLength(1);
    expect(silent[0]!.from).toContain("19990000002");
    expect(r.tx.packets).toBeGreaterThanOrEqual(3 * 18);

    // The server hangs one call up; we hang up the rest.
    const first = uas.calls()[0]!;
    uas.bye(first.callId);
    await until(() => gen.liveCalls === 3, 1000);
    await gen.hangupAll(0);
    const end = gen.report();
    expect(end.calls.filter((c) => c.remoteByeAt !== null)).toHaveLength(1);
    expect(end.calls.filter((c) => c.byeStatus === 200)).toHaveLength(3);
    expect(uas.calls().every((c) => c.ended)).toBe(true);
  });

  test("calls sharing RTP sockets are told apart by the far end's port", async () => {
    const uas = await startReferenceUas({ ...range(), mediaAfterHash: true });
    cleanups.push(() => uas.close());
    const gen = await Generator.create({ ...config(uas.port), callsPerSocket: 3 });
    cleanups.push(() => gen.close());
    await gen.place(specs(5, ["silence"]), 0);
    await until(() => uas.calls().every((c) => c.digits === "1234#"), 3000);
    // Five calls on two local sockets (3 + 2): the UAS latched two distinct local ports.
    const localPorts = new Set(uas.calls().map((c) => c.peer!.port));
    expect(localPorts.size).toBe(2);
    gen.resetWindow();
    await Bun.sleep(400);
    const r = gen.report();
    // Every stream got its own packets (one SSRC each, continuous).
    expectWholeStreams(r.rx, 5, 5 * 17);
    expect(r.rx.counters.seqJumps).toBe(0);
    await gen.hangupAll(0);
    expect(gen.report().calls.every((c) => c.byeStatus === 200)).toBe(true);
  });

  test("calls moved to a second node by re-INVITE: no loss or stream errors, BYEs reach the new node", async () => {
    // The first node sends media for 200 ms before the move: both streams reach the caller.
    const uas = await startReferenceUas({ ...range(), mediaAfterHash: true, moveAfterHash: true, moveDelayMs: 200, t1Ms: 100 });
    cleanups.push(() => uas.close());
    // Shared sockets too: the demux must follow each call's new far port.
    const gen = await Generator.create({ ...config(uas.port), callsPerSocket: 2 });
    cleanups.push(() => gen.close());
    await gen.place(specs(4, ["voice", "silence"]), 0);
    await until(() => uas.calls().every((c) => c.moved), 4000);
    const rtpBefore = new Map(uas.calls().map((c) => [c.callId, c.rtpPort]));
    await Bun.sleep(400);
    const r = gen.report();
    // Counted from the first packet: the old node's stream and the new one.
    expectWholeStreams(r.rx, 4, 4 * 15);
    expect(r.rx.counters.seqJumps).toBe(0);
    expect(r.rx.counters.tsErrors).toBe(0);
    expect(r.calls.every((c) => c.moves === 1)).toBe(true);
    expect(r.sip.reinvites).toBe(4);
    expect(uas.calls().every((c) => c.moveStatus === 200)).toBe(true);
    // Our media follows: the new node's socket receives our packets.
    const during = new Map(uas.calls().map((c) => [c.callId, c.packetsIn]));
    await Bun.sleep(200);
    for (const c of uas.calls()) expect(c.packetsIn).toBeGreaterThan(during.get(c.callId)! + 5);
    expect(uas.calls().every((c) => c.rtpPort === rtpBefore.get(c.callId))).toBe(true);
    // The new node hangs one call up; we hang up the rest, to the new node's SIP port.
    uas.bye(uas.calls()[0]!.callId);
    await until(() => gen.liveCalls === 3, 1000);
    await gen.hangupAll(0);
    const end = gen.report();
    expect(end.calls.filter((c) => c.remoteByeAt !== null)).toHaveLength(1);
    expect(end.calls.filter((c) => c.byeStatus === 200)).toHaveLength(3);
    const byes = uas.calls().filter((c) => c.byePort !== null);
    expect(byes).toHaveLength(3);
    expect(byes.every((c) => c.byePort === uas.movePort)).toBe(true);
    expect(end.sip.answerAckTimeouts).toBe(0);
    // A gap of about a packet time across the move, not a lost stretch.
    expect(end.calls.every((c) => c.moveGapMs !== null && c.moveGapMs < 100)).toBe(true);
  });

  test("through a worker: loss the UAS injects is measured", async () => {
    const uas = await startReferenceUas({ ...range(), dropRate: 0.2 });
    cleanups.push(() => uas.close());
    const pool = await LoadPool.create(1, config(uas.port));
    cleanups.push(() => pool.close());
    await pool.place(
      specs(3, ["silence"]).map((s) => ({ ...s, digits: "" })),
      0,
    );
    await Bun.sleep(100);
    await pool.resetWindow();
    await Bun.sleep(800);
    const [r] = await pool.reports();
    await pool.hangupAll(0);
    const { sent, dropped } = uas.counters();
    expect(r!.rx.streams).toBe(3);
    const lossPct = (100 * r!.rx.lost) / r!.rx.counters.expected;
    // 20% dropped at random over ~120 packets (sd ~3.7 points): bounds at ~4 sd.
    expect(lossPct).toBeGreaterThan(5);
    expect(lossPct).toBeLessThan(36);
    expect(r!.rx.counters.seqJumps).toBeGreaterThan(0);
    expect(dropped / (sent + dropped)).toBeGreaterThan(0.05);
  });
});
