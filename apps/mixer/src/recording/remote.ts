/**
 * `recording_method` `remote`: the meeting's mix sent as a SIP call to
 * `recording_addr`. We INVITE with a sendonly PCMU/PCMA offer, carrying the meeting
 * sid and `recording_metadata` in headers; once answered, every 20 ms tick's mix is
 * downsampled to 8 kHz once, encoded with the codec the recorder chose and sent as
 * one RTP packet from the recording's own RTP socket. Nothing is buffered while the
 * call is being set up (the frames are dropped): a recording starts when it is
 * answered. Failures never throw; they settle `ready` and `done`.
 */
import {
  type CodecName,
  Downsampler2x,
  encodeAlaw,
  encodeUlaw,
  parseAnswer,
  RTP_HEADER_SIZE,
  RtpSender,
  buildOffer,
} from "@conf/media";
import type { RtpPortPool, RtpSocket } from "../rtp-socket.ts";
import type { Dialog, OutgoingCall, SipUa } from "@conf/sip";
import type { OutboundPolicy } from "@conf/outbound";
import { allowedTargetHost, type HostLookup, headerText, type RecordingTarget, recordingTarget } from "./target.ts";
import type { RecordingReady, RemoteRecorder, RemoteRecordingResult } from "./types.ts";

/** Codecs a remote recording can be sent in. */
export const REMOTE_RECORDING_CODECS = ["PCMU", "PCMA"] as const;
/** A remote recording codec. */
export type RemoteRecordingCodec = (typeof REMOTE_RECORDING_CODECS)[number];

/** Samples of the mixer's 16 kHz frame (20 ms). */
const FRAME_16K = 320;
/** Samples (and G.711 bytes) of one 8 kHz frame. */
const FRAME_8K = 160;

/** Options of {@link startRemoteRecording}. */
export interface RemoteRecordingOptions {
  /** The node's SIP UA (its handlers are not touched). */
  ua: SipUa;
  /** The node's RTP port range; the recording takes one port for the call. */
  ports: RtpPortPool;
  /** Address to bind the RTP socket to (and to advertise in the SDP). */
  host: string;
  /** Address for the SDP when it differs from `host` (behind NAT). */
  advertisedHost?: string;
  /** The effective `recording_addr`, e.g. `15162065121@10.1.10.190` or `rec@127.0.0.1:5099`. */
  target: string;
  meetingSid: string;
  /** The effective `recording_metadata`, sent in `X-Recording-Metadata`. */
  metadata: string;
  /** User part of our From (default `recording`). */
  fromUser?: string;
  /** Codecs offered, in order of preference (default PCMU, PCMA). */
  codecs?: readonly RemoteRecordingCodec[];
  /** Give up (CANCEL) when the recorder has not answered by then (default 30000 ms). */
  answerTimeoutMs?: number;
  /** How long stop() waits for the answer to our BYE (default 2000 ms; the BYE itself keeps retrying). */
  byeWaitMs?: number;
  /**
   * Where tenants may send recordings (`@conf/outbound`): the node's, parsed at start-up
   * from OUTBOUND_ALLOW_PRIVATE, OUTBOUND_ALLOWLIST and SIP_HOST (@conf/config).
   */
  outbound: OutboundPolicy;
  /** Resolves the target's host name (tests); default the system resolver. */
  lookup?: HostLookup;
}

type State = "starting" | "calling" | "sending" | "ended";

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

class SipRemoteRecorder implements RemoteRecorder {
  readonly kind = "remote" as const;
  readonly ready: Promise<RecordingReady>;
  readonly done: Promise<RemoteRecordingResult>;

  private state: State = "starting";
  private target: RecordingTarget | null = null;
  private socket: RtpSocket | null = null;
  private call: OutgoingCall | null = null;
  private dialog: Dialog | null = null;
  private codec: CodecName = "PCMU";
  private sender: RtpSender | null = null;
  private ulaw = true;
  private remoteAddress = "";
  private remotePort = 0;
  private packetsSent = 0;
  private readonly down = new Downsampler2x();
  private readonly pcm8 = new Int16Array(FRAME_8K);
  private readonly packet = new Uint8Array(RTP_HEADER_SIZE + FRAME_8K);
  private resolveReady: (r: RecordingReady) => void = () => {};
  private resolveDone: (r: RemoteRecordingResult) => void = () => {};
  private ending: Promise<void> | null = null;

  constructor(private readonly opts: RemoteRecordingOptions) {
    this.ready = new Promise((r) => {
      this.resolveReady = r;
    });
    this.done = new Promise((r) => {
      this.resolveDone = r;
    });
    void this.start().catch((err) => this.fail(`recording failed: ${message(err)}`));
  }

  private async start(): Promise<void> {
    const o = this.opts;
    const t = recordingTarget(o.target);
    if (!t.ok) return this.fail(t.error);
    this.target = t.value;
    const ua = o.ua;
    const port = t.value.port ?? 5060;
    if (
      (t.value.host === ua.advertisedHost || t.value.host === ua.address.address) &&
      (port === ua.advertisedPort || port === ua.address.port)
    ) {
      // The mixer would call itself and land in its own IVR.
      return this.fail("recording_addr points at this mixer");
    }
    // recording_addr is the tenant's: never an internal host, even through a name that
    // resolved to a public address when the API checked it.
    const allowed = await allowedTargetHost(t.value.host, o.outbound, o.lookup);
    if (!allowed.ok) return this.fail(allowed.error);
    if (this.state !== "starting") return;
    let socket: RtpSocket;
    try {
      // Anything the recorder sends back (echo, RTCP-less keepalives) is ignored.
      socket = await o.ports.open(o.host, () => {}, { own: true });
    } catch (err) {
      return this.fail(message(err));
    }
    if (this.state !== "starting") {
      socket.close();
      return;
    }
    this.socket = socket;
    const codecs = o.codecs ?? REMOTE_RECORDING_CODECS;
    const sdpAddress = o.advertisedHost ?? o.host;
    const offer = buildOffer({ address: sdpAddress, port: socket.port, codecs, telephoneEventPt: null, direction: "sendonly" });
    const fromUser = /^[A-Za-z0-9_.-]{1,32}$/.test(o.fromUser ?? "") ? (o.fromUser as string) : "recording";
    const call = ua.invite({
      target: t.value.uri,
      sdp: offer,
      from: `<sip:${fromUser}@${hostPort(ua.advertisedHost, ua.advertisedPort)}>`,
      headers: [
        ["X-Meeting-Sid", headerText(o.meetingSid, 64)],
        ["X-Recording-Metadata", headerText(o.metadata)],
      ],
    });
    this.call = call;
    this.state = "calling";
    const timeoutMs = o.answerTimeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      if (this.state !== "calling") return;
      call.cancel();
      this.fail(`no answer within ${timeoutMs} ms`);
    }, timeoutMs);
    const r = await call.result;
    clearTimeout(timer);
    if (!r.ok) return this.fail(r.status === 0 ? `call not placed: ${r.reason}` : `recorder refused: ${r.status} ${r.reason}`);
    this.dialog = r.dialog;
    if (this.state !== "calling") {
      // Stopped or timed out while ringing, and the 2xx crossed our CANCEL.
      void r.dialog.bye();
      return;
    }
    const answer = r.sdp === null ? null : parseAnswer(r.sdp, codecs);
    let error: string | null = null;
    if (answer === null) error = "recorder answered without SDP";
    else if (!answer.ok) error = `recorder answer: ${answer.error}`;
    else if (answer.value.direction === "recvonly" || answer.value.direction === "inactive")
      error = "recorder does not accept audio";
    else if (answer.value.remoteAddress === "0.0.0.0" || answer.value.remoteAddress === "::" || answer.value.remotePort <= 0) {
      error = "recorder gave no media address";
    }
    if (error !== null || answer === null || !answer.ok) {
      void r.dialog.bye();
      return this.fail(error ?? "recorder answer unusable");
    }
    const media = answer.value;
    this.codec = media.codec;
    this.ulaw = media.codec === "PCMU";
    this.remoteAddress = media.remoteAddress;
    this.remotePort = media.remotePort;
    this.sender = new RtpSender({ payloadType: media.payloadType, samplesPerFrame: FRAME_8K });
    this.state = "sending";
    this.resolveReady({ ok: true });
  }

  write(mix16k: Int16Array): void {
    if (this.state !== "sending") return;
    const dialog = this.dialog as Dialog;
    if (dialog.state === "terminated") {
      // The recorder hung up (its BYE was answered by the UA).
      void this.end("remote");
      return;
    }
    if (mix16k.length !== FRAME_16K) return;
    this.down.process(mix16k, 0, FRAME_16K, this.pcm8, 0);
    const pkt = this.packet;
    if (this.ulaw) encodeUlaw(this.pcm8, 0, pkt, RTP_HEADER_SIZE, FRAME_8K);
    else encodeAlaw(this.pcm8, 0, pkt, RTP_HEADER_SIZE, FRAME_8K);
    (this.sender as RtpSender).writeHeader(pkt, 0);
    try {
      (this.socket as RtpSocket).send(pkt, this.remotePort, this.remoteAddress);
      this.packetsSent++;
    } catch {
      // A send error (no route, buffer full) loses this packet only.
    }
  }

  stop(): Promise<RemoteRecordingResult> {
    if (this.state === "sending") void this.end("stop");
    else if (this.state === "starting" || this.state === "calling") {
      this.call?.cancel();
      this.fail("stopped before the recorder answered");
    }
    return this.done;
  }

  /** Ends an answered recording: BYE (unless the recorder already hung up), close the socket. */
  private end(by: "stop" | "remote"): Promise<void> {
    if (this.ending) return this.ending;
    this.state = "ended";
    this.ending = (async () => {
      this.socket?.close();
      const dialog = this.dialog as Dialog;
      if (by === "stop") {
        let timer: ReturnType<typeof setTimeout> | null = null;
        await Promise.race([
          dialog.bye().catch(() => {}),
          new Promise<void>((r) => {
            timer = setTimeout(r, this.opts.byeWaitMs ?? 2000);
          }),
        ]);
        if (timer !== null) clearTimeout(timer);
      }
      this.resolveDone({
        kind: "remote",
        ok: true,
        target: (this.target as RecordingTarget).uri,
        callId: (this.call as OutgoingCall).callId,
        codec: this.codec,
        durationSeconds: this.packetsSent * 0.02,
        packetsSent: this.packetsSent,
        endedBy: by,
      });
    })();
    return this.ending;
  }

  /** The recording never ran: settle both promises, free the port. */
  private fail(error: string): void {
    if (this.state === "ended") return;
    this.state = "ended";
    this.socket?.close();
    this.resolveReady({ ok: false, error });
    this.resolveDone({ kind: "remote", ok: false, error, target: this.target?.uri ?? null, durationSeconds: 0, packetsSent: 0 });
  }
}

/**
 * Starts a remote recording: calls `sip:<target>` through `ua` and, once answered,
 * streams the mix given to `write` as G.711 RTP. Returns at once; `ready` says whether
 * the recorder answered (4xx/5xx, timeouts, bad addresses and unusable answers settle
 * it with `ok: false`, and the recorder then ignores `write`). `stop()` hangs up.
 * @example
 * const rec = startRemoteRecording({ ua, ports, host: env.SIP_HOST,
 *   target: attrs.recording_addr, meetingSid, metadata: attrs.recording_metadata });
 * mixer.recordTap = (mix) => rec.write(mix);
 * const r = await rec.ready; if (!r.ok) log(r.error);
 */
export function startRemoteRecording(opts: RemoteRecordingOptions): RemoteRecorder {
  return new SipRemoteRecorder(opts);
}
