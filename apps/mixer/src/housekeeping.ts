/**
 * The node's slow chores: callers that went silent are hung up, the leases of the
 * meetings it mixes are renewed, and a store that lost its data gets them written back.
 */
import type { Log } from "@conf/log";
import type { RestoreMeeting, SessionStore } from "@conf/session-store";
import type { Admission } from "./admission.ts";
import type { CallRegistry } from "./call-registry.ts";
import type { MeetingController } from "./meeting-controller.ts";

export interface HousekeepingParts {
  store: SessionStore;
  nodeId: string;
  registry: CallRegistry;
  admission: Admission;
  meetings: MeetingController;
  /** A joined caller sending no RTP this long is hung up, ms. */
  rtpTimeoutMs: number;
  /** A caller at the IVR (lobby) sending no RTP this long is hung up, ms. */
  lobbyRtpTimeoutMs: number;
  stopped(): boolean;
  log: Log;
  bg(p: Promise<unknown>): void;
}

export class Housekeeping {
  /** A restore is running; `again`: Redis was found emptied again meanwhile. */
  private restoring: { again: boolean } | null = null;

  constructor(private readonly parts: HousekeepingParts) {}

  /** Once a second: silent callers, and silent code prompts. */
  checkTimeouts(): void {
    const { registry, meetings, admission, log, bg } = this.parts;
    const now = performance.now();
    for (const c of registry.calls.values()) {
      // Short at the IVR: a caller that never sends RTP (a spoofed or abandoned INVITE)
      // holds a port and a lobby slot for nothing.
      if (c.state === "ivr" && now - c.lastRtpAt > this.parts.lobbyRtpTimeoutMs) {
        log.info({ call_sid: c.callSid }, `call ${c.callSid}: no RTP at the IVR for ${Math.round(now - c.lastRtpAt)} ms`);
        bg(meetings.hangup(c, "lobby-rtp-timeout"));
        continue;
      }
      if (now - c.lastRtpAt > this.parts.rtpTimeoutMs) {
        log.info(
          { call_sid: c.callSid, meeting_sid: c.meeting?.meetingSid },
          `call ${c.callSid}: no RTP for ${Math.round((now - c.lastRtpAt) / 1000)} s`,
        );
        bg(meetings.hangup(c, "rtp-timeout"));
        continue;
      }
      admission.checkCodeTimeout(c, now);
    }
  }

  /**
   * Redis lost its data (restarted empty) while this node mixes meetings: writes them
   * back, with their sids and state as the mix has them, so the API lists them again and
   * new callers of a room join the meeting that is running (the store holds such joins
   * back meanwhile; see `restore` in the session store). Retried while Redis does not answer.
   */
  async restoreMeetings(): Promise<void> {
    if (this.restoring) {
      this.restoring.again = true;
      return;
    }
    this.restoring = { again: false };
    const { log } = this.parts;
    try {
      for (let attempt = 0; attempt < 10 && !this.parts.stopped(); attempt++) {
        this.restoring.again = false;
        try {
          const snapshot = this.restoreSnapshot();
          const results = await this.parts.store.restore(this.parts.nodeId, snapshot);
          const calls = snapshot.reduce((n, m) => n + m.calls.length, 0);
          log.info(`the store lost its data: restored ${results.length} meetings, ${calls} calls`);
          for (const r of results) if (!r.tookKey) log.info(`meeting ${r.meetingSid}: an older meeting holds its key`);
          if (!this.restoring.again) return;
        } catch (err) {
          log.warn(`restore failed (attempt ${attempt + 1}): ${String(err)}`);
          await Bun.sleep(1000);
        }
      }
    } finally {
      this.restoring = null;
    }
  }

  /** The meetings this node mixes and their joined calls, as the mix has them now. */
  private restoreSnapshot(): RestoreMeeting[] {
    const out: RestoreMeeting[] = [];
    for (const runtime of this.parts.meetings.meetings.values()) {
      if (runtime.ended) continue;
      const calls: RestoreMeeting["calls"] = [];
      for (const c of runtime.calls) {
        const stored = c.stored;
        if (c.state !== "meeting" || !stored) continue;
        calls.push({
          call_sid: c.callSid,
          access_code: c.accessCode,
          codecs: stored.codecs,
          number_src: stored.number_src,
          number_dst: stored.number_dst,
          name: stored.name,
          direction: stored.direction,
          role: c.role,
          date_created: c.dateCreated,
          date_joined: stored.date_joined,
          muted: c.muted,
          on_hold: c.onHold,
          gain_level: stored.gain_level,
        });
      }
      if (calls.length === 0) continue;
      out.push({
        meetingKey: runtime.meetingKey,
        meeting_sid: runtime.meetingSid,
        account_sid: runtime.accountSid,
        meeting_room_sid: runtime.meetingRoomSid,
        date_created: runtime.dateCreated,
        locked: runtime.locked,
        on_hold: runtime.onHold,
        participant_muted: runtime.participantMuted,
        recording: runtime.recorder !== null,
        calls,
      });
    }
    return out;
  }

  async renewLeases(ttlMs: number): Promise<void> {
    try {
      const r = await this.parts.store.renewLease(this.parts.nodeId, ttlMs);
      for (const sid of r.lost) {
        this.parts.log.warn({ meeting_sid: sid }, `lost the lease of meeting ${sid}`);
        await this.parts.meetings.endMeeting(sid, "lease-lost");
      }
    } catch (err) {
      this.parts.log.warn(`lease renewal failed: ${String(err)}`);
    }
  }
}
