/**
 * A mixer node: takes SIP calls, runs the IVR that admits them, mixes every meeting it
 * owns on one 20 ms clock, and applies control messages from the API. This file wires
 * the parts together: admission (INVITE, IVR, codes), the meeting controller (joins,
 * keypad and API commands, rules, ends), hand-over between nodes, the clock and the
 * housekeeping. They tell what happens as domain events (`events`).
 */
import type { AccessRouter } from "@conf/access-router";
import { createLogger, escapedLog, type Log, lineLog } from "@conf/log";
import type { OutboundPolicy } from "@conf/outbound";
import type { ControlMessage, SessionStore, Unsubscribe } from "@conf/session-store";
import { Admission } from "./admission.ts";
import { CallSession } from "./call.ts";
import { CallRegistry } from "./call-registry.ts";
import { MixClock } from "./clock.ts";
import { DomainEvents } from "./domain-events.ts";
import { JoinLatency } from "./join-latency.ts";
import { type GuessStore, TrustedSources } from "./guess-limiter.ts";
import { Failover } from "./failover.ts";
import { BrowserRelay } from "./browser-relay.ts";
import { Cascade } from "./cascade.ts";
import { Handover } from "./handover.ts";
import { Housekeeping } from "./housekeeping.ts";
import { LobbyRecords } from "./lobby-records.ts";
import { DEFAULT_INTERDIGIT_MS } from "./keypad.ts";
import { escapeControl, logSafe } from "./log-safe.ts";
import {
  ConferenceMixer,
  createMohSources,
  opusAvailable,
  opusLoadError,
  opusVersion,
  type PromptLibrary,
  type RtpLatchOptions,
} from "@conf/media";
import { type MeetingRuntime, MixGroup } from "./meeting.ts";
import { MeetingController } from "./meeting-controller.ts";
import { MeetingRecording } from "./meeting-recording.ts";
import { RtpPortPool } from "./rtp-socket.ts";
import {
  type Dialog,
  type IncomingCall,
  type MessageLimits,
  type ReinviteAnswer,
  type ReinviteOffer,
  type SipMessageCounts,
  SipUa,
  type SipTimerOptions,
  type SipUaOptions,
  type SourceLimits,
} from "@conf/sip";
import { type CumulativeHistogram, TickStats } from "./tick-stats.ts";
import { Voice } from "./voice.ts";
import { createDtlsIdentity } from "./webrtc/leg.ts";
import { SipWsServer, type SipWsLimits } from "./webrtc/sip-ws.ts";

export interface MixerNodeOptions {
  router: AccessRouter;
  store: SessionStore;
  prompts: PromptLibrary;
  nodeId: string;
  sipHost: string;
  sipPort: number;
  rtpPortMin: number;
  rtpPortMax: number;
  /** Spread calls over this many shared RTP sockets (batched sends); 0: a socket per call. */
  rtpSharedSockets?: number;
  /** Shared RTP sockets read and written in batches (recvmmsg/sendmmsg), drained by the clock. */
  rtpBatchIo?: boolean;
  /** Wrong codes from one source (trusted: one caller number) before it is refused for `codeGuessBanSeconds`. */
  codeGuessLimit?: number;
  codeGuessBanSeconds?: number;
  codeGuessWindowSeconds?: number;
  /** Wrong codes on one number dialed per window past which its code checks wait `codeGuessDidDelaySeconds`. */
  codeGuessDidLimit?: number;
  codeGuessDidDelaySeconds?: number;
  /** Shared guess counts (Redis) for every node; absent: this node's memory only. Closed by `stop()`. */
  guessStore?: GuessStore | null;
  /** The operator's carriers and SBCs (SIP_TRUSTED_SOURCES). */
  trustedSources?: TrustedSources;
  /** Per-source INVITE limits; default DEFAULT_SOURCE_LIMITS (trusted sources are exempt). */
  sourceLimits?: SourceLimits;
  /** SIP message and SDP size limits; default DEFAULT_MESSAGE_LIMITS. */
  messageLimits?: Partial<MessageLimits>;
  /** A joined caller sending no RTP this long is hung up, seconds. */
  rtpTimeoutSeconds?: number;
  /** A caller at the IVR (lobby) sending no RTP this long is hung up, ms. Default 5000. */
  lobbyRtpTimeoutMs?: number;
  /** Longest pause between the keys of one keypad command, ms. Default DEFAULT_INTERDIGIT_MS (3000). */
  keypadInterdigitMs?: number;
  /** How a call's RTP latches onto its caller (packets in sequence, grace, re-latch). */
  rtpLatch?: RtpLatchOptions;
  /** Seconds a caller may stay silent at the code prompt before it is repeated. */
  codeTimeoutSeconds?: number;
  /** Lease of this node's meetings in the store, ms (renewed every third of it). */
  leaseTtlMs?: number;
  sipTimers?: SipTimerOptions;
  /** Where `local` recordings are written. Default `.data/recordings`. */
  recordingDir?: string;
  /** Where tenants may send remote recordings (OUTBOUND_*, SIP_HOST); absent: nowhere private (STRICT_POLICY). */
  outbound?: OutboundPolicy;
  /**
   * Nodes to mix new meetings on (this node's worker processes): admitted callers are
   * handed over to them. Empty or absent: this node mixes the meetings it creates.
   */
  placement?: () => readonly string[];
  /** Calls a placement node mixes before a meeting it owns spills over to another (cascade.ts); 0: never. */
  workerCapacity?: number;
  /** Sub-ticks each frame's packets are spread over (1-10, default 1). */
  sendPhases?: number;
  /** SIP over WebSocket for browsers (RFC 7118) on this TCP port (0: a free one); absent or null: none. */
  sipWsPort?: number | null;
  sipWsLimits?: Partial<SipWsLimits>;
  /** How long a browser leg's ICE checks and DTLS handshake may take, ms. Default 10000. */
  webrtcHandshakeTimeoutMs?: number;
  /** Log the tick timing (and calls, meetings) every this many seconds; 0: never. */
  statsSeconds?: number;
  /** How long a hand-over step may take before the call stays here, ms. Default 3000. */
  handoverTimeoutMs?: number;
  /** How long a node this node handed calls to may go unheard before they move on (failover.ts), ms. Default 3000. */
  failoverSilentMs?: number;
  /** How long after a failover the moved meeting's calls that did not arrive are removed, ms. Default 5000. */
  failoverSweepMs?: number;
  /** Where the node logs: a Log (fields and message), or a line callback (tests); default the `mixer` module's logger. */
  log?: Log | ((line: string) => void);
}

/** What a node counted since it started (see `MixerNode.counts`). */
export interface NodeCounts {
  readonly calls: ReadonlyMap<string, CallSession>;
  readonly meetings: number;
  readonly rtp: { readonly rxPackets: number; readonly rxExpected: number; readonly txPackets: number };
  /** Null before the node listens. */
  readonly sip: SipMessageCounts | null;
  readonly wrongCodes: number;
  readonly lateness: CumulativeHistogram;
  /** Seconds from a caller's last code key to its first frame in the mix (see JoinLatency). */
  readonly joinLatency: CumulativeHistogram;
}

/**
 * Sub-ticks a frame's packets are spread over by default (see MixClock). Measured
 * with 1000 callers (BENCHMARKS.md): 4 phases cost 62% -> 77% of a core with a socket
 * per call (four times the wake-ups) and did not shorten the tail, so 1.
 */
const SEND_PHASES = 1;

export class MixerNode {
  readonly lobby: MixGroup<CallSession>;
  /** What happens to calls and meetings here, as it happens. */
  readonly events: DomainEvents;
  /** How late and how long the ticks are; logged every `statsSeconds`. */
  readonly tickStats = new TickStats();
  private readonly registry = new CallRegistry();
  private readonly joinLatency: JoinLatency;
  private readonly ports: RtpPortPool;
  private readonly log: Log;
  private readonly clock: MixClock;
  private readonly admission: Admission;
  private readonly controller: MeetingController;
  private readonly handover: Handover;
  private readonly relay: BrowserRelay;
  /** Trunks to the other nodes mixing a meeting mixed here too (MIXER_WORKER_CAPACITY). */
  readonly cascade: Cascade;
  private readonly lobbyRecords: LobbyRecords;
  private readonly failover: Failover;
  private readonly housekeeping: Housekeeping;
  private ua: SipUa | null = null;
  private ws: SipWsServer | null = null;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private unsubscribe: Unsubscribe | null = null;
  private stopResetWatch: (() => void) | null = null;
  private stopped = false;

  constructor(private readonly opts: MixerNodeOptions) {
    this.ports = new RtpPortPool(
      opts.rtpPortMin,
      opts.rtpPortMax,
      opts.rtpSharedSockets ?? 0,
      opts.rtpLatch,
      opts.rtpBatchIo ?? false,
    );
    const moh = createMohSources();
    this.lobby = new MixGroup<CallSession>(new ConferenceMixer({ mohSources: moh, mohEnabled: false }));
    const sink = typeof opts.log === "function" ? lineLog(opts.log) : (opts.log ?? createLogger("mixer"));
    // Sites escape what they print from SIP (logSafe); this catches what they missed,
    // so no value from a caller can start a log line of its own.
    const log = escapedLog(sink);
    this.log = log;
    const bg = (p: Promise<unknown>) => this.bg(p);
    this.events = new DomainEvents((err, e) => log.error(`a listener of ${e.type} failed: ${logSafe(err)}`));
    const { store, nodeId, sipHost } = opts;
    const { registry, ports, lobby, events } = this;
    const voice = new Voice(opts.prompts);
    const now = () => this.clock.now;
    const recording = new MeetingRecording({
      store,
      ports,
      sipHost,
      dir: opts.recordingDir ?? ".data/recordings",
      outbound: opts.outbound,
      ua: () => this.ua,
      changed: (m) => events.emit({ type: "meeting.updated", meetingSid: m.meetingSid, meeting: m.toApi() }),
      bg,
    });
    this.controller = new MeetingController({
      store,
      nodeId,
      registry,
      lobby,
      moh,
      voice,
      recording,
      events,
      keypadInterdigitMs: opts.keypadInterdigitMs ?? DEFAULT_INTERDIGIT_MS,
      log,
      bg,
    });
    this.handover = new Handover({
      store,
      nodeId,
      sipHost,
      registry,
      ports,
      lobby,
      meetings: this.controller,
      events,
      placement: opts.placement ?? null,
      capacity: opts.workerCapacity ?? 0,
      timeoutMs: opts.handoverTimeoutMs ?? 3000,
      ua: () => this.ua,
      sipPort: () => this.sipPort,
      stopped: () => this.stopped,
      now,
      log,
      bg,
    });
    this.cascade = new Cascade({ store, nodeId, host: sipHost, meetings: this.controller.meetings, events, log, bg });
    this.relay = new BrowserRelay({ handover: this.handover, sipHost, ports, registry, log, bg });
    this.lobbyRecords = new LobbyRecords({ store, nodeId, events, log, bg });
    this.failover = new Failover({
      store,
      nodeId,
      registry,
      handover: this.handover,
      meetings: this.controller,
      silentMs: opts.failoverSilentMs ?? 3000,
      sweepMs: opts.failoverSweepMs ?? 5000,
      watchAlso: () => this.relay.nodes(),
      died: (n) => this.relay.nodeDied(n),
      stopped: () => this.stopped,
      log,
      bg,
    });
    this.admission = new Admission({
      router: opts.router,
      sipHost,
      registry,
      ports,
      lobby,
      voice,
      meetings: this.controller,
      handover: this.handover,
      relay: this.relay,
      events,
      lobbyRecords: this.lobbyRecords,
      trusted: opts.trustedSources ?? new TrustedSources([]),
      guesses: {
        limit: opts.codeGuessLimit ?? 10,
        banSeconds: opts.codeGuessBanSeconds ?? 600,
        windowSeconds: opts.codeGuessWindowSeconds ?? opts.codeGuessBanSeconds ?? 600,
        didLimit: opts.codeGuessDidLimit ?? 100,
        didDelaySeconds: opts.codeGuessDidDelaySeconds ?? 3,
        store: opts.guessStore ?? null,
      },
      codeTimeoutSeconds: opts.codeTimeoutSeconds ?? 10,
      now,
      log,
      bg,
    });
    this.housekeeping = new Housekeeping({
      store,
      nodeId,
      registry,
      admission: this.admission,
      meetings: this.controller,
      rtpTimeoutMs: (opts.rtpTimeoutSeconds ?? 30) * 1000,
      lobbyRtpTimeoutMs: opts.lobbyRtpTimeoutMs ?? 5000,
      stopped: () => this.stopped,
      log,
      bg,
    });
    this.joinLatency = new JoinLatency(
      events,
      (sid) => registry.calls.get(sid),
      (call, ms, fromPressMs) =>
        log.info(
          {
            call_sid: call.callSid,
            meeting_sid: call.meeting?.meetingSid,
            join_ms: Math.round(ms),
            join_from_press_ms: Math.round(fromPressMs),
          },
          `call ${call.callSid} in the mix ${Math.round(ms)} ms after its code's last key (${Math.round(fromPressMs)} ms after it was pressed)`,
        ),
    );
    const joinLatency = this.joinLatency;
    const cascade = this.cascade;
    this.clock = new MixClock({
      lobby,
      meetings: this.controller.meetings,
      flush: () => ports.flush(),
      receive: () => ports.receive(),
      afterMix: () => {
        joinLatency.afterMix();
        cascade.afterMix();
      },
      idle: () => registry.size === 0,
      sendPhases: Math.max(1, Math.min(10, Math.floor(opts.sendPhases ?? SEND_PHASES))),
      tickStats: this.tickStats,
      events,
      onDigit: this.admission.onDigit,
      onPromptDone: (call) => this.admission.onPromptDone(call),
    });
  }

  /** The calls on this node, by call sid. */
  get calls(): ReadonlyMap<string, CallSession> {
    return this.registry.calls;
  }

  /** The meetings this node mixes, by meeting sid. */
  get meetings(): ReadonlyMap<string, MeetingRuntime<CallSession>> {
    return this.controller.meetings;
  }

  /** Node clock in ms, read once per frame. */
  get now(): number {
    return this.clock.now;
  }

  get sipPort(): number {
    return this.ua?.address.port ?? 0;
  }

  /** The port of SIP over WebSocket, or null when the node has none. */
  get sipWsPort(): number | null {
    return this.ws?.port ?? null;
  }

  async start(): Promise<void> {
    const { registry, admission, controller, handover, relay, housekeeping, opts } = this;
    const bg = (p: Promise<unknown>) => this.bg(p);
    const remoteHangup = (dialogId: string) => {
      if (handover.onMovedHangup(dialogId) || relay.onHangup(dialogId)) return;
      const c = registry.ofDialog(dialogId);
      if (c) bg(controller.hangup(c, "remote"));
    };
    const ua = {
      timers: opts.sipTimers,
      forceRport: true,
      sourceLimits: opts.sourceLimits ?? true,
      trustedSource: (address: string) => admission.trusts(address),
      messageLimits: opts.messageLimits,
      handlers: {
        onInvite: (call: IncomingCall) => admission.onInvite(call),
        onCancel: (invite: IncomingCall) => {
          const c = invite.appData;
          if (c instanceof CallSession) bg(controller.hangup(c, "cancelled"));
        },
        onBye: (dialog: Dialog) => remoteHangup(dialog.id),
        onAck: (dialog: Dialog) => registry.ofDialog(dialog.id)?.checkReady(),
        onDialogFailed: (dialog: Dialog) => remoteHangup(dialog.id),
        onInfoDtmf: (dialog: Dialog, digit: string) => {
          const c = registry.ofDialog(dialog.id);
          if (c) admission.onDigit(c, digit);
          else if (!relay.onDigit(dialog.id, digit)) handover.onMovedDigit(dialog.id, digit);
        },
        onReinvite: (dialog: Dialog, offer: ReinviteOffer): ReinviteAnswer => {
          const answer = offer.sdp ? registry.ofDialog(dialog.id)?.answerReinvite(offer.sdp, opts.sipHost) : null;
          return answer ? { sdp: answer } : { status: 488 };
        },
        onError: (err: unknown, ctx: string) => this.log.warn(`sip error (${logSafe(ctx)}): ${logSafe(err)}`),
      },
    } satisfies SipUaOptions;
    this.ua = await SipUa.listen({ ...ua, host: opts.sipHost, port: opts.sipPort });
    if (opts.sipWsPort !== undefined && opts.sipWsPort !== null) {
      admission.webrtc = {
        identity: await createDtlsIdentity(),
        handshakeTimeoutMs: opts.webrtcHandshakeTimeoutMs ?? 10_000,
        latch: opts.rtpLatch,
      };
      const ws = SipWsServer.start({
        host: opts.sipHost,
        port: opts.sipWsPort,
        limits: opts.sipWsLimits,
        ua,
        // The browser is gone with its connection: nobody would get our BYE.
        onClosed: (source) => {
          for (const d of [...ws.ua.dialogs.values()]) {
            if (d.source.address === source.address && d.source.port === source.port) remoteHangup(d.id);
          }
        },
      });
      this.ws = ws;
    }
    await this.cascade.start();
    this.unsubscribe = await opts.store.control.subscribe(opts.nodeId, (m) => this.onControl(m));
    this.stopResetWatch = opts.store.onReset(() => {
      bg(housekeeping.restoreMeetings());
      bg(this.lobbyRecords.restore());
    });
    this.clock.start();
    this.failover.start();
    this.timers.push(setInterval(() => housekeeping.checkTimeouts(), 1000));
    this.timers.push(setInterval(() => controller.pollKeypads(), 200));
    const ttl = opts.leaseTtlMs ?? 30_000;
    this.timers.push(setInterval(() => bg(housekeeping.renewLeases(ttl)), Math.max(1000, Math.floor(ttl / 3))));
    const statsSeconds = opts.statsSeconds ?? 0;
    if (statsSeconds > 0) {
      this.tickStats.summary(); // start counting now, not at construction
      this.timers.push(
        setInterval(() => {
          this.log.info(
            `${this.tickStats.summary()}; ${registry.size} calls, ${controller.meetings.size} meetings; ${this.rxSummary()}`,
          );
        }, statsSeconds * 1000),
      );
    }
    this.log.info(`SIP on udp ${opts.sipHost}:${this.sipPort}, RTP ${opts.rtpPortMin}-${opts.rtpPortMax}`);
    // Once per process: without libopus, Opus is neither offered nor accepted.
    if (opusAvailable()) this.log.info(`Opus by ${opusVersion()}`);
    else this.log.warn(`Opus is off, libopus could not be loaded: ${logSafe(opusLoadError())}`);
    if (this.ws) this.log.info(`SIP over WebSocket on ws://${opts.sipHost}:${this.ws.port}`);
  }

  private onControl(m: ControlMessage): void {
    if (m.type === "handover") {
      if (!this.relay.onMessage(m)) this.handover.onMessage(m);
    } else if (m.type === "trunk") this.cascade.onMessage(m);
    else this.controller.onControl(m);
  }

  /** What the node counted since it started, read when metrics are scraped (metrics.ts). */
  get counts(): NodeCounts {
    return {
      calls: this.registry.calls,
      meetings: this.controller.meetings.size,
      rtp: this.registry.rtpTotals(),
      sip: this.ua?.messages ?? null,
      wrongCodes: this.admission.wrongCodes,
      lateness: this.tickStats.lateness,
      joinLatency: this.joinLatency.histogram,
    };
  }

  /**
   * RTP received from callers since the node started, ended calls included: what the
   * callers' sequence numbers say they sent against what arrived (loss towards us).
   */
  rxSummary(): string {
    return this.registry.rxSummary(this.ports.foreignDropped);
  }

  /** Hangs every call up with BYE, then stops. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.log.info(this.rxSummary());
    this.relay.stop();
    await Promise.all([...this.registry.calls.values()].map((c) => this.hangup(c, "shutdown")));
    this.clock.stop();
    this.cascade.stop();
    this.failover.stop();
    this.ports.close();
    for (const t of this.timers) clearInterval(t);
    this.stopResetWatch?.();
    await this.unsubscribe?.();
    this.ua?.close();
    this.ws?.stop();
    await this.admission.close();
    await this.lobbyRecords.close();
  }

  /** Ends a call from our side or after the peer's BYE: out of the mix, the store and SIP. */
  hangup(call: CallSession, why: string): Promise<void> {
    return this.controller.hangup(call, why);
  }

  /** Ends a whole meeting: every caller is hung up with BYE, then the objects are gone. */
  endMeeting(meetingSid: string, why: string): Promise<void> {
    return this.controller.endMeeting(meetingSid, why);
  }

  /** A node this node may have handed calls to is gone (a worker process exited): they move to a live one. */
  nodeDied(nodeId: string): void {
    this.failover.nodeDied(nodeId);
  }

  /** Runs a promise in the background: a failure is logged, never an unhandled rejection. */
  private bg(p: Promise<unknown>): void {
    p.catch((err) =>
      this.log.error(
        `background task failed: ${logSafe(err)}${err instanceof Error && err.stack ? ` ${escapeControl(err.stack)}` : ""}`,
      ),
    );
  }
}
