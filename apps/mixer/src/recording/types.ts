/**
 * What a running recording looks like to the meeting that feeds it, whichever the
 * `recording_method`.
 */
import type { CodecName } from "@conf/media";

/** The two `recording_method` values. */
export const RECORDING_KINDS = ["local", "remote"] as const;
/** A recording method. */
export type RecordingKind = (typeof RECORDING_KINDS)[number];

/** Whether a recording got going: the file is open / the recorder answered. */
export type RecordingReady = { ok: true } | { ok: false; error: string };

/** How a `local` recording ended. */
export type LocalRecordingResult =
  | {
      kind: "local";
      ok: true;
      /** The WAV file. */
      path: string;
      /** The JSON sidecar beside it. */
      metadataPath: string;
      /** Audio written, in seconds. */
      durationSeconds: number;
    }
  | {
      kind: "local";
      ok: false;
      error: string;
      /** The (possibly partial) WAV file, or null when it could not be created. */
      path: string | null;
      metadataPath: string | null;
      durationSeconds: number;
    };

/** How a `remote` recording ended. */
export type RemoteRecordingResult =
  | {
      kind: "remote";
      ok: true;
      /** The Request-URI we called. */
      target: string;
      callId: string;
      /** Codec the recorder chose. */
      codec: CodecName;
      /** Audio sent, in seconds (packets x 20 ms). */
      durationSeconds: number;
      packetsSent: number;
      /** Who ended the call: we (stop) or the recorder (its BYE). */
      endedBy: "stop" | "remote";
    }
  | {
      kind: "remote";
      ok: false;
      error: string;
      /** The Request-URI, or null when `recording_addr` was not a usable address. */
      target: string | null;
      durationSeconds: 0;
      packetsSent: 0;
    };

/** How a recording ended. */
export type RecordingResult = LocalRecordingResult | RemoteRecordingResult;

/**
 * A running recording of a meeting's mix. Feed it from the mixer's `recordTap`.
 * @example
 * const rec = startLocalRecording({ ... });
 * mixer.recordTap = (mix) => rec.write(mix);
 * // later
 * mixer.recordTap = null;
 * const result = await rec.stop();
 */
export interface Recorder {
  readonly kind: RecordingKind;
  /** Settles once the recording runs (file open, call answered) or has failed to start. Never rejects. */
  readonly ready: Promise<RecordingReady>;
  /**
   * Settles when the recording has ended for any reason (stop(), the recorder hung up,
   * a failure) and its file/call is closed. Never rejects.
   */
  readonly done: Promise<RecordingResult>;
  /**
   * One 20 ms tick of the meeting's 16 kHz mix (320 samples). Copies what it needs
   * (the caller reuses the buffer), allocates nothing in the steady state and never
   * blocks or throws. Ignored after stop() or once the recording has ended.
   */
  write(mix16k: Int16Array): void;
  /** Ends the recording; idempotent (every call returns `done`). Never rejects. */
  stop(): Promise<RecordingResult>;
}

/** A recorder of `recording_method` `local`. */
export interface LocalRecorder extends Recorder {
  readonly kind: "local";
  readonly done: Promise<LocalRecordingResult>;
  stop(): Promise<LocalRecordingResult>;
}

/** A recorder of `recording_method` `remote`. */
export interface RemoteRecorder extends Recorder {
  readonly kind: "remote";
  readonly done: Promise<RemoteRecordingResult>;
  stop(): Promise<RemoteRecordingResult>;
}
