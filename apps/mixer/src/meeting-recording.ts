/**
 * Recording a meeting's mix, by its `recording_method`: to a local file, or to a SIP
 * recorder that is called for it. The store's `recording` follows.
 */
import { type OutboundPolicy, STRICT_POLICY } from "@conf/outbound";
import type { SessionStore } from "@conf/session-store";
import type { CallSession } from "./call.ts";
import type { MeetingRuntime } from "./meeting.ts";
import { type Recorder, startLocalRecording, startRemoteRecording } from "./recording/index.ts";
import type { RtpPortPool } from "./rtp-socket.ts";
import type { SipUa } from "@conf/sip";

export interface MeetingRecordingParts {
  store: SessionStore;
  ports: RtpPortPool;
  sipHost: string;
  /** Where `local` recordings are written. */
  dir: string;
  /** Where tenants may send recordings (the node's OUTBOUND_* and SIP_HOST); absent: nowhere private. */
  outbound?: OutboundPolicy;
  /** The SIP stack, once it listens (a remote recording places a call). */
  ua(): SipUa | null;
  /** The meeting's recording started or stopped. */
  changed(runtime: MeetingRuntime<CallSession>): void;
  bg(p: Promise<unknown>): void;
}

export class MeetingRecording {
  constructor(private readonly parts: MeetingRecordingParts) {}

  /** Starts recording the meeting; null when there is no SIP stack yet. */
  start(runtime: MeetingRuntime<CallSession>): Recorder | null {
    const a = runtime.attributes;
    const ua = this.parts.ua();
    if (!ua) return null;
    const rec: Recorder =
      a.recording_method === "local"
        ? startLocalRecording({
            dir: this.parts.dir,
            meetingSid: runtime.meetingSid,
            accountSid: runtime.accountSid,
            meetingRoomSid: runtime.meetingRoomSid,
            startedAt: new Date(),
            metadata: a.recording_metadata,
          })
        : startRemoteRecording({
            ua,
            ports: this.parts.ports,
            host: this.parts.sipHost,
            target: a.recording_addr,
            meetingSid: runtime.meetingSid,
            metadata: a.recording_metadata,
            outbound: this.parts.outbound ?? STRICT_POLICY,
          });
    runtime.attachRecorder(rec);
    this.parts.changed(runtime);
    this.parts.bg(this.parts.store.updateMeeting(runtime.meetingSid, { recording: true }));
    // A recording can end on its own (the recorder hung up, the disk failed).
    void rec.done.then(() => {
      if (runtime.recorder === rec) this.parts.bg(this.stop(runtime));
    });
    return rec;
  }

  async stop(runtime: MeetingRuntime<CallSession>): Promise<void> {
    const rec = runtime.recorder;
    if (!rec) return;
    runtime.detachRecorder();
    if (!runtime.ended) this.parts.changed(runtime);
    await rec.stop();
    if (!runtime.ended) await this.parts.store.updateMeeting(runtime.meetingSid, { recording: false });
  }
}
