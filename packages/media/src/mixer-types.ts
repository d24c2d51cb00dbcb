/**
 * The conference mixer's public vocabulary: roles, event kinds, the frame-source
 * contract and the options of a mixer and of a slot. Kept apart from the per-frame code
 * in `conference-mixer.ts`.
 */
import type { CodecName } from "./codec.ts";
import type { LoopSource } from "./tones.ts";

/** Roles of a caller, as in the seed's Call object. */
export const ROLES = ["host", "participant", "listener"] as const;
/** A caller's role. */
export type Role = (typeof ROLES)[number];
/** Role id of a host. */
export const ROLE_HOST = 0;
/** Role id of a participant. */
export const ROLE_PARTICIPANT = 1;
/** Role id of a listener. */
export const ROLE_LISTENER = 2;

/** Event kind: an in-band DTMF key (value: RFC 4733 event code). */
export const MIXER_EVENT_DIGIT = 1;
/** Event kind: the slot's prompt queue finished playing. */
export const MIXER_EVENT_PROMPT_DONE = 2;
/** Event kind: the meeting overlay (tones/announcements) finished (slot -1). */
export const MIXER_EVENT_OVERLAY_DONE = 3;

/**
 * What the mixer reads a caller's audio from, once per tick, without copying: a
 * `JitterBuffer` or anything with the same contract.
 */
export interface FrameSource {
  /** Takes this tick's frame: its length (bytes at `frameData[frameOffset..]`), 0 nothing, -1 lost. */
  readFrame(): number;
  /** Where the frame's bytes are. */
  readonly frameData: Uint8Array;
  /** Offset of the frame's bytes in `frameData`. */
  readonly frameOffset: number;
  /** Consecutive missing frames (for concealment). */
  readonly lossRun: number;
}

/** Settings of a new slot; all but `codec` have defaults. */
export interface SlotOptions {
  /** Codec id or name ("PCMU", "PCMA", "G722", "OPUS"). */
  codec: number | CodecName;
  /** Default "participant". */
  role?: Role;
  /** Default false. */
  muted?: boolean;
  /** On hold by the meeting: hears music, is not heard. Default false. */
  held?: boolean;
  /** Admitted to the meeting (false while in the IVR). Default true. */
  member?: boolean;
  /** Waiting for the meeting to start (hears music). Default false. */
  waiting?: boolean;
  /** Whether to produce audio for this caller at all (false for an SDP `recvonly`/`inactive` answer). Default true. */
  send?: boolean;
  /** Linear input gain (1 = unchanged). Default 1. */
  gain?: number;
  /** Music-on-hold source name. Default the mixer's `defaultMoh`. */
  moh?: string;
  /** Where the caller's audio comes from. Default none. */
  input?: FrameSource | null;
  /**
   * The input is 16 kHz 16-bit little-endian linear PCM, 640 bytes a frame (a cascade
   * trunk lane, trunk.ts), whatever `codec` says. Use with `send: false`. Default false.
   */
  linear?: boolean;
  /** Run the in-band DTMF detector on this caller's audio (G.711 only). Default false. */
  inbandDtmf?: boolean;
}

/** Options of a `ConferenceMixer`. */
export interface ConferenceMixerOptions {
  /** Slots allocated up front (default 16); capacity doubles on demand. */
  initialCapacity?: number;
  /** Hard limit on slots (default 4096). */
  maxCapacity?: number;
  /** Most talkers summed per tick (default 8). */
  maxTalkers?: number;
  /** RMS (16-bit scale) a frame needs to count as voice (default 300, about -41 dBFS). */
  talkThresholdRms?: number;
  /** Ticks a talker stays eligible after its voice drops below the threshold (default 10 = 200 ms). */
  hangoverTicks?: number;
  /** Music-on-hold sources (default `createMohSources()`); share one map between mixers. */
  mohSources?: ReadonlyMap<string, LoopSource>;
  /** Source for new slots (default "default", else the first). */
  defaultMoh?: string;
  /** Whether a caller alone, or waiting for the start, hears music (`conference_moh_enabled`, default true). Held callers always do. */
  mohEnabled?: boolean;
}
