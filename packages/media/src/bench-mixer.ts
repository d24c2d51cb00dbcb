/**
 * Micro-benchmark of the media hot path: `bun run packages/media/src/bench-mixer.ts`.
 *
 * Builds one meeting of 1,000 attendees (90% PCMU, 10% PCMA; talkers are hosts and
 * participants sending a tone, the others participants sending silence or listeners),
 * feeds one RTP payload per attendee per tick into each attendee's jitter buffer (as
 * the receive path would), runs `ConferenceMixer.tick()`, and then writes the RTP
 * header + payload of every outgoing packet (as the send path would, minus the
 * syscall). Prints microseconds per 20 ms tick for each stage, and the heap before and
 * after 10,000 ticks with a forced GC (allocation check). Also compares the two G.711
 * encoders (64 KiB table vs segment search).
 *
 * Options: --attendees N (1000), --ticks N (3000), --talkers a,b (10,100).
 */
import { heapStats } from "bun:jsc";
import { ConferenceMixer } from "./conference-mixer.ts";
import { ALAW_ENCODE, ULAW_ENCODE, encodeUlaw, linearToUlaw } from "./g711.ts";
import { G722Encoder } from "./g722.ts";
import { JitterBuffer } from "./jitter-buffer.ts";
import { RtpSender } from "./rtp.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const ATTENDEES = Number(arg("attendees", "1000"));
const TICKS = Number(arg("ticks", "3000"));
const TALKER_SETS = arg("talkers", "10,100").split(",").map(Number);

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

function summary(label: string, samples: Float64Array): string {
  const s = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of s) sum += v;
  return `${label.padEnd(22)} mean ${(sum / s.length).toFixed(1).padStart(7)} us  p50 ${pct(s, 0.5).toFixed(1).padStart(7)}  p99 ${pct(s, 0.99).toFixed(1).padStart(7)}  max ${(s[s.length - 1] as number).toFixed(1).padStart(7)}`;
}

function benchG711(): void {
  const pcm = new Int16Array(160);
  for (let i = 0; i < 160; i++) pcm[i] = Math.round(12000 * Math.sin(i / 3));
  const out = new Uint8Array(160);
  const frames = 200_000;
  for (let r = 0; r < 2; r++) {
    let t0 = Bun.nanoseconds();
    for (let f = 0; f < frames; f++) encodeUlaw(pcm, 0, out, 0, 160);
    const table = (Bun.nanoseconds() - t0) / frames;
    t0 = Bun.nanoseconds();
    for (let f = 0; f < frames; f++) for (let i = 0; i < 160; i++) out[i] = linearToUlaw(pcm[i] as number);
    const segment = (Bun.nanoseconds() - t0) / frames;
    if (r === 1)
      console.log(`G.711 encode, 160 samples: table ${table.toFixed(0)} ns/frame, segment search ${segment.toFixed(0)} ns/frame`);
  }
}

interface Setup {
  mixer: ConferenceMixer;
  jbs: JitterBuffer[];
  senders: RtpSender[];
  talker: Uint8Array;
  codecs: Uint8Array;
  packets: Uint8Array;
}

function setup(talkers: number, g722 = false): Setup {
  const mixer = new ConferenceMixer({ initialCapacity: 1024, maxCapacity: 4096 });
  const jbs: JitterBuffer[] = [];
  const senders: RtpSender[] = [];
  const talker = new Uint8Array(ATTENDEES);
  const codecs = new Uint8Array(ATTENDEES);
  for (let i = 0; i < ATTENDEES; i++) {
    const jb = new JitterBuffer({ maxPayload: 160 });
    const codec = g722 ? 2 : i % 10 === 9 ? 1 : 0;
    const isTalker = i < talkers;
    const role = i === 0 ? "host" : isTalker || i % 2 === 0 ? "participant" : "listener";
    const slot = mixer.addSlot({ codec, role, input: jb });
    if (slot !== i) throw new Error("unexpected slot numbering");
    jbs.push(jb);
    senders.push(new RtpSender({ payloadType: [0, 8, 9][codec] as number }));
    talker[i] = isTalker ? 1 : 0;
    codecs[i] = codec;
  }
  return { mixer, jbs, senders, talker, codecs, packets: new Uint8Array(ATTENDEES * 172) };
}

/**
 * 50 frames (1 s) of a distinct tone per talker, per codec (bytes 0-159 PCMU,
 * 160-319 PCMA, 320-479 G.722), and a silence frame per codec.
 */
function payloads(talkers: number): { tone: Uint8Array[][]; silence: Uint8Array[] } {
  const tone: Uint8Array[][] = [];
  for (let t = 0; t < talkers; t++) {
    const frames: Uint8Array[] = [];
    const enc = new G722Encoder();
    const pcm16 = new Int16Array(320);
    for (let f = 0; f < 50; f++) {
      const bytes = new Uint8Array(480);
      for (let i = 0; i < 160; i++) {
        const v = Math.round(6000 * Math.sin((2 * Math.PI * (300 + 37 * t) * (f * 160 + i)) / 8000));
        bytes[i] = ULAW_ENCODE[v + 32768] as number;
        bytes[160 + i] = ALAW_ENCODE[v + 32768] as number;
      }
      for (let i = 0; i < 320; i++)
        pcm16[i] = Math.round(6000 * Math.sin((2 * Math.PI * (300 + 37 * t) * (f * 320 + i)) / 16000));
      enc.encode(pcm16, 0, 320, bytes, 320);
      frames.push(bytes);
    }
    tone.push(frames);
  }
  const g722Silence = new Uint8Array(160);
  const enc = new G722Encoder();
  for (let i = 0; i < 5; i++) enc.encode(new Int16Array(320), 0, 320, g722Silence, 0);
  return { tone, silence: [new Uint8Array(160).fill(0xff), new Uint8Array(160).fill(0xd5), g722Silence] };
}

function run(s: Setup, talkers: number, ticks: number, record: boolean) {
  const { tone, silence } = payloads(talkers);
  const feed = new Float64Array(ticks);
  const mix = new Float64Array(ticks);
  const send = new Float64Array(ticks);
  const { mixer, jbs, senders, talker, codecs, packets } = s;
  for (let k = 0; k < ticks; k++) {
    const now = k * 20;
    let t0 = Bun.nanoseconds();
    for (let i = 0; i < ATTENDEES; i++) {
      const c = codecs[i] as number;
      if (talker[i] === 1) {
        const frame = (tone[i] as Uint8Array[])[k % 50] as Uint8Array;
        (jbs[i] as JitterBuffer).put(k & 0xffff, k * 160, i, frame, c * 160, 160, now);
      } else {
        (jbs[i] as JitterBuffer).put(k & 0xffff, k * 160, i, silence[c] as Uint8Array, 0, 160, now);
      }
    }
    let t1 = Bun.nanoseconds();
    feed[k] = (t1 - t0) / 1000;
    t0 = t1;
    mixer.tick();
    t1 = Bun.nanoseconds();
    mix[k] = (t1 - t0) / 1000;
    t0 = t1;
    const arena = mixer.arena;
    for (let a = 0; a < mixer.activeCount; a++) {
      const slot = mixer.activeList[a] as number;
      const len = mixer.outLength[slot] as number;
      const sender = senders[slot] as RtpSender;
      if (len === 0) {
        sender.skip();
        continue;
      }
      const base = slot * 172;
      sender.writeHeader(packets, base);
      const off = mixer.outOffset[slot] as number;
      for (let i = 0; i < len; i++) packets[base + 12 + i] = arena[off + i] as number;
    }
    send[k] = (Bun.nanoseconds() - t0) / 1000;
  }
  if (record) {
    console.log(summary("  receive (jb.put x N)", feed));
    console.log(summary("  mixer.tick()", mix));
    console.log(summary("  packetize (hdr+copy)", send));
    const total = new Float64Array(ticks);
    for (let k = 0; k < ticks; k++) total[k] = (feed[k] as number) + (mix[k] as number) + (send[k] as number);
    console.log(summary("  all three", total));
    let sum = 0;
    for (const v of mix) sum += v;
    console.log(
      `  mixer.tick() = ${((sum / ticks / 20000) * 100).toFixed(2)}% of one core at 50 ticks/s; talkers mixed: ${mixer.talkerCount}`,
    );
  }
}

console.log(`bun ${Bun.version}, ${ATTENDEES} attendees, ${TICKS} ticks per run (after 500 warm-up ticks)`);
benchG711();
for (const talkers of TALKER_SETS) {
  console.log(`\n${talkers} talkers (at most 8 mixed), G.711:`);
  const s = setup(talkers);
  run(s, talkers, 500, false);
  run(s, talkers, TICKS, true);
}
{
  console.log(`\n10 talkers, everyone on G.722 (silent callers tracked, not decoded):`);
  const s = setup(10, true);
  run(s, 10, 500, false);
  run(s, 10, Math.min(TICKS, 1000), true);
}

{
  const s = setup(10);
  run(s, 10, 500, false);
  Bun.gc(true);
  const before = heapStats();
  const rss0 = process.memoryUsage().rss;
  run(s, 10, 10_000, false);
  Bun.gc(true);
  const after = heapStats();
  const rss1 = process.memoryUsage().rss;
  console.log(
    `\nallocation check, 10,000 ticks x ${ATTENDEES} attendees: heap ${(before.heapSize / 1e6).toFixed(2)} MB -> ${(after.heapSize / 1e6).toFixed(2)} MB, objects ${before.objectCount} -> ${after.objectCount} (${after.objectCount - before.objectCount >= 0 ? "+" : ""}${after.objectCount - before.objectCount}), rss ${(rss0 / 1e6).toFixed(1)} -> ${(rss1 / 1e6).toFixed(1)} MB`,
  );
}
