import { describe, expect, test } from "bun:test";
import { ConferenceMixer } from "./conference-mixer.ts";
import { ULAW_DECODE, encodeUlaw } from "./g711.ts";
import { goertzelAmplitude } from "./goertzel.ts";
import { JB_LOST } from "./jitter-buffer.ts";
import type { FrameSource } from "./mixer-types.ts";
import { LoopSource, synthTone } from "./tones.ts";
import {
  TRUNK_HEADER_BYTES,
  TRUNK_PACKET_BYTES,
  TRUNK_SAMPLES,
  TrunkHeader,
  TrunkLane,
  TrunkSender,
  readTrunkHeader,
  writeTrunkFrame,
} from "./trunk.ts";

const MOH = new Map([["default", new LoopSource("default", synthTone([300], 1000, 6000, 0))]]);

describe("trunk framing", () => {
  test("a frame round-trips: header fields, samples, level", () => {
    const pcm = new Int32Array(TRUNK_SAMPLES * 2);
    for (let i = 0; i < TRUNK_SAMPLES; i++) pcm[TRUNK_SAMPLES + i] = i % 2 === 0 ? 1000 : -1000;
    pcm[TRUNK_SAMPLES + 5] = 40000; // clamped to 32767
    const buf = new Uint8Array(TRUNK_PACKET_BYTES);
    expect(writeTrunkFrame(buf, 0xfedcba98, 3, 0x01020304, pcm, TRUNK_SAMPLES)).toBe(TRUNK_PACKET_BYTES);
    const h = new TrunkHeader();
    expect(readTrunkHeader(buf, h)).toBe(true);
    expect(h).toMatchObject({ lane: 3, receiverId: 0xfedcba98, seq: 0x01020304 });
    expect(h.level).toBeGreaterThan(1000);
    const view = new DataView(buf.buffer);
    expect(view.getInt16(TRUNK_HEADER_BYTES, true)).toBe(1000);
    expect(view.getInt16(TRUNK_HEADER_BYTES + 2, true)).toBe(-1000);
    expect(view.getInt16(TRUNK_HEADER_BYTES + 10, true)).toBe(32767);
  });

  test("what is not a whole packet of this version is refused", () => {
    const buf = new Uint8Array(TRUNK_PACKET_BYTES);
    writeTrunkFrame(buf, 1, 0, 1, new Int16Array(TRUNK_SAMPLES), 0);
    const h = new TrunkHeader();
    const cases: { name: string; packet: Uint8Array }[] = [
      { name: "short", packet: buf.slice(0, TRUNK_PACKET_BYTES - 1) },
      { name: "long", packet: new Uint8Array(TRUNK_PACKET_BYTES + 1) },
      { name: "bad magic", packet: Uint8Array.from(buf, (v, i) => (i === 0 ? 0 : v)) },
      { name: "other version", packet: Uint8Array.from(buf, (v, i) => (i === 2 ? 9 : v)) },
      { name: "other frame size", packet: Uint8Array.from(buf, (v, i) => (i === 15 ? 160 : v)) },
    ];
    for (const c of cases) expect({ name: c.name, ok: readTrunkHeader(c.packet, h) }).toEqual({ name: c.name, ok: false });
    expect(readTrunkHeader(buf, h)).toBe(true);
  });
});

describe("TrunkLane", () => {
  const frame = (seq: number, value: number) => {
    const buf = new Uint8Array(TRUNK_PACKET_BYTES);
    writeTrunkFrame(buf, 1, 0, seq, new Int16Array(TRUNK_SAMPLES).fill(value), 0);
    const h = new TrunkHeader();
    readTrunkHeader(buf, h);
    return { buf, h };
  };
  const sample = (lane: TrunkLane) => new DataView(lane.frameData.buffer).getInt16(lane.frameOffset, true);

  test("plays after two frames, in order, conceals a short gap, then goes silent", () => {
    const lane = new TrunkLane();
    const f1 = frame(1, 11);
    lane.push(f1.buf, f1.h);
    expect(lane.readFrame()).toBe(0); // prebuffering
    const f2 = frame(2, 22);
    lane.push(f2.buf, f2.h);
    expect(lane.readFrame()).toBe(TRUNK_SAMPLES * 2);
    expect(sample(lane)).toBe(11);
    expect(lane.readFrame()).toBe(TRUNK_SAMPLES * 2);
    expect(sample(lane)).toBe(22);
    expect([lane.readFrame(), lane.readFrame(), lane.readFrame()]).toEqual([JB_LOST, JB_LOST, JB_LOST]);
    expect(lane.readFrame()).toBe(0);
  });

  test("stale and repeated frames are dropped; a full ring keeps the newest", () => {
    const lane = new TrunkLane();
    for (const [seq, v] of [
      [5, 5],
      [4, 4],
      [5, 55],
      [6, 6],
      [7, 7],
      [8, 8],
      [9, 9],
    ] as const) {
      const f = frame(seq, v);
      lane.push(f.buf, f.h);
    }
    expect(lane.received).toBe(5);
    expect(lane.dropped).toBe(3); // 4, the second 5, and 5 pushed out by 9
    const heard: number[] = [];
    while (lane.readFrame() > 0) heard.push(sample(lane));
    expect(heard[heard.length - 1]).toBe(9);
    expect(heard.length).toBeLessThanOrEqual(3);
  });
});

/** A phone sending a PCMU tone straight into its slot. */
class TonePhone implements FrameSource {
  readonly frameData = new Uint8Array(160);
  readonly frameOffset = 0;
  readonly lossRun = 0;
  readonly heard: number[] = [];
  slot = -1;
  private phase = 0;
  constructor(readonly freq: number) {}
  readFrame(): number {
    const pcm = new Int16Array(160);
    for (let i = 0; i < 160; i++) {
      pcm[i] = Math.round(3000 * Math.sin(this.phase));
      this.phase += (2 * Math.PI * this.freq) / 8000;
    }
    encodeUlaw(pcm, 0, this.frameData, 0, 160);
    return 160;
  }
  receive(mixer: ConferenceMixer): void {
    const off = mixer.outOffset[this.slot] as number;
    const len = mixer.outLength[this.slot] as number;
    for (let i = 0; i < len; i++) this.heard.push(ULAW_DECODE[mixer.arena[off + i] as number] as number);
  }
  level(freq: number): number {
    const n = 4800;
    return goertzelAmplitude(this.heard, this.heard.length - n, n, freq, 8000);
  }
}

/** One side of a cascaded meeting: its mixer, its phones, its lanes from the other side. */
function side(lanes: number) {
  const mixer = new ConferenceMixer({ mohSources: MOH, maxTalkers: lanes });
  const inputs = Array.from({ length: lanes }, () => new TrunkLane());
  for (const lane of inputs) mixer.addSlot({ codec: "PCMU", linear: true, send: false, input: lane });
  const tx = new TrunkSender(lanes);
  const phones: TonePhone[] = [];
  const add = (p: TonePhone) => {
    p.slot = mixer.addSlot({ codec: "PCMU", input: p });
    phones.push(p);
  };
  return { mixer, inputs, tx, phones, add };
}

describe("two mixers linked by a trunk", () => {
  test("each side hears the other's talkers and its own, nobody hears themselves", () => {
    const a = side(4);
    const b = side(4);
    a.add(new TonePhone(500));
    a.add(new TonePhone(1100));
    b.add(new TonePhone(1700));
    b.add(new TonePhone(2300));
    const h = new TrunkHeader();
    const carry = (from: ReturnType<typeof side>, to: ReturnType<typeof side>) => {
      const n = from.tx.prepare(from.mixer);
      for (let i = 0; i < n; i++) {
        const packet = from.tx.packet(from.mixer, i, 7);
        expect(readTrunkHeader(packet, h)).toBe(true);
        expect(h.receiverId).toBe(7);
        (to.inputs[h.lane] as TrunkLane).push(packet, h);
      }
      return n;
    };
    const sent: number[] = [];
    for (let t = 0; t < 100; t++) {
      a.mixer.tick();
      b.mixer.tick();
      for (const p of [...a.phones, ...b.phones]) p.receive(p.slot >= 0 && a.phones.includes(p) ? a.mixer : b.mixer);
      sent.push(carry(a, b), carry(b, a));
    }
    // Only local talkers go over the trunk: two each way, never what came in.
    expect(Math.max(...sent)).toBe(2);
    const all = [...a.phones, ...b.phones];
    for (const listener of all) {
      for (const talker of all) {
        const level = listener.level(talker.freq);
        if (listener === talker) expect({ self: talker.freq, level: level < 100 }).toEqual({ self: talker.freq, level: true });
        else
          expect({ hears: talker.freq, by: listener.freq, level: level > 1000 }).toEqual({
            hears: talker.freq,
            by: listener.freq,
            level: true,
          });
      }
    }
  });

  test("a talker keeps its lane while another stops", () => {
    const a = side(4);
    const x = new TonePhone(500);
    const y = new TonePhone(900);
    a.add(x);
    a.add(y);
    const h = new TrunkHeader();
    const lanesOf = (freq: number, from: number, to: number) => {
      const lanes = new Set<number>();
      for (let t = from; t < to; t++) {
        if (t === 10) a.mixer.setMuted(x.slot, true);
        a.mixer.tick();
        const n = a.tx.prepare(a.mixer);
        for (let i = 0; i < n; i++) {
          const packet = a.tx.packet(a.mixer, i, 1);
          readTrunkHeader(packet, h);
          const view = new DataView(packet.buffer, TRUNK_HEADER_BYTES);
          const pcm = Array.from({ length: TRUNK_SAMPLES }, (_, j) => view.getInt16(2 * j, true));
          if (goertzelAmplitude(pcm, 0, TRUNK_SAMPLES, freq, 16000) > 2000) lanes.add(h.lane);
        }
      }
      return [...lanes];
    };
    const before = lanesOf(900, 0, 10);
    const after = lanesOf(900, 10, 30);
    expect(before.length).toBe(1);
    expect(after).toEqual(before);
  });
});
