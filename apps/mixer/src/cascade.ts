/**
 * Cascade: one meeting mixed by more than one node. With MIXER_WORKER_CAPACITY the
 * front hands a caller of a meeting whose owner is full to another worker
 * (handover.ts `spill`); that worker joins the same meeting in the store (same
 * `meeting_sid`, the API lists every call) and mixes it for its own callers. This file
 * links the mixes: one UDP trunk per pair of nodes mixing a meeting.
 *
 * Each tick, after the mix, a node sends every peer of the meeting its local talkers
 * (the ones its mixer chose, trunk lanes left out) as 16 kHz linear frames
 * (`@conf/media` trunk.ts); it feeds what it receives into input-only slots of its own
 * mix, `maxTalkers` lanes per peer. So each node's loudest-N choice is meeting-wide,
 * a listener anywhere hears the same talkers, and nobody hears themselves: a node never
 * sends on what it received.
 *
 * Finding each other goes over the control channel (TrunkMessage): a node that starts
 * mixing a meeting says `hello` to every node of the meeting (`sendToMeeting`: the
 * owner and each node carrying one of its calls) with its trunk address and its id for
 * the meeting; each node mixing it makes a link and answers `ack` with its own; `bye`
 * when a node stops mixing it. A trunk takes packets only from the address and port its
 * peer named. Per packet nothing is allocated here (arrays, not iterators; the header is
 * read into one object).
 */
import type { Log } from "@conf/log";
import { readTrunkHeader, TrunkHeader, TrunkLane, TrunkSender } from "@conf/media";
import type { SessionStore, TrunkMessage } from "@conf/session-store";
import type { udp } from "bun";
import { z } from "zod";
import type { CallSession } from "./call.ts";
import type { DomainEvents } from "./domain-events.ts";
import { logSafe } from "./log-safe.ts";
import type { MeetingRuntime } from "./meeting.ts";

const trunkMessageSchema = z.object({
  type: z.literal("trunk"),
  meetingSid: z.string().min(1),
  step: z.enum(["hello", "ack", "bye"]),
  fromNodeId: z.string().min(1),
  address: z.string().min(1).max(100),
  port: z.number().int().min(1).max(65535),
  rxId: z.number().int().min(1).max(0xffffffff),
});

/** One peer node mixing the same meeting: where its trunk is, and its lanes in our mix. */
class Link {
  readonly lanes: TrunkLane[];
  readonly slots: number[] = [];

  constructor(
    readonly peer: string,
    public address: string,
    public port: number,
    public peerRxId: number,
    lanes: number,
  ) {
    this.lanes = Array.from({ length: lanes }, () => new TrunkLane());
  }
}

/** A meeting this node mixes, as the trunks see it. */
class Trunked {
  links: Link[] = [];
  readonly tx: TrunkSender;

  constructor(
    readonly rxId: number,
    readonly runtime: MeetingRuntime<CallSession>,
  ) {
    this.tx = new TrunkSender(runtime.mixer.maxTalkers);
  }
}

export interface CascadeParts {
  store: SessionStore;
  nodeId: string;
  /** Where the trunk socket listens (SIP_HOST). */
  host: string;
  meetings: ReadonlyMap<string, MeetingRuntime<CallSession>>;
  events: DomainEvents;
  log: Log;
  bg(p: Promise<unknown>): void;
}

export class Cascade {
  private socket: udp.Socket<"buffer"> | null = null;
  private readonly byRx = new Map<number, Trunked>();
  private readonly bySid = new Map<string, Trunked>();
  /** The meetings with at least one link, for the clock's walk. */
  private linked: Trunked[] = [];
  private nextRx = 1 + Math.floor(Math.random() * 0x7fffffff);
  private readonly header = new TrunkHeader();
  private readonly stops: (() => void)[] = [];
  /** Trunk packets received and sent, refused (unknown meeting or source, bad header). */
  rx = 0;
  tx = 0;
  refused = 0;

  constructor(private readonly parts: CascadeParts) {}

  /** Opens the trunk socket and follows the node's meetings. */
  async start(): Promise<void> {
    const onPacket = (buf: Buffer, port: number, address: string) => this.onPacket(buf, port, address);
    this.socket = await Bun.udpSocket({
      hostname: this.parts.host,
      port: 0,
      socket: {
        error() {},
        data(_s, buf, port, address) {
          try {
            onPacket(buf, port, address);
          } catch (err) {
            console.error("mixer: trunk handler failed:", err);
          }
        },
      },
    });
    const { events } = this.parts;
    this.stops.push(
      events.on("meeting.started", (e) => this.started(e.meetingSid)),
      events.on("meeting.ended", (e) => this.ended(e.meetingSid)),
    );
  }

  /** Idempotent. */
  stop(): void {
    for (const s of this.stops.splice(0)) s();
    for (const sid of [...this.bySid.keys()]) this.ended(sid);
    this.socket?.close();
    this.socket = null;
  }

  /** Peers of a meeting mixed here (node ids), for logs and tests. */
  peersOf(meetingSid: string): string[] {
    return this.bySid.get(meetingSid)?.links.map((l) => l.peer) ?? [];
  }

  private message(step: TrunkMessage["step"], t: Trunked): TrunkMessage {
    return {
      type: "trunk",
      meetingSid: t.runtime.meetingSid,
      step,
      fromNodeId: this.parts.nodeId,
      address: this.parts.host,
      port: this.socket?.port ?? 0,
      rxId: t.rxId,
    };
  }

  private started(meetingSid: string): void {
    const runtime = this.parts.meetings.get(meetingSid);
    if (!runtime || !this.socket || this.bySid.has(meetingSid)) return;
    const rxId = this.nextRx;
    this.nextRx = this.nextRx >= 0xffffffff ? 1 : this.nextRx + 1;
    const t = new Trunked(rxId, runtime);
    this.byRx.set(rxId, t);
    this.bySid.set(meetingSid, t);
    // Everyone mixing the meeting answers; alone, nobody does (the owner's first caller).
    this.parts.bg(this.parts.store.control.sendToMeeting(this.message("hello", t)));
  }

  private ended(meetingSid: string): void {
    const t = this.bySid.get(meetingSid);
    if (!t) return;
    this.bySid.delete(meetingSid);
    this.byRx.delete(t.rxId);
    for (const l of t.links) this.parts.bg(this.parts.store.control.send(l.peer, this.message("bye", t)));
    t.links = [];
    this.linked = this.linked.filter((x) => x !== t);
  }

  /** A trunk step from another node. */
  onMessage(raw: TrunkMessage): void {
    const parsed = trunkMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.parts.log.warn(`bad trunk message: ${logSafe(parsed.error.issues[0]?.message ?? "invalid")}`);
      return;
    }
    const m = parsed.data;
    if (m.fromNodeId === this.parts.nodeId) return;
    const t = this.bySid.get(m.meetingSid);
    // Not mixed here (any more): our own hello, when it starts here, makes the link.
    if (!t || t.runtime.ended) return;
    let link = t.links.find((l) => l.peer === m.fromNodeId);
    if (m.step === "bye") {
      if (link) this.unlink(t, link);
      return;
    }
    if (!link) {
      link = new Link(m.fromNodeId, m.address, m.port, m.rxId, t.tx.lanes);
      const mixer = t.runtime.mixer;
      for (const lane of link.lanes) {
        const slot = mixer.addSlot({ codec: "G722", linear: true, send: false, member: true, role: "participant", input: lane });
        if (slot >= 0) link.slots.push(slot);
      }
      t.links.push(link);
      if (t.links.length === 1) this.linked.push(t);
      this.parts.log.info(
        { meeting_sid: m.meetingSid, node: m.fromNodeId },
        `meeting ${m.meetingSid}: trunk to ${m.fromNodeId} (${m.address}:${m.port})`,
      );
    } else {
      // The peer started the meeting again (a new id): what its lanes held is stale.
      if (link.peerRxId !== m.rxId) for (const lane of link.lanes) lane.reset();
      link.address = m.address;
      link.port = m.port;
      link.peerRxId = m.rxId;
    }
    if (m.step === "hello") this.parts.bg(this.parts.store.control.send(m.fromNodeId, this.message("ack", t)));
  }

  private unlink(t: Trunked, link: Link): void {
    for (const s of link.slots) t.runtime.remove(s);
    t.links = t.links.filter((l) => l !== link);
    if (t.links.length === 0) this.linked = this.linked.filter((x) => x !== t);
    this.parts.log.info(
      { meeting_sid: t.runtime.meetingSid, node: link.peer },
      `meeting ${t.runtime.meetingSid}: trunk to ${link.peer} closed`,
    );
  }

  /** After every meeting is mixed: each linked meeting's local talkers go to its peers. */
  afterMix(): void {
    const socket = this.socket;
    if (socket === null) return;
    const linked = this.linked;
    for (let i = 0; i < linked.length; i++) {
      const t = linked[i] as Trunked;
      const mixer = t.runtime.mixer;
      if (mixer.activeCount === 0) continue;
      const n = t.tx.prepare(mixer);
      for (let k = 0; k < n; k++) {
        for (let j = 0; j < t.links.length; j++) {
          const link = t.links[j] as Link;
          socket.send(t.tx.packet(mixer, k, link.peerRxId), link.port, link.address);
          this.tx++;
        }
      }
    }
  }

  private onPacket(buf: Uint8Array, port: number, address: string): void {
    const h = this.header;
    if (!readTrunkHeader(buf, h)) {
      this.refused++;
      return;
    }
    const t = this.byRx.get(h.receiverId);
    if (t === undefined) {
      this.refused++;
      return;
    }
    const links = t.links;
    for (let j = 0; j < links.length; j++) {
      const link = links[j] as Link;
      if (link.port !== port || link.address !== address) continue;
      const lane = link.lanes[h.lane];
      if (lane === undefined) break;
      lane.push(buf, h);
      this.rx++;
      return;
    }
    this.refused++;
  }
}
