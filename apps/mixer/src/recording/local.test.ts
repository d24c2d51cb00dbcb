import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WaveFile } from "wavefile";
import { goertzelAmplitude } from "@conf/media";
import { fileTimestamp, type RecordingSidecar, startLocalRecording } from "./index.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "conf-rec-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const RATE = 16000;
const FRAME = 320;

/** Feeds `seconds` of a `freq` Hz sine through ONE reused frame buffer, as the mixer does. */
function feedSine(write: (f: Int16Array) => void, seconds: number, freq: number, amp = 8000): void {
  const frame = new Int16Array(FRAME);
  const frames = Math.round((seconds * RATE) / FRAME);
  let n = 0;
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < FRAME; i++, n++) frame[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * n) / RATE));
    write(frame);
  }
}

function readWav(bytes: Uint8Array): { rate: number; channels: number; bits: string; samples: Int16Array } {
  const wav = new WaveFile(bytes);
  const fmt = wav.fmt as { sampleRate: number; numChannels: number };
  const samples = wav.getSamples(false, Int16Array) as unknown as Int16Array;
  return { rate: fmt.sampleRate, channels: fmt.numChannels, bits: wav.bitDepth, samples };
}

const base = {
  meetingSid: "CFa1b2c3d4e5f60718293a4b5c6d7e8f90",
  accountSid: "AC0123456789abcdef0123456789abcdef",
  meetingRoomSid: "RM0123456789abcdef0123456789abcdef",
  metadata: "board call \u00e9t\u00e9",
};

describe("local recording", () => {
  test("5 s of a 1 kHz tone in 20 ms frames: WAV length, rate, tone; JSON sidecar", async () => {
    const startedAt = new Date("2024-05-01T12:34:56.789Z");
    const rec = startLocalRecording({ ...base, dir: join(dir, "nested", "recs"), startedAt });
    expect(rec.kind).toBe("local");
    feedSine((f) => rec.write(f), 5, 1000);
    expect(await rec.ready).toEqual({ ok: true });
    const r = await rec.stop();
    if (!r.ok) throw new Error(r.error);
    expect(r.path).toBe(join(dir, "nested", "recs", `${base.meetingSid}-20240501T123456Z.wav`));
    expect(r.metadataPath).toBe(r.path.replace(/\.wav$/, ".json"));
    expect(r.durationSeconds).toBe(5);

    const wav = readWav(new Uint8Array(await readFile(r.path)));
    expect(wav.rate).toBe(16000);
    expect(wav.channels).toBe(1);
    expect(wav.bits).toBe("16");
    expect(wav.samples.length).toBe(5 * RATE);
    // The tone is there, with its amplitude, in every 100 ms window; 1.5 kHz is not.
    for (let off = 0; off + 1600 <= wav.samples.length; off += 1600) {
      expect(goertzelAmplitude(wav.samples, off, 1600, 1000, RATE)).toBeGreaterThan(7500);
      expect(goertzelAmplitude(wav.samples, off, 1600, 1500, RATE)).toBeLessThan(100);
    }
    // Samples are exactly the ones fed (the recording is lossless).
    expect(wav.samples[4]).toBe(Math.round(8000 * Math.sin((2 * Math.PI * 1000 * 4) / RATE)));
    expect(wav.samples[79_999]).toBe(Math.round(8000 * Math.sin((2 * Math.PI * 1000 * 79_999) / RATE)));

    const side = JSON.parse(await readFile(r.metadataPath, "utf8")) as RecordingSidecar;
    expect(side).toMatchObject({
      meeting_sid: base.meetingSid,
      account_sid: base.accountSid,
      meeting_room_sid: base.meetingRoomSid,
      started_at: "2024-05-01T12:34:56.789Z",
      duration_s: 5,
      sample_rate: 16000,
      channels: 1,
      file: `${base.meetingSid}-20240501T123456Z.wav`,
      metadata: base.metadata,
      dropped_s: 0,
    });
    expect(Date.parse(side.stopped_at ?? "")).toBeGreaterThan(Date.now() - 10_000);
    expect(side.error).toBeUndefined();
    // No temporary file left behind.
    expect((await readdir(join(dir, "nested", "recs"))).sort()).toEqual([
      `${base.meetingSid}-20240501T123456Z.json`,
      `${base.meetingSid}-20240501T123456Z.wav`,
    ]);
  });

  test("stop twice returns the same result; writes after stop are ignored", async () => {
    const rec = startLocalRecording({ ...base, dir, startedAt: new Date() });
    feedSine((f) => rec.write(f), 0.5, 440);
    const a = rec.stop();
    const b = rec.stop();
    feedSine((f) => rec.write(f), 0.5, 440);
    expect(b).toBe(a);
    const r = await a;
    expect(await rec.stop()).toBe(r);
    expect(await rec.done).toBe(r);
    if (!r.ok) throw new Error(r.error);
    expect(r.durationSeconds).toBe(0.5);
    expect(readWav(new Uint8Array(await readFile(r.path))).samples.length).toBe(8000);
  });

  test("stop with nothing written: a valid empty WAV and a sidecar with duration 0", async () => {
    const rec = startLocalRecording({ ...base, meetingRoomSid: null, dir, startedAt: new Date() });
    const r = await rec.stop();
    if (!r.ok) throw new Error(r.error);
    expect(r.durationSeconds).toBe(0);
    const bytes = new Uint8Array(await readFile(r.path));
    expect(bytes.length).toBe(44);
    const wav = readWav(bytes);
    expect(wav.rate).toBe(16000);
    expect(wav.samples.length).toBe(0);
    const side = JSON.parse(await readFile(r.metadataPath, "utf8")) as RecordingSidecar;
    expect(side.duration_s).toBe(0);
    expect(side.meeting_room_sid).toBeNull();
  });

  test("stop during pending flushes keeps every sample in order", async () => {
    // Small chunks so many writes are in flight when stop() comes, and a partial last chunk.
    const rec = startLocalRecording({ ...base, dir, startedAt: new Date(), chunkSeconds: 0.02 });
    const frame = new Int16Array(FRAME);
    let n = 0;
    for (let f = 0; f < 151; f++) {
      for (let i = 0; i < FRAME; i++, n++) frame[i] = n % 30000;
      rec.write(frame);
    }
    const r = await rec.stop();
    if (!r.ok) throw new Error(r.error);
    const { samples } = readWav(new Uint8Array(await readFile(r.path)));
    expect(samples.length).toBe(151 * FRAME);
    let wrong = 0;
    for (let i = 0; i < samples.length; i++) if (samples[i] !== i % 30000) wrong++;
    expect(wrong).toBe(0);
  });

  test("while running the sidecar already exists (stopped_at null); a second recording of the same second gets its own name", async () => {
    const startedAt = new Date("2024-05-01T00:00:00Z");
    const a = startLocalRecording({ ...base, dir, startedAt });
    expect(await a.ready).toEqual({ ok: true });
    const b = startLocalRecording({ ...base, dir, startedAt });
    expect(await b.ready).toEqual({ ok: true });
    const stamp = fileTimestamp(startedAt);
    const running = JSON.parse(await readFile(join(dir, `${base.meetingSid}-${stamp}.json`), "utf8")) as RecordingSidecar;
    expect(running.stopped_at).toBeNull();
    expect(running.duration_s).toBeNull();
    const ra = await a.stop();
    const rb = await b.stop();
    if (!ra.ok || !rb.ok) throw new Error("stop failed");
    expect(ra.path).toEndWith(`${stamp}.wav`);
    expect(rb.path).toEndWith(`${stamp}-2.wav`);
    expect(rb.metadataPath).toEndWith(`${stamp}-2.json`);
  });

  test("a meeting sid with path characters cannot leave the directory", async () => {
    const rec = startLocalRecording({ ...base, meetingSid: "../../etc/x", dir, startedAt: new Date("2024-01-02T03:04:05Z") });
    const r = await rec.stop();
    if (!r.ok) throw new Error(r.error);
    expect(r.path).toBe(join(dir, "______etc_x-20240102T030405Z.wav"));
  });

  test("a directory that cannot be created settles ready and done with an error, nothing throws", async () => {
    // A file where the directory should be: fails even for root (chmod would not).
    await Bun.write(join(dir, "blocker"), "x");
    const rec = startLocalRecording({ ...base, dir: join(dir, "blocker", "sub"), startedAt: new Date() });
    feedSine((f) => rec.write(f), 0.2, 440);
    const ready = await rec.ready;
    expect(ready.ok).toBe(false);
    const r = await rec.stop();
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toContain("cannot create recording");
      expect(r.path).toBeNull();
    }
    expect(r.durationSeconds).toBe(0);
    rec.write(new Int16Array(FRAME));
    expect(await rec.stop()).toBe(r);
  });

  test("a write error mid-recording ends it by itself: done settles with the error, the sidecar says so", async () => {
    const rec = startLocalRecording({ ...base, dir, startedAt: new Date() });
    feedSine((f) => rec.write(f), 1, 440);
    expect(await rec.ready).toEqual({ ok: true });
    while ((await readFile(join(dir, (await readdir(dir)).find((f) => f.endsWith(".wav")) ?? ""))).length < 44 + 32000)
      await Bun.sleep(5);
    // Fault injection: the file descriptor goes away under the recorder, as on a failed disk.
    await (rec as unknown as { fh: { close(): Promise<void> } }).fh.close();
    feedSine((f) => rec.write(f), 1, 440);
    const r = await rec.done;
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toStartWith("write failed");
    expect(r.durationSeconds).toBe(1);
    expect(await rec.stop()).toBe(r);
    const side = JSON.parse(await readFile(r.metadataPath ?? "", "utf8")) as RecordingSidecar;
    expect(side.error).toStartWith("write failed");
    expect(side.duration_s).toBe(1);
  });

  test("when the disk falls behind by more than maxBufferedSeconds, frames are dropped and counted", async () => {
    const rec = startLocalRecording({ ...base, dir, startedAt: new Date(), chunkSeconds: 0.5, maxBufferedSeconds: 1 });
    // Written synchronously before the file is even open: only 1 s can wait.
    feedSine((f) => rec.write(f), 3, 440);
    const r = await rec.stop();
    if (!r.ok) throw new Error(r.error);
    expect(r.durationSeconds).toBe(1);
    const side = JSON.parse(await readFile(r.metadataPath, "utf8")) as RecordingSidecar;
    expect(side.dropped_s).toBe(2);
    expect(side.duration_s).toBe(1);
  });

  test("write allocates nothing per call in the steady state", async () => {
    const rec = startLocalRecording({ ...base, dir, startedAt: new Date() });
    await rec.ready;
    const frame = new Int16Array(FRAME).fill(1000);
    // Warm up: the chunk ring fills up to its steady size.
    for (let i = 0; i < 200; i++) rec.write(frame);
    await Bun.sleep(50);
    Bun.gc(true);
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 40; i++) rec.write(frame); // within one chunk: no flush, no promise
    const after = process.memoryUsage().heapUsed;
    expect(after - before).toBeLessThan(4096);
    await rec.stop();
  });
});
