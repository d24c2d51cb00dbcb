/**
 * Failover: a node (or worker process) that mixed meetings dies, and the callers this
 * node handed to it are moved to a live one instead of losing their audio for good.
 *
 * Noticing. A worker process's exit is told at once by the front that spawned it
 * (`nodeDied`, from workers.ts). Any other node is probed: every quarter of `silentMs`
 * this node publishes a `ping` on the control channel of each node it handed calls to,
 * and Redis answers how many listen there; a node nobody has listened for over
 * `silentMs` is dead. Probes count only while this node's own channel is heard (so a
 * Redis restart, which drops every subscription at once, kills nobody), and Redis's
 * reconnection delay (500 ms at most) is far shorter than `silentMs`.
 *
 * Moving. For each meeting of the dead node's calls held here, a new owner is chosen (the
 * least loaded live worker, or this node) and the store moves the meeting to it
 * (`moveMeeting`: compare-and-set, so fronts that race agree on the first one's choice).
 * The meeting keeps its sid, its calls keep theirs, and lock, participant_muted and mutes
 * stay as the store has them (recording stops: the recorder died with the node). Each
 * call is handed over again (`Handover.moveAgain`): the phone is re-INVITEd with the new
 * owner's Contact and SDP, and the new owner seats it in the meeting without a greeting
 * (`rejoin`).
 *
 * Cleaning up. Calls that were joined on the dead node itself died with its dialogs:
 * whoever takes a meeting over removes, `sweepMs` after, the meeting's calls it does not
 * carry (nor expects); the detecting node ends the dead node's other meetings by cutting
 * its lease short once its own calls are moved.
 */
import type { JoinDecision } from "@conf/access-router";
import type { Log } from "@conf/log";
import { isLobbyCall, type SessionStore } from "@conf/session-store";
import type { CallSession } from "./call.ts";
import type { CallRegistry } from "./call-registry.ts";
import type { Handover, MovedCall } from "./handover.ts";
import type { MeetingController } from "./meeting-controller.ts";

export interface FailoverParts {
  store: SessionStore;
  nodeId: string;
  registry: CallRegistry;
  handover: Handover;
  meetings: MeetingController;
  /** How long a node's control channel may go unheard before it counts as dead, ms. */
  silentMs: number;
  /** How long after taking a meeting over its calls that did not arrive are removed, ms. */
  sweepMs: number;
  /** Other nodes to watch than those this node handed calls to (browser-relay.ts's owners). */
  watchAlso?: () => Iterable<string>;
  /** Told of each node found dead, after its handed-over calls start moving. */
  died?: (nodeId: string) => void;
  stopped(): boolean;
  log: Log;
  bg(p: Promise<unknown>): void;
}

/**
 * Which nodes have gone unheard: each probe publishes on this node's own control channel
 * and on each watched node's, and reads how many listen there. A node that has had
 * nobody listening on every probe for `silentMs` is reported dead, once per silence.
 * A probe in which this node's own channel is not heard (the store is away or
 * reconnecting, which drops every subscription at once) proves nothing and starts the
 * count anew; so does a probe that failed.
 */
export class NodeWatch {
  /** Since when each watched node has had nobody listening, ms. */
  private readonly silentSince = new Map<string, number>();
  private probing = false;

  constructor(
    private readonly selfId: string,
    private readonly listeners: (nodeId: string) => Promise<number>,
    private readonly silentMs: number,
    private readonly died: (nodeId: string, silentForMs: number) => void,
  ) {}

  async probe(nodes: readonly string[], now: number): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      const watched = nodes.filter((n) => n !== this.selfId);
      for (const n of this.silentSince.keys()) if (!watched.includes(n)) this.silentSince.delete(n);
      if (watched.length === 0) return;
      const self = await this.listeners(this.selfId).catch(() => 0);
      if (self === 0) {
        this.silentSince.clear();
        return;
      }
      const heard = await Promise.all(watched.map((n) => this.listeners(n).catch(() => -1)));
      watched.forEach((n, i) => {
        if (heard[i] !== 0) {
          this.silentSince.delete(n);
          return;
        }
        const since = this.silentSince.get(n) ?? now;
        this.silentSince.set(n, since);
        if (now - since >= this.silentMs) {
          this.silentSince.delete(n);
          this.died(n, now - since);
        }
      });
    } finally {
      this.probing = false;
    }
  }
}

export class Failover {
  /** Nodes found dead (each is failed over once). */
  private readonly dead = new Set<string>();
  private readonly watch: NodeWatch;
  /** Meetings taken over here with a sweep pending. */
  private readonly sweeps = new Map<string, ReturnType<typeof setTimeout>>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly parts: FailoverParts) {
    parts.handover.rejoin = (call, decision, meetingSid) => this.rejoin(call, decision, meetingSid);
    this.watch = new NodeWatch(
      parts.nodeId,
      (n) => parts.handover.ping(n),
      parts.silentMs,
      (n, ms) => {
        parts.log.warn({ node: n }, `node ${n} has not listened for ${Math.round(ms)} ms: it counts as dead`);
        this.nodeDied(n);
      },
    );
  }

  /** Starts probing the nodes this node handed calls to. */
  start(): void {
    const every = Math.max(100, Math.floor(this.parts.silentMs / 4));
    this.timer = setInterval(() => this.parts.bg(this.probe(performance.now())), every);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const t of this.sweeps.values()) clearTimeout(t);
    this.sweeps.clear();
  }

  /** Whether `nodeId` was found dead here. */
  isDead(nodeId: string): boolean {
    return this.dead.has(nodeId);
  }

  /** A node is known to be gone (a worker process exited): its calls held here move on. */
  nodeDied(nodeId: string): void {
    if (nodeId === this.parts.nodeId || this.dead.has(nodeId) || this.parts.stopped()) return;
    this.dead.add(nodeId);
    this.parts.bg(this.failOver(nodeId));
    this.parts.died?.(nodeId);
  }

  /** One round of probes of the nodes this node handed calls to; `now` in ms of performance.now. */
  probe(now: number): Promise<void> {
    const watched = this.parts.handover.movedNodes();
    for (const n of this.parts.watchAlso?.() ?? []) watched.add(n);
    const nodes = [...watched].filter((n) => !this.dead.has(n));
    return this.watch.probe(nodes, now);
  }

  /** Moves every call this node handed to `dead` to a live owner, one owner per meeting. */
  private async failOver(dead: string): Promise<void> {
    const { store, handover, log } = this.parts;
    const calls = handover.movedTo(dead);
    log.warn({ node: dead }, `node ${dead} is gone: moving the ${calls.length} calls handed to it`);
    const started = performance.now();
    // Which meeting each call is in, as the store has it (null: its record is gone).
    const infos = await Promise.all(calls.map((c) => store.getCallInfo(c.offer.callSid).catch(() => null)));
    const byMeeting = new Map<string | null, MovedCall[]>();
    calls.forEach((c, i) => {
      const sid = infos[i]?.call.meeting_sid ?? null;
      const list = byMeeting.get(sid) ?? [];
      list.push(c);
      byMeeting.set(sid, list);
    });
    const results = await Promise.all(
      [...byMeeting].map(([meetingSid, group]) => this.moveMeeting(dead, meetingSid, group).catch(() => 0)),
    );
    const moved = results.reduce((a, b) => a + b, 0);
    log.warn(
      { node: dead },
      `node ${dead}: ${moved} of ${calls.length} calls moved in ${Math.round(performance.now() - started)} ms`,
    );
    // What is left of the dead node (meetings nobody handed calls into) ends now, not
    // when its lease runs out: its lease is cut short and the expired meetings reaped.
    try {
      await store.renewLease(dead, 1);
      await Bun.sleep(5);
      await store.reapExpired();
    } catch (err) {
      log.warn({ node: dead }, `could not end the meetings left on ${dead}: ${String(err)}`);
    }
  }

  /** Moves one meeting's calls held here; resolves to how many made it. */
  private async moveMeeting(dead: string, meetingSid: string | null, group: MovedCall[]): Promise<number> {
    const { store, handover, nodeId, log } = this.parts;
    const first = group[0] as MovedCall;
    const key = (first.offer.decision as unknown as JoinDecision).meetingKey;
    let target = handover.placeAnew(key, dead) ?? nodeId;
    let failover: { meetingSid: string; fromNodeId: string } | null = null;
    if (meetingSid) {
      const info = await store.moveMeeting(meetingSid, dead, target).catch(() => null);
      if (info) {
        // Another front may have moved it first: its calls and ours meet there.
        if (info.nodeId !== dead) target = info.nodeId;
        failover = { meetingSid, fromNodeId: dead };
        if (info.meeting.recording) await store.updateMeeting(meetingSid, { recording: false }).catch(() => null);
        log.info({ meeting_sid: meetingSid, node: target }, `meeting ${meetingSid} moves from ${dead} to ${target}`);
      }
    }
    // No meeting record left (reaped): the calls join the meeting of their key afresh.
    const ok = await Promise.all(group.map((c) => handover.moveAgain(c.dialogId, target, failover)));
    return ok.filter(Boolean).length;
  }

  /**
   * A call moved here by failover rejoins its meeting, which the store moved to this
   * node: its Call record (mute, hold, role) is the store's, the mix is made if needed.
   */
  async rejoin(call: CallSession, decision: JoinDecision, meetingSid: string): Promise<void> {
    const { store, nodeId, meetings, log } = this.parts;
    const [info, stored] = await Promise.all([
      store.getMeetingInfo(meetingSid).catch(() => null),
      store.getCall(call.callSid).catch(() => null),
    ]);
    if (!info || info.nodeId !== nodeId) {
      // Gone, or not ours after all: the caller joins the meeting of its key as anyone does.
      await meetings.join(call, decision);
      return;
    }
    call.beginJoin(decision);
    let record = stored && !isLobbyCall(stored) && stored.meeting_sid === meetingSid ? stored : null;
    if (!record) {
      // Swept before it arrived (or never written): written back with its sid.
      const input = call.joinInput();
      const m = info.meeting;
      await store
        .restore(nodeId, [
          {
            meetingKey: info.meetingKey,
            meeting_sid: meetingSid,
            account_sid: m.account_sid,
            meeting_room_sid: m.meeting_room_sid,
            date_created: m.date_created,
            locked: m.locked,
            on_hold: m.on_hold,
            participant_muted: m.participant_muted,
            recording: false,
            calls: [input],
          },
        ])
        .catch(() => null);
      const written = await store.getCall(call.callSid).catch(() => null);
      record = written && !isLobbyCall(written) ? written : null;
      if (!record) {
        log.warn({ call_sid: call.callSid, meeting_sid: meetingSid }, `call ${call.callSid}: could not rejoin its meeting`);
        await meetings.hangup(call, "failover");
        return;
      }
    }
    await meetings.seat(call, decision, info.meeting, record, false);
    log.info(
      { call_sid: call.callSid, meeting_sid: meetingSid },
      `call ${call.callSid} rejoined meeting ${meetingSid} here after its node died`,
    );
    if (!this.sweeps.has(meetingSid)) {
      const t = setTimeout(() => {
        this.sweeps.delete(meetingSid);
        this.parts.bg(this.sweep(meetingSid));
      }, this.parts.sweepMs);
      this.sweeps.set(meetingSid, t);
    }
  }

  /** A meeting taken over here: its calls that nobody moved here (they died with their node) are removed. */
  async sweep(meetingSid: string): Promise<void> {
    const { store, registry, handover, log } = this.parts;
    const calls = await store.listCallsOfMeeting(meetingSid);
    for (const c of calls) {
      const here = registry.calls.get(c.call_sid);
      if (here && here.state !== "ended") continue;
      if (handover.expecting(c.call_sid)) continue;
      // Mixed by another node of the meeting that is alive (cascade.ts): not ours to remove.
      const info = await store.getCallInfo(c.call_sid).catch(() => null);
      if (info && info.nodeId !== this.parts.nodeId && (await handover.ping(info.nodeId).catch(() => 0)) > 0) continue;
      log.info({ call_sid: c.call_sid, meeting_sid: meetingSid }, `call ${c.call_sid} died with its node: removed`);
      await store.leave(c.call_sid);
    }
  }
}
