/**
 * What an Opus leg costs the mixer per 20 ms frame next to a G.711 one:
 * `bun run packages/media/src/bench-opus.ts`.
 *
 * 1. The codec alone: libopus encode (16 kHz mono, 24 kbit/s, by complexity), decode and
 *    loss concealment of one frame, against G.711's table lookups.
 * 2. In a meeting: three talkers, then 50 more legs of one kind (PCMU or Opus, as silent
 *    unmuted participants or as listeners, or the three talkers themselves on Opus); the
 *    tick's extra time divided by the legs added is one leg's cost per frame.
 *
 * Each figure is the best of three runs. Options: --ticks N (2000).
 */
import { CODEC_OPUS, CODEC_PCMU } from "./codec.ts";
import { ConferenceMixer } from "./conference-mixer.ts";
import type { Role } from "./mixer-types.ts";
import { encodeUlaw, decodeUlaw } from "./g711.ts";
import { JitterBuffer } from "./jitter-buffer.ts";
import { OpusDecoder, OpusEncoder } from "./opus.ts";
import { OPUS_MIX_ENCODER } from "./opus-mix.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const TICKS = Number(arg("ticks", "2000"));

function tone(freq: number, amp: number): Int16Array {
  const pcm = new Int16Array(320 * 50);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * i) / 16000));
  return pcm;
}

/** Mean microseconds of `fn` over `n` calls, after a warm-up; the best of three runs (the machine is shared). */
function time(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < n / 4; i++) fn(i);
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < n; i++) fn(i);
    best = Math.min(best, (Bun.nanoseconds() - t0) / n / 1000);
  }
  return best;
}

function codecAlone(): void {
  const speech = tone(330, 6000);
  for (let i = 0; i < speech.length; i++) speech[i] = (speech[i] as number) + ((i * 7919) % 601) - 300;
  const packet = new Uint8Array(320);
  const out = new Int16Array(320);
  for (const complexity of [0, 3, 5, 10]) {
    const enc = new OpusEncoder({ ...OPUS_MIX_ENCODER, complexity });
    const us = time(4000, (i) => enc.encode(speech, (i % 50) * 320, packet, 0));
    let bytes = 0;
    for (let f = 0; f < 50; f++) bytes += enc.encode(speech, f * 320, packet, 0);
    console.log(
      `Opus encode 20 ms, complexity ${String(complexity).padStart(2)}: ${us.toFixed(1)} us/frame (~${Math.round(bytes / 50)} B)`,
    );
    enc.destroy();
  }
  const enc = new OpusEncoder(OPUS_MIX_ENCODER);
  const n = enc.encode(speech, 0, packet, 0);
  const dec = new OpusDecoder();
  console.log(`Opus decode 20 ms: ${time(4000, () => dec.decode(packet, 0, n, out, 0)).toFixed(1)} us/frame`);
  console.log(`Opus concealment 20 ms: ${time(4000, () => dec.conceal(out, 0)).toFixed(1)} us/frame`);
  enc.destroy();
  dec.destroy();
  const ulaw = new Uint8Array(160);
  const pcm8 = speech.subarray(0, 160);
  const g711 = time(100_000, () => {
    encodeUlaw(pcm8, 0, ulaw, 0, 160);
    decodeUlaw(ulaw, 0, out, 0, 160);
  });
  console.log(`G.711 encode + decode 20 ms: ${g711.toFixed(2)} us/frame`);
}

interface Leg {
  codec: number;
  role: Role;
  talking: boolean;
}

/** Mean tick time (us) of a meeting of these legs, every leg sending a packet every tick. */
function meeting(legs: Leg[]): number {
  const mixer = new ConferenceMixer({ initialCapacity: 128 });
  const speech = tone(500, 6000);
  const enc = new OpusEncoder(OPUS_MIX_ENCODER);
  const quiet = new Int16Array(320);
  for (let i = 0; i < 320; i++) quiet[i] = ((i * 7919) % 41) - 20;
  // Payloads made up front: 50 frames of speech and one of near silence per codec.
  const opusSpeech: Uint8Array[] = [];
  for (let f = 0; f < 50; f++) {
    const p = new Uint8Array(320);
    opusSpeech.push(p.subarray(0, enc.encode(speech, f * 320, p, 0)));
  }
  const qp = new Uint8Array(320);
  const opusQuiet = qp.subarray(0, enc.encode(quiet, 0, qp, 0));
  enc.destroy();
  const ulawSpeech = new Uint8Array(160);
  const down = new Int16Array(160);
  for (let i = 0; i < 160; i++) down[i] = speech[i * 2] as number;
  encodeUlaw(down, 0, ulawSpeech, 0, 160);
  const ulawQuiet = new Uint8Array(160).fill(0xff);
  const jbs = legs.map((leg) => {
    const jb = new JitterBuffer({ clockRate: leg.codec === CODEC_OPUS ? 48000 : 8000, maxPayload: 320 });
    mixer.addSlot({ codec: leg.codec, role: leg.role, input: jb });
    return jb;
  });
  const step = (t: number) => {
    for (let i = 0; i < legs.length; i++) {
      const leg = legs[i] as Leg;
      const p =
        leg.codec === CODEC_OPUS
          ? leg.talking
            ? (opusSpeech[t % 50] as Uint8Array)
            : opusQuiet
          : leg.talking
            ? ulawSpeech
            : ulawQuiet;
      (jbs[i] as JitterBuffer).put(t & 0xffff, t * 960, 1, p, 0, p.length, t * 20);
    }
    mixer.tick();
  };
  for (let t = 0; t < 200; t++) step(t);
  // Best of three runs of TICKS ticks (the machine is shared).
  let us = Number.POSITIVE_INFINITY;
  for (let r = 0, t = 200; r < 3; r++) {
    const t0 = Bun.nanoseconds();
    for (let end = t + TICKS; t < end; t++) step(t);
    us = Math.min(us, (Bun.nanoseconds() - t0) / TICKS / 1000);
  }
  mixer.close();
  return us;
}

function inMeeting(): void {
  const talkers = (codec: number): Leg[] => [0, 1, 2].map(() => ({ codec, role: "participant", talking: true }));
  const more = (codec: number, role: Role): Leg[] => Array.from({ length: 50 }, () => ({ codec, role, talking: false }));
  const base = meeting(talkers(CODEC_PCMU));
  console.log(`3 PCMU talkers: ${base.toFixed(1)} us/tick`);
  const rows: [string, Leg[], number][] = [
    ["the 3 talkers on Opus", talkers(CODEC_OPUS), 3],
    ["+50 PCMU silent participants", [...talkers(CODEC_PCMU), ...more(CODEC_PCMU, "participant")], 50],
    ["+50 Opus silent participants", [...talkers(CODEC_PCMU), ...more(CODEC_OPUS, "participant")], 50],
    ["+50 PCMU listeners", [...talkers(CODEC_PCMU), ...more(CODEC_PCMU, "listener")], 50],
    ["+50 Opus listeners", [...talkers(CODEC_PCMU), ...more(CODEC_OPUS, "listener")], 50],
  ];
  for (const [label, legs, added] of rows) {
    const us = meeting(legs);
    console.log(
      `${label.padEnd(30)} ${us.toFixed(1).padStart(7)} us/tick, ${((us - base) / added).toFixed(2).padStart(6)} us per leg per frame`,
    );
  }
}

codecAlone();
inMeeting();
