import { describe, expect, test } from "bun:test";
import { DtmfReceiver, DtmfSender, InbandDtmfDetector, dtmfEvent, dtmfKey } from "./dtmf.ts";
import { decodeUlaw, encodeUlaw } from "./g711.ts";
import { RtpSender, createRtpHeader, parseRtp } from "./rtp.ts";

const FREQS: Record<string, [number, number]> = {};
"123A456B789C*0#D".split("").forEach((k, i) => {
  FREQS[k] = [([697, 770, 852, 941] as const)[i >> 2] as number, ([1209, 1336, 1477, 1633] as const)[i & 3] as number];
});

/** 8 kHz PCM: each entry is [key or "" for silence, ms, amplitude per tone, high/low gain]. */
function synth(parts: [string, number, number?, number?][], noise = 0): Int16Array {
  const total = parts.reduce((a, p) => a + p[1] * 8, 0);
  const out = new Int16Array(total + 320);
  let pos = 0;
  let seed = 1;
  for (const [key, ms, amp = 6000, hiGain = 1] of parts) {
    const n = ms * 8;
    const f = FREQS[key];
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      let v = noise * (seed / 0x7fffffff - 0.5) * 2;
      // Phase runs on the global clock, as a real generator's oscillators do.
      const t = (pos + i) / 8000;
      if (f) v += amp * Math.sin(2 * Math.PI * f[0] * t) + amp * hiGain * Math.sin(2 * Math.PI * f[1] * t);
      out[pos + i] = Math.round(v);
    }
    pos += n;
  }
  return out;
}

function detect(pcm: Int16Array, det = new InbandDtmfDetector()): string {
  let keys = "";
  for (let off = 0; off + 160 <= pcm.length; off += 160) {
    const ev = det.process(pcm, off, 160);
    if (ev >= 0) keys += dtmfKey(ev);
  }
  return keys;
}

describe("keys", () => {
  test("codes and keys map both ways", () => {
    expect(dtmfEvent("#")).toBe(11);
    expect(dtmfEvent("a")).toBe(12);
    expect(dtmfEvent("x")).toBe(-1);
    expect(dtmfKey(10)).toBe("*");
    expect(dtmfKey(16)).toBe("");
  });
});

describe("RFC 4733 sender -> receiver", () => {
  test("sender: marker first, growing duration, three end packets", () => {
    const tx = new DtmfSender();
    tx.start("7", 100, 12345);
    const buf = new Uint8Array(4);
    const seen: [boolean, boolean, number][] = [];
    while (tx.next(buf, 0) > 0)
      seen.push([tx.marker, ((buf[1] as number) & 0x80) !== 0, ((buf[2] as number) << 8) | (buf[3] as number)]);
    expect(buf[0]).toBe(7);
    expect(seen).toEqual([
      [true, false, 160],
      [false, false, 320],
      [false, false, 480],
      [false, false, 640],
      [false, true, 800],
      [false, true, 800],
      [false, true, 800],
    ]);
  });

  test("each key reported exactly once whatever the redundancy, through real RTP packets", () => {
    const rtp = new RtpSender({ payloadType: 0 });
    const tx = new DtmfSender();
    const rx = new DtmfReceiver();
    const h = createRtpHeader();
    const pkt = new Uint8Array(16);
    const packets: Uint8Array[] = [];
    for (const key of "890671#") {
      tx.start(key, 120, rtp.timestamp);
      while (tx.next(pkt, 12) > 0) {
        rtp.writeEventHeader(pkt, 0, 101, tx.eventTimestamp, tx.marker);
        packets.push(pkt.slice());
        rtp.skip();
      }
      for (let i = 0; i < 3; i++) rtp.skip(); // a gap between keys
    }
    // Every packet is duplicated and some neighbours swapped, as a bad network would.
    const wire: Uint8Array[] = [];
    packets.forEach((p, i) => {
      wire.push(p, p);
      if (i % 5 === 4) {
        const a = wire[wire.length - 3] as Uint8Array;
        wire[wire.length - 3] = wire[wire.length - 1] as Uint8Array;
        wire[wire.length - 1] = a;
      }
    });
    let keys = "";
    for (const p of wire) {
      expect(parseRtp(p, 0, p.length, h)).toBe(true);
      const ev = rx.receive(p, h.payloadOffset, h.payloadLength, h.timestamp);
      if (ev >= 0) keys += dtmfKey(ev);
    }
    expect(keys).toBe("890671#");
    expect(rx.lastEndDuration).toBe(960);
  });

  test("the same key pressed twice is two presses; a lost start still reports the key from its end packets", () => {
    const rx = new DtmfReceiver();
    const p = (ev: number, end: boolean, dur: number) => Uint8Array.from([ev, end ? 0x8a : 0x0a, dur >> 8, dur & 0xff]);
    expect(rx.receive(p(5, false, 160), 0, 4, 1000)).toBe(5);
    expect(rx.receive(p(5, true, 800), 0, 4, 1000)).toBe(-1);
    expect(rx.receive(p(5, true, 800), 0, 4, 1000)).toBe(-1);
    expect(rx.receive(p(5, false, 160), 0, 4, 3000)).toBe(5);
    expect(rx.receive(p(9, true, 800), 0, 4, 6000)).toBe(9);
    expect(rx.receive(p(9, true, 800), 0, 4, 6000)).toBe(-1);
  });

  test("a long event split in segments counts once", () => {
    const rx = new DtmfReceiver();
    const p = (dur: number, end: boolean) => Uint8Array.from([1, end ? 0x8a : 0x0a, dur >> 8, dur & 0xff]);
    expect(rx.receive(p(0xffff, false), 0, 4, 0)).toBe(1);
    expect(rx.receive(p(800, false), 0, 4, 0xffff)).toBe(-1);
    expect(rx.receive(p(1600, true), 0, 4, 0xffff)).toBe(-1);
  });

  test("short or malformed payloads are ignored", () => {
    const rx = new DtmfReceiver();
    expect(rx.receive(new Uint8Array(3), 0, 3, 0)).toBe(-1);
    expect(rx.receive(Uint8Array.from([16, 0, 0, 160]), 0, 4, 0)).toBe(-1);
    expect(rx.receive(new Uint8Array(4), 2, 4, 160)).toBe(-1);
  });
});

describe("in-band detector", () => {
  test("a dialled sequence is reported once per key", () => {
    const parts: [string, number][] = [];
    for (const k of "0123456789*#ABCD") parts.push([k, 60], ["", 60]);
    expect(detect(synth(parts, 300))).toBe("0123456789*#ABCD");
  });
  test("minimum-length tones (40 ms on, 40 ms off) are all caught", () => {
    const parts: [string, number][] = [];
    for (const k of "159#") parts.push([k, 40], ["", 40]);
    expect(detect(synth(parts))).toBe("159#");
  });
  test("a long press is one key; the same key again after a gap is another", () => {
    expect(
      detect(
        synth([
          ["5", 600],
          ["", 60],
          ["5", 80],
          ["", 50],
        ]),
      ),
    ).toBe("55");
  });
  test("a 10 ms dropout inside a press does not double the key", () => {
    expect(
      detect(
        synth([
          ["2", 100],
          ["", 10],
          ["2", 100],
          ["", 50],
        ]),
      ),
    ).toBe("2");
  });
  test("survives G.711 µ-law", () => {
    const pcm = synth(
      [
        ["9", 70],
        ["", 60],
        ["#", 70],
        ["", 60],
      ],
      200,
    );
    const u = new Uint8Array(pcm.length);
    encodeUlaw(pcm, 0, u, 0, pcm.length);
    const back = new Int16Array(pcm.length);
    decodeUlaw(u, 0, back, 0, pcm.length);
    expect(detect(back)).toBe("9#");
  });
  test("quiet tones at -30 dBm0 (about 500 peak each) still detected", () => {
    expect(
      detect(
        synth([
          ["4", 80, 500],
          ["", 60],
        ]),
      ),
    ).toBe("4");
  });
  const rejects: [string, Int16Array][] = [
    [
      "a 20 ms blip",
      synth([
        ["6", 20],
        ["", 100],
      ]),
    ],
    [
      "too quiet",
      synth([
        ["6", 100, 150],
        ["", 60],
      ]),
    ],
    [
      "12 dB twist",
      synth([
        ["6", 100, 6000, 0.25],
        ["", 60],
      ]),
    ],
    [
      "loud noise with a weak tone",
      synth(
        [
          ["6", 100, 1500],
          ["", 60],
        ],
        12000,
      ),
    ],
  ];
  test.each(rejects)("rejects %s", (_name, pcm) => {
    expect(detect(pcm)).toBe("");
  });
  test("rejects speech-like and music-like signals", () => {
    const n = 8000;
    const chord = new Int16Array(n);
    const single = new Int16Array(n);
    const harmonic = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const t = i / 8000;
      chord[i] = Math.round(
        4000 * (Math.sin(2 * Math.PI * 440 * t) + Math.sin(2 * Math.PI * 554 * t) + Math.sin(2 * Math.PI * 659 * t)),
      );
      single[i] = Math.round(10000 * Math.sin(2 * Math.PI * 1000 * t));
      // A voiced sound: 140 Hz fundamental with many harmonics.
      let v = 0;
      for (let h = 1; h < 25; h++) v += (3000 / h) * Math.sin(2 * Math.PI * 140 * h * t);
      harmonic[i] = Math.round(v);
    }
    expect(detect(chord)).toBe("");
    expect(detect(single)).toBe("");
    expect(detect(harmonic)).toBe("");
  });
});
