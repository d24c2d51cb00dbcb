import { describe, expect, test } from "bun:test";
import { JB_IDLE, JB_LOST, JitterBuffer, concealFrame } from "./jitter-buffer.ts";

interface Sim {
  frames: number;
  jitter?: (i: number) => number;
  lose?: (i: number) => boolean;
  duplicate?: (i: number) => boolean;
  startSeq?: number;
  startTs?: number;
  ssrc?: (i: number) => number;
  extraTicks?: number;
  phase?: number;
}

/** Plays a stream through the buffer; returns what each tick read (frame index, "lost" or "idle"). */
function simulate(jb: JitterBuffer, sim: Sim): (number | "lost" | "idle")[] {
  const arrivals: { t: number; i: number }[] = [];
  for (let i = 0; i < sim.frames; i++) {
    if (sim.lose?.(i)) continue;
    const t = i * 20 + (sim.jitter?.(i) ?? 0);
    arrivals.push({ t, i });
    if (sim.duplicate?.(i)) arrivals.push({ t: t + 1, i });
  }
  arrivals.sort((a, b) => a.t - b.t);
  const payload = new Uint8Array(160);
  const out = new Uint8Array(160);
  const result: (number | "lost" | "idle")[] = [];
  let next = 0;
  const ticks = sim.frames + (sim.extraTicks ?? 20);
  for (let k = 0; k < ticks; k++) {
    const now = k * 20 + (sim.phase ?? 10);
    while (next < arrivals.length && (arrivals[next]?.t ?? 0) <= now) {
      const { t, i } = arrivals[next++] as { t: number; i: number };
      payload[0] = i >> 8;
      payload[1] = i & 0xff;
      const seq = ((sim.startSeq ?? 1000) + i) & 0xffff;
      const ts = ((sim.startTs ?? 5000) + i * 160) >>> 0;
      jb.put(seq, ts, sim.ssrc?.(i) ?? 42, payload, 0, 160, t);
    }
    const n = jb.read(out, 0);
    result.push(n > 0 ? ((out[0] as number) << 8) | (out[1] as number) : n === JB_LOST ? "lost" : "idle");
  }
  return result;
}

const played = (r: (number | string)[]) => r.filter((x): x is number => typeof x === "number");

describe("JitterBuffer", () => {
  test("in-order stream plays every frame once, in order, after the minimum delay", () => {
    const jb = new JitterBuffer();
    const r = simulate(jb, { frames: 100 });
    expect(played(r)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(r.indexOf(0)).toBe(1); // 40 ms minimum delay: two frames buffered
    expect(r.slice(1, 101).every((x) => typeof x === "number")).toBe(true);
    expect(jb.late + jb.duplicates).toBe(0);
  });

  test("reordered packets come out in order", () => {
    const jb = new JitterBuffer();
    // Swap neighbours: every odd frame arrives 25 ms late, after the next one.
    const r = simulate(jb, { frames: 100, jitter: (i) => (i % 2 ? 25 : 0) });
    expect(played(r)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  test("duplicates are dropped and counted", () => {
    const jb = new JitterBuffer();
    const r = simulate(jb, { frames: 50, duplicate: (i) => i % 3 === 0 });
    expect(played(r)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(jb.duplicates).toBe(17);
  });

  test("lost packets are concealed at their place and the rest plays in order", () => {
    const jb = new JitterBuffer();
    const gone = new Set([10, 20, 21]);
    const r = simulate(jb, { frames: 40, lose: (i) => gone.has(i), extraTicks: 2 });
    const start = r.indexOf(0);
    const stream = r.slice(start, r.indexOf(39) + 1);
    expect(played(stream)).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => !gone.has(i)));
    // A single loss behind a received frame is one LOST tick; a loss at the head of
    // the buffer cannot be told from lateness, so playout waits one tick (delay grows).
    expect(stream.slice(10, 11)).toEqual(["lost"]);
    const lostTicks = stream.filter((x) => x === "lost").length;
    expect(lostTicks).toBeGreaterThanOrEqual(3);
    expect(lostTicks).toBeLessThanOrEqual(4);
  });

  test("sequence numbers wrap at 65535", () => {
    const jb = new JitterBuffer();
    const r = simulate(jb, { frames: 40, startSeq: 65520, startTs: 0xffffff00 });
    expect(played(r)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  test("an SSRC change restarts the stream", () => {
    const jb = new JitterBuffer();
    const r = simulate(jb, { frames: 60, ssrc: (i) => (i < 30 ? 1 : 2) });
    const p = played(r);
    // The old stream's last buffered frame may be flushed at the switch; the new one plays whole.
    expect(p.slice(0, 29)).toEqual(Array.from({ length: 29 }, (_, i) => i));
    expect(p.slice(p.indexOf(30))).toEqual(Array.from({ length: 30 }, (_, i) => 30 + i));
    expect(jb.resets).toBe(1);
  });

  test("a far sequence jump repositions instead of waiting", () => {
    const jb = new JitterBuffer();
    const payload = new Uint8Array(160);
    const out = new Uint8Array(160);
    let t = 0;
    for (let i = 0; i < 10; i++, t += 20) {
      jb.put(100 + i, i * 160, 7, payload, 0, 160, t);
      jb.read(out, 0);
    }
    let played = 0;
    for (let i = 0; i < 10; i++, t += 20) {
      payload[0] = 9;
      jb.put(30000 + i, 99999 + i * 160, 7, payload, 0, 160, t);
      if (jb.read(out, 0) > 0 && out[0] === 9) played++;
    }
    expect(played).toBeGreaterThanOrEqual(7);
    expect(jb.resets).toBe(1);
  });

  test("a timestamp jump does not inflate the jitter estimate", () => {
    const jb = new JitterBuffer();
    simulate(jb, { frames: 50 });
    const payload = new Uint8Array(160);
    jb.put(1050, 5000 + 50 * 160 + 8000 * 60, 42, payload, 0, 160, 1000);
    expect(jb.jitterMs).toBeLessThan(1);
  });

  test("adapts: delay grows under heavy jitter with little loss, then shrinks when it calms", () => {
    const jb = new JitterBuffer();
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const frames = 1500;
    const r = simulate(jb, { frames, jitter: (i) => (i < 1000 ? rand() * 80 : 0) });
    expect(jb.jitterMs).toBeLessThan(5); // calm again at the end
    const lostLate = r.slice(300, 1000).filter((x) => x === "lost").length;
    expect(lostLate).toBeLessThan(7); // < 1% once adapted
    expect(jb.targetFrames).toBe(2);
    expect(jb.depth).toBeLessThanOrEqual(3); // shed the extra delay
    expect(jb.dropped).toBeGreaterThan(0);
    const p = played(r);
    for (let k = 1; k < p.length; k++) expect((p[k] as number) > (p[k - 1] as number)).toBe(true);
  });

  test("never exceeds the maximum delay", () => {
    const jb = new JitterBuffer({ maxDelayMs: 100 });
    simulate(jb, { frames: 400, jitter: (i) => (i % 50 === 0 ? 900 : 0) });
    expect(jb.targetFrames).toBeLessThanOrEqual(5);
  });

  test("a sender pause goes idle, and the next talkspurt plays again", () => {
    const jb = new JitterBuffer();
    const payload = new Uint8Array(160);
    const out = new Uint8Array(160);
    const results: number[] = [];
    let seq = 0;
    for (let k = 0; k < 100; k++) {
      const talking = k < 20 || k >= 60;
      if (talking) jb.put(seq++, k * 160, 1, payload, 0, 160, k * 20);
      results.push(jb.read(out, 0));
    }
    expect(results.slice(30, 60).every((x) => x === JB_IDLE)).toBe(true);
    expect(results.slice(65, 100).every((x) => x === 160)).toBe(true);
  });

  test("sequence numbers used by RFC 4733 packets are skipped, not concealed", () => {
    const jb = new JitterBuffer();
    const payload = new Uint8Array(160);
    const out = new Uint8Array(160);
    const results: number[] = [];
    let seq = 0;
    for (let k = 0; k < 40; k++) {
      if (k >= 10 && k < 15) jb.skip(seq++, 1);
      jb.put(seq++, k * 160, 1, payload, 0, 160, k * 20);
      results.push(jb.read(out, 0));
    }
    expect(results.slice(2).every((x) => x === 160)).toBe(true);
  });

  test("a payload longer than 20 ms keeps the frames buffered before it, and is kept whole", () => {
    const jb = new JitterBuffer();
    const frame = (i: number, len: number) => new Uint8Array(len).map((_, k) => (i * 7 + k) & 0xff);
    const lens = [160, 160, 160, 320, 160, 240, 160];
    for (let i = 0; i < lens.length; i++) jb.put(100 + i, i * 160, 9, frame(i, lens[i] as number), 0, lens[i] as number, i * 20);
    const got: number[][] = [];
    for (let k = 0; k < 20 && got.length < lens.length; k++) {
      const n = jb.readFrame();
      if (n > 0) got.push(Array.from(jb.frameData.subarray(jb.frameOffset, jb.frameOffset + n)));
    }
    expect(got).toEqual(lens.map((len, i) => Array.from(frame(i, len))));
    expect(jb.frameData.length).toBe(64 * 320);
  });

  test("a caller sending 20 ms frames keeps 20 ms ring slots", () => {
    const jb = new JitterBuffer();
    for (let i = 0; i < 100; i++) jb.put(i, i * 160, 1, new Uint8Array(160), 0, 160, i * 20);
    expect(jb.frameData.length).toBe(64 * 160);
  });

  test("oversized payloads are refused", () => {
    const jb = new JitterBuffer({ maxPayload: 160 });
    expect(jb.put(1, 1, 1, new Uint8Array(200), 0, 200, 0)).toBe(false);
  });
});

describe("concealFrame", () => {
  test("repeats the last frame attenuated, then silence", () => {
    const pcm = new Int16Array([0, 1000, -1000, 0]);
    concealFrame(pcm, 1, 2, 1);
    expect(Array.from(pcm)).toEqual([0, 500, -500, 0]);
    concealFrame(pcm, 1, 2, 2);
    expect(Array.from(pcm)).toEqual([0, 250, -250, 0]);
    concealFrame(pcm, 1, 2, 4);
    expect(Array.from(pcm)).toEqual([0, 0, 0, 0]);
  });
});
