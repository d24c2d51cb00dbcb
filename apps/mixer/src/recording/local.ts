/**
 * `recording_method` `local`: the meeting's 16 kHz mix streamed to a mono 16-bit WAV
 * file on this node, with a JSON sidecar holding `recording_metadata`.
 *
 * The mixer calls `write` on its 20 ms tick, so `write` only copies the frame into a
 * preallocated chunk (1 s by default); full chunks are written by one asynchronous
 * writer with positional writes, and the header's sizes are fixed at stop. Chunks are
 * recycled through a free list, so the steady state allocates nothing; if the disk
 * falls behind by more than `maxBufferedSeconds`, frames are dropped (and counted)
 * rather than letting memory grow.
 */
import { mkdir, open, rename, writeFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import type { LocalRecorder, LocalRecordingResult, RecordingReady } from "./types.ts";
import { WAV_HEADER_SIZE, WAV_MAX_DATA_BYTES, wavHeader } from "./wav.ts";

/** Sample rates a local recording can be written at (the mixer's rate). */
export const LOCAL_SAMPLE_RATES = [16000] as const;
/** A local recording's sample rate. */
export type LocalSampleRate = (typeof LOCAL_SAMPLE_RATES)[number];

/** Options of {@link startLocalRecording}. */
export interface LocalRecordingOptions {
  /** Directory of the recordings (created if missing). */
  dir: string;
  meetingSid: string;
  accountSid: string;
  /** The meeting room, or null for an ad-hoc meeting. */
  meetingRoomSid: string | null;
  /** When the recording started; names the file. */
  startedAt: Date;
  /** The effective `recording_metadata`, stored in the sidecar. */
  metadata: string;
  /** Rate of the frames given to `write` (default 16000, the mixer's rate). */
  sampleRate?: LocalSampleRate;
  /** Seconds of audio per disk write (default 1). */
  chunkSeconds?: number;
  /** Audio that may wait for the disk before frames are dropped (default 30 s). */
  maxBufferedSeconds?: number;
}

/** The JSON sidecar written beside each WAV file (snake_case, like the API). */
export interface RecordingSidecar {
  meeting_sid: string;
  account_sid: string;
  meeting_room_sid: string | null;
  started_at: string;
  /** Null while the recording runs (the sidecar is written at start and rewritten at stop). */
  stopped_at: string | null;
  /** Seconds of audio in the file; null while the recording runs. */
  duration_s: number | null;
  sample_rate: number;
  channels: 1;
  /** File name of the WAV file, in the same directory. */
  file: string;
  /** The meeting's `recording_metadata`. */
  metadata: string;
  /** Seconds of audio lost because the disk fell behind (normally 0). */
  dropped_s: number;
  /** Why the recording ended early, when it did. */
  error?: string;
}

interface Chunk {
  readonly pcm: Int16Array;
  readonly bytes: Uint8Array;
  samples: number;
}

// The file stores little-endian samples straight from the Int16Array's memory.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `2024-05-01T12:34:56.789Z` -> `20240501T123456Z`. */
export function fileTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replace(/[-:]/g, "");
}

/** A meeting sid as a safe file-name part (ours are alphanumeric; anything else is replaced). */
function safeName(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
  return cleaned.length > 0 ? cleaned : "meeting";
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Opens `<base>.wav` exclusively, or `<base>-2.wav`, ... when a recording of the same second exists. */
async function createUnique(dir: string, base: string): Promise<{ fh: FileHandle; path: string }> {
  for (let n = 1; ; n++) {
    const path = join(dir, n === 1 ? `${base}.wav` : `${base}-${n}.wav`);
    try {
      return { fh: await open(path, "wx"), path };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || n >= 1000) throw err;
    }
  }
}

/** Writes JSON through a temporary file, so a reader never sees half a sidecar. */
async function writeJson(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, path);
}

class LocalWavRecorder implements LocalRecorder {
  readonly kind = "local" as const;
  readonly ready: Promise<RecordingReady>;
  readonly done: Promise<LocalRecordingResult>;

  private state: "running" | "ending" | "ended" = "running";
  private readonly rate: number;
  private readonly chunkSamples: number;
  private readonly maxChunks: number;
  private allocated = 0;
  private current: Chunk | null;
  private readonly free: Chunk[] = [];
  private readonly pending: Chunk[] = [];
  private flushing: Promise<void> | null = null;
  private fh: FileHandle | null = null;
  private path: string | null = null;
  private metadataPath: string | null = null;
  private dataBytes = 0;
  private droppedSamples = 0;
  private error: string | null = null;
  private readonly opened: Promise<boolean>;
  private resolveDone: (r: LocalRecordingResult) => void = () => {};

  constructor(private readonly opts: LocalRecordingOptions) {
    this.rate = opts.sampleRate ?? 16000;
    const chunkSeconds = opts.chunkSeconds ?? 1;
    // Whole 20 ms frames per chunk, so a tick's frame never straddles two chunks.
    const frame = this.rate / 50;
    this.chunkSamples = Math.max(frame, Math.round((chunkSeconds * this.rate) / frame) * frame);
    this.maxChunks = Math.max(2, Math.ceil(((opts.maxBufferedSeconds ?? 30) * this.rate) / this.chunkSamples));
    this.current = this.newChunk();
    this.done = new Promise((r) => {
      this.resolveDone = r;
    });
    this.opened = this.openFile();
    this.ready = this.opened.then((ok) => (ok ? { ok: true } : { ok: false, error: this.error ?? "recording failed" }));
  }

  private newChunk(): Chunk {
    this.allocated++;
    const pcm = new Int16Array(this.chunkSamples);
    return { pcm, bytes: new Uint8Array(pcm.buffer), samples: 0 };
  }

  private async openFile(): Promise<boolean> {
    const o = this.opts;
    try {
      if (!LITTLE_ENDIAN) throw new Error("local recording needs a little-endian machine");
      if (!(LOCAL_SAMPLE_RATES as readonly number[]).includes(this.rate)) throw new Error(`unsupported sample rate ${this.rate}`);
      await mkdir(o.dir, { recursive: true });
      const { fh, path } = await createUnique(o.dir, `${safeName(o.meetingSid)}-${fileTimestamp(o.startedAt)}`);
      this.fh = fh;
      this.path = path;
      this.metadataPath = path.replace(/\.wav$/, ".json");
      await fh.write(wavHeader(new Uint8Array(WAV_HEADER_SIZE), this.rate, 0), 0, WAV_HEADER_SIZE, 0);
      // Written now too, so a node that dies mid-meeting still leaves the metadata.
      await writeJson(this.metadataPath, this.sidecar(null));
      return true;
    } catch (err) {
      this.error = `cannot create recording: ${message(err)}`;
      this.state = "ended";
      this.pending.length = 0;
      if (this.fh) await this.fh.close().catch(() => {});
      this.fh = null;
      this.resolveDone({
        kind: "local",
        ok: false,
        error: this.error,
        path: this.path,
        metadataPath: null,
        durationSeconds: 0,
      });
      return false;
    }
  }

  private sidecar(stoppedAt: Date | null): RecordingSidecar {
    const o = this.opts;
    const s: RecordingSidecar = {
      meeting_sid: o.meetingSid,
      account_sid: o.accountSid,
      meeting_room_sid: o.meetingRoomSid,
      started_at: o.startedAt.toISOString(),
      stopped_at: stoppedAt ? stoppedAt.toISOString() : null,
      duration_s: stoppedAt ? this.durationSeconds() : null,
      sample_rate: this.rate,
      channels: 1,
      file: this.path ? basename(this.path) : "",
      metadata: o.metadata,
      dropped_s: this.droppedSamples / this.rate,
    };
    if (this.error !== null) s.error = this.error;
    return s;
  }

  private durationSeconds(): number {
    return this.dataBytes / 2 / this.rate;
  }

  write(mix16k: Int16Array): void {
    if (this.state !== "running") return;
    const n = mix16k.length;
    let off = 0;
    while (off < n) {
      let c = this.current;
      if (c === null) {
        c = this.free.pop() ?? (this.allocated < this.maxChunks ? this.newChunk() : null);
        if (c === null) {
          // The disk is more than maxBufferedSeconds behind: lose audio, not memory.
          this.droppedSamples += n - off;
          return;
        }
        this.current = c;
      }
      const take = Math.min(this.chunkSamples - c.samples, n - off);
      if (off === 0 && take === n) c.pcm.set(mix16k, c.samples);
      else for (let i = 0; i < take; i++) c.pcm[c.samples + i] = mix16k[off + i] as number;
      c.samples += take;
      off += take;
      if (c.samples === this.chunkSamples) {
        this.pending.push(c);
        this.current = null;
        this.kick();
      }
    }
  }

  private kick(): void {
    if (this.flushing === null) {
      this.flushing = this.flushAll().finally(() => {
        this.flushing = null;
      });
    }
  }

  /** The one writer: appends pending chunks in order until none is left. */
  private async flushAll(): Promise<void> {
    if (!(await this.opened)) return;
    const fh = this.fh;
    while (fh !== null && this.pending.length > 0 && this.error === null) {
      const c = this.pending[0] as Chunk;
      const bytes = c.samples * 2;
      try {
        if (this.dataBytes + bytes > WAV_MAX_DATA_BYTES) throw new Error("WAV size limit reached");
        let done = 0;
        while (done < bytes) {
          const { bytesWritten } = await fh.write(c.bytes, done, bytes - done, WAV_HEADER_SIZE + this.dataBytes + done);
          if (bytesWritten <= 0) throw new Error("short write");
          done += bytesWritten;
        }
        this.dataBytes += bytes;
      } catch (err) {
        this.error = `write failed: ${message(err)}`;
        this.pending.length = 0;
        // End it now (header fixed for what is on disk) so the meeting learns through `done`.
        void this.finish();
        return;
      }
      this.pending.shift();
      c.samples = 0;
      this.free.push(c);
    }
  }

  stop(): Promise<LocalRecordingResult> {
    void this.finish();
    return this.done;
  }

  private async finish(): Promise<void> {
    if (this.state !== "running") return;
    this.state = "ending";
    const stoppedAt = new Date();
    const c = this.current;
    this.current = null;
    if (c !== null && c.samples > 0 && this.error === null) this.pending.push(c);
    if (!(await this.opened)) return; // openFile already settled `done`
    this.kick();
    while (this.flushing !== null) await this.flushing;
    const fh = this.fh as FileHandle;
    const path = this.path as string;
    const metadataPath = this.metadataPath as string;
    try {
      await fh.write(wavHeader(new Uint8Array(WAV_HEADER_SIZE), this.rate, this.dataBytes), 0, WAV_HEADER_SIZE, 0);
      await fh.close();
    } catch (err) {
      this.error ??= `finishing the file failed: ${message(err)}`;
      await fh.close().catch(() => {});
    }
    this.fh = null;
    try {
      await writeJson(metadataPath, this.sidecar(stoppedAt));
    } catch (err) {
      this.error ??= `writing the metadata failed: ${message(err)}`;
    }
    this.state = "ended";
    const durationSeconds = this.durationSeconds();
    this.resolveDone(
      this.error === null
        ? { kind: "local", ok: true, path, metadataPath, durationSeconds }
        : { kind: "local", ok: false, error: this.error, path, metadataPath, durationSeconds },
    );
  }
}

/**
 * Starts recording a meeting's mix to `<dir>/<meetingSid>-<YYYYMMDDTHHMMSSZ>.wav`
 * (mono, 16-bit, 16 kHz) with `<same name>.json` beside it. Returns at once; frames
 * written before the file is open are buffered. Failures (directory not writable,
 * disk full) never throw: they settle `ready`/`done` with `ok: false`.
 * @example
 * const rec = startLocalRecording({ dir: env.RECORDING_DIR, meetingSid, accountSid,
 *   meetingRoomSid, startedAt: new Date(), metadata: attrs.recording_metadata });
 * mixer.recordTap = (mix) => rec.write(mix);
 * const r = await rec.stop(); // { kind: "local", ok: true, path, metadataPath, durationSeconds }
 */
export function startLocalRecording(opts: LocalRecordingOptions): LocalRecorder {
  return new LocalWavRecorder(opts);
}
