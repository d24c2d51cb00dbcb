import { describe, expect, test } from "bun:test";
import { Histogram, StreamStats } from "./stats.ts";

/** Feed packets (seq offsets from `start`) arriving every 20 ms unless times are given. */
function feed(s: StreamStats, start: number, offsets: number[], times?: number[], ssrc = 1): void {
  offsets.forEach((o, i) => {
    const seq = (start + o) & 0xffff;
    const ts = (1000 + o * 160) >>> 0;
    s.onPacket(seq, ts, ssrc, false, times ? times[i]! : o * 20, 172);
  });
}

describe("StreamStats loss", () => {
  test("no loss across the 16-bit sequence wrap", () => {
    const s = new StreamStats();
    feed(
      s,
      65530,
      Array.from({ length: 20 }, (_, i) => i),
    );
    expect(s.c.packets).toBe(20);
    expect(s.c.expected).toBe(20);
    expect(s.lost).toBe(0);
    expect(s.c.seqJumps).toBe(0);
    expect(s.c.tsErrors).toBe(0);
  });

  test("gaps across the wrap count as lost packets and as jumps", () => {
    const s = new StreamStats();
    // 65533..65535, [0 and 1 missing], 2..4, [5..7 missing], 8
    feed(s, 65533, [0, 1, 2, 5, 6, 7, 11]);
    expect(s.c.expected).toBe(12);
    expect(s.lost).toBe(5);
    expect(s.c.seqJumps).toBe(2);
    // Timestamps advanced consistently with the sequence numbers: not an error.
    expect(s.c.tsErrors).toBe(0);
  });

  test("duplicates and late (reordered) packets", () => {
    const s = new StreamStats();
    feed(s, 100, [0, 1, 3, 2, 3, 4]);
    expect(s.c.expected).toBe(5);
    expect(s.c.duplicates).toBe(1);
    expect(s.c.reordered).toBe(1);
    expect(s.lost).toBe(0);
  });

  test("timestamp not advancing by 160 per packet, and SSRC change", () => {
    const s = new StreamStats();
    s.onPacket(1, 0, 7, false, 0, 172);
    s.onPacket(2, 160, 7, false, 20, 172);
    s.onPacket(3, 400, 7, false, 40, 172); // should be 320
    s.onPacket(4, 560, 7, true, 60, 172); // consistent with previous
    s.onPacket(500, 99999, 8, false, 80, 172); // new source restarts numbering
    s.onPacket(501, 100159, 8, false, 100, 172);
    expect(s.c.tsErrors).toBe(1);
    expect(s.c.ssrcChanges).toBe(1);
    expect(s.c.expected).toBe(6);
    expect(s.lost).toBe(0);
  });

  test("newStream: a moved call's new SSRC and sequence are not loss, jumps, SSRC changes or late", () => {
    const s = new StreamStats();
    feed(s, 100, [0, 1, 2, 4]); // one lost before the move
    s.newStream();
    // The new node's stream: other SSRC, sequence and timestamps, after a 300 ms gap.
    s.onPacket(40000, 5_000_000, 9, true, 380, 172);
    s.onPacket(40001, 5_000_160, 9, false, 400, 172);
    s.onPacket(40003, 5_000_480, 9, false, 440, 172); // one lost after the move
    expect(s.c.packets).toBe(7);
    expect(s.c.expected).toBe(5 + 4);
    expect(s.lost).toBe(2);
    expect(s.c.ssrcChanges).toBe(0);
    expect(s.c.seqJumps).toBe(2);
    expect(s.c.tsErrors).toBe(0);
    expect(s.c.late).toBe(0);
    // Without newStream the same change of source is an error of the stream.
    s.onPacket(7, 70, 10, false, 460, 172);
    expect(s.c.ssrcChanges).toBe(1);
  });

  test("newStream after a window reset, and before any packet", () => {
    const fresh = new StreamStats();
    fresh.newStream();
    fresh.onPacket(5, 0, 1, false, 0, 172);
    fresh.onPacket(6, 160, 1, false, 20, 172);
    expect(fresh.c.ssrcChanges).toBe(0);
    expect(fresh.c.expected).toBe(2);
    const s = new StreamStats();
    feed(s, 0, [0, 1, 2]);
    s.resetCounters();
    s.newStream();
    s.onPacket(900, 7, 2, false, 100, 172);
    s.onPacket(901, 167, 2, false, 120, 172);
    expect(s.c.expected).toBe(2);
    expect(s.lost).toBe(0);
    expect(s.c.ssrcChanges).toBe(0);
  });

  test("window reset counts loss only from the next packet", () => {
    const s = new StreamStats();
    feed(s, 0, [0, 1, 5]);
    expect(s.lost).toBe(3);
    s.resetCounters();
    feed(s, 0, [6, 7, 9]);
    expect(s.c.packets).toBe(3);
    expect(s.c.expected).toBe(4);
    expect(s.lost).toBe(1);
  });
});

describe("StreamStats timing", () => {
  test("perfectly paced packets have zero jitter and no late arrivals", () => {
    const dev = new Histogram(0.1, 1000);
    const s = new StreamStats({ deviation: dev });
    feed(
      s,
      0,
      Array.from({ length: 100 }, (_, i) => i),
    );
    expect(s.c.jitterMs).toBe(0);
    expect(s.c.late).toBe(0);
    expect(dev.count).toBe(99);
    expect(dev.max).toBe(0);
  });

  test("RFC 3550 jitter converges to the mean |D| of alternating 15/25 ms arrivals", () => {
    const dev = new Histogram(0.1, 1000);
    const s = new StreamStats({ deviation: dev, lateMs: 24 });
    const times: number[] = [];
    let t = 0;
    for (let i = 0; i < 400; i++) {
      times.push(t);
      t += i % 2 === 0 ? 15 : 25;
    }
    feed(
      s,
      0,
      Array.from({ length: 400 }, (_, i) => i),
      times,
    );
    // |D| is 5 ms every packet, so J -> 5 ms.
    expect(s.c.jitterMs).toBeCloseTo(5, 3);
    expect(s.c.late).toBe(199);
    expect(dev.quantile(0.5)).toBeCloseTo(5, 1);
    expect(s.c.maxGapMs).toBe(25);
  });

  test("a 30 ms gap is one late arrival with a 10 ms deviation", () => {
    const dev = new Histogram(0.1, 1000);
    const s = new StreamStats({ deviation: dev });
    feed(s, 0, [0, 1, 2, 3], [0, 20, 50, 60]);
    expect(s.c.late).toBe(1);
    expect(dev.max).toBe(10);
    expect(s.c.maxGapMs).toBe(30);
  });
});

describe("Histogram", () => {
  test("quantiles and merge", () => {
    const a = new Histogram(1, 100);
    for (let i = 1; i <= 100; i++) a.record(i - 0.5);
    expect(a.quantile(0.5)).toBe(50);
    expect(a.quantile(0.99)).toBe(99);
    expect(a.quantile(1)).toBe(99.5);
    const b = new Histogram(1, 100);
    b.record(500); // beyond range: last bin, exact max kept
    b.merge(a.toData());
    expect(b.count).toBe(101);
    expect(b.max).toBe(500);
    expect(b.quantile(1)).toBe(500);
  });
});
