/**
 * SIP transaction layer over UDP (RFC 3261 section 17, with the RFC 6026 "Accepted"
 * states), hand-written: no library implements SIP transactions well for Bun, and the
 * timers and retransmission rules are the part that must be exactly right.
 *
 * The layer knows nothing about sockets: it sends through a function and is driven
 * by the UA core, which feeds it parsed messages. Every timer is owned by one
 * transaction and cleared when that transaction ends or the layer closes.
 */
import type { SipRequest, SipResponse } from "./message.ts";

/** Timer values in milliseconds (RFC 3261 table 4). */
export interface SipTimers {
  /** RTT estimate, default 500 ms. */
  readonly t1: number;
  /** Maximum retransmit interval of non-INVITE requests and INVITE responses, default 4000 ms. */
  readonly t2: number;
  /** Maximum time a message stays in the network, default 5000 ms. */
  readonly t4: number;
  /** INVITE client transaction timeout, default 64*T1. */
  readonly timerB: number;
  /** Wait time for response retransmissions after a non-2xx to our INVITE, default 32000 ms. */
  readonly timerD: number;
  /** Non-INVITE client transaction timeout, default 64*T1. */
  readonly timerF: number;
  /** Wait time for ACK of our final INVITE response (and of our 2xx), default 64*T1. */
  readonly timerH: number;
  /** Wait time for ACK retransmissions, default T4. */
  readonly timerI: number;
  /** Wait time for non-INVITE request retransmissions, default 64*T1. */
  readonly timerJ: number;
  /** Wait time for non-INVITE response retransmissions, default T4. */
  readonly timerK: number;
  /** Lifetime of an accepted INVITE server transaction (RFC 6026), default 64*T1. */
  readonly timerL: number;
  /** Lifetime of an accepted INVITE client transaction (RFC 6026), default 64*T1. */
  readonly timerM: number;
}

/** Timer overrides; unset derived timers follow the given T1/T4. */
export type SipTimerOptions = Partial<SipTimers>;

/**
 * Fills in RFC 3261 defaults; timers derived from T1 or T4 follow overridden values.
 *
 * @example resolveTimers({ t1: 20 }) // timerH = 1280
 */
export function resolveTimers(opts: SipTimerOptions = {}): SipTimers {
  const t1 = opts.t1 ?? 500;
  const t2 = opts.t2 ?? Math.max(4000, t1);
  const t4 = opts.t4 ?? 5000;
  return {
    t1,
    t2,
    t4,
    timerB: opts.timerB ?? 64 * t1,
    timerD: opts.timerD ?? Math.max(32000, 64 * t1),
    timerF: opts.timerF ?? 64 * t1,
    timerH: opts.timerH ?? 64 * t1,
    timerI: opts.timerI ?? t4,
    timerJ: opts.timerJ ?? 64 * t1,
    timerK: opts.timerK ?? t4,
    timerL: opts.timerL ?? 64 * t1,
    timerM: opts.timerM ?? 64 * t1,
  };
}

/** A UDP address. */
export interface Destination {
  readonly address: string;
  readonly port: number;
}

/** Sends one datagram; must not throw (the UA wraps the socket). */
export type SendFn = (data: Uint8Array, dest: Destination) => void;

/** RFC 3261 magic cookie that marks RFC 3261 branch parameters. */
export const MAGIC_COOKIE = "z9hG4bK";

/**
 * The server transaction key of a request (RFC 3261 17.2.3): branch + sent-by + method,
 * ACK counting as INVITE; RFC 2543 requests without the magic cookie fall back to
 * Call-ID, From tag, CSeq number, Request-URI and the whole top Via.
 */
export function serverTransactionKey(req: SipRequest): string {
  const top = req.via[0];
  const method = req.method === "ACK" ? "INVITE" : req.method;
  if (!top) return `none|${req.callId}|${method}`;
  if (top.branch?.startsWith(MAGIC_COOKIE)) return `${top.branch}|${top.host}:${top.port ?? ""}|${method}`;
  return `2543|${req.callId}|${req.from.tag ?? ""}|${req.cseq.seq}|${req.uri}|${top.raw}|${method}`;
}

/** The client transaction key of a response (RFC 3261 17.1.3): top Via branch + CSeq method. */
export function clientTransactionKey(branch: string, method: string): string {
  return `${branch}|${method}`;
}

/** A transaction of RFC 3261 17 whose states are `S`; each kind's state machine ends in "terminated". */
abstract class Transaction<S extends string> {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  terminated = false;
  abstract state: S | "terminated";

  constructor(
    protected readonly layer: TransactionLayer,
    readonly key: string,
  ) {}

  protected setTimer(name: string, ms: number, fn: () => void): void {
    this.clearTimer(name);
    const handle = setTimeout(() => {
      this.timers.delete(name);
      if (this.terminated) return;
      try {
        fn();
      } catch (err) {
        this.layer.reportError(err, `timer ${name}`);
      }
    }, ms);
    this.timers.set(name, handle);
  }

  protected clearTimer(name: string): void {
    const h = this.timers.get(name);
    if (h !== undefined) {
      clearTimeout(h);
      this.timers.delete(name);
    }
  }

  /** Ends the transaction: state "terminated", timers cleared, removed from the layer. Idempotent. */
  terminate(): void {
    this.state = "terminated";
    if (this.terminated) return;
    this.terminated = true;
    for (const h of this.timers.values()) clearTimeout(h);
    this.timers.clear();
    this.layer.remove(this);
  }
}

// ---------------------------------------------------------------------------
// Server transactions

export type InviteServerState = "proceeding" | "completed" | "confirmed" | "accepted" | "terminated";

export interface InviteServerCallbacks {
  /** No ACK came for our 2xx within timer H (RFC 3261 13.3.1.4): the session should end. */
  onAckTimeout?(): void;
  /** No ACK came for our non-2xx final response within timer H. */
  onNon2xxAckTimeout?(): void;
}

/**
 * INVITE server transaction (RFC 3261 17.2.1 + RFC 6026). Also retransmits our 2xx
 * until the ACK arrives (13.3.1.4), so the UA core only calls `respond` once.
 */
export class InviteServerTransaction extends Transaction<InviteServerState> {
  state: InviteServerState = "proceeding";
  private last: Uint8Array | null = null;
  lastStatus = 0;
  /** True once an ACK for our 2xx arrived. */
  acked = false;

  constructor(
    layer: TransactionLayer,
    key: string,
    readonly request: SipRequest,
    readonly destination: Destination,
    private readonly callbacks: InviteServerCallbacks = {},
  ) {
    super(layer, key);
  }

  /** Sends a response; ignored once a final response was sent. */
  respond(bytes: Uint8Array, status: number): boolean {
    if (this.state !== "proceeding") return false;
    this.last = bytes;
    this.lastStatus = status;
    this.layer.send(bytes, this.destination);
    const t = this.layer.timers;
    if (status >= 200 && status < 300) {
      this.state = "accepted";
      this.retransmit("G", t.t1);
      this.setTimer("H", t.timerH, () => {
        this.clearTimer("G");
        if (!this.acked) this.callbacks.onAckTimeout?.();
      });
      this.setTimer("L", Math.max(t.timerL, t.timerH), () => this.terminate());
    } else if (status >= 300) {
      this.state = "completed";
      this.retransmit("G", t.t1);
      this.setTimer("H", t.timerH, () => {
        this.callbacks.onNon2xxAckTimeout?.();
        this.terminate();
      });
    }
    return true;
  }

  private retransmit(name: string, interval: number): void {
    this.setTimer(name, interval, () => {
      if (this.last && (this.state === "completed" || (this.state === "accepted" && !this.acked))) {
        this.layer.counters.retransmissions++;
        this.layer.counters.responseRetransmissions++;
        this.layer.send(this.last, this.destination);
        this.retransmit(name, Math.min(interval * 2, this.layer.timers.t2));
      }
    });
  }

  /** A retransmission of the INVITE: resend the last response, if any. */
  receiveRetransmission(): void {
    if (this.last && this.state !== "confirmed") this.layer.send(this.last, this.destination);
  }

  /**
   * An ACK that matched this transaction. For a non-2xx it is absorbed (Confirmed,
   * then timer I); for a 2xx (some UAs reuse the branch) it confirms the 2xx.
   * Returns which of the two it was.
   */
  receiveAck(): "non-2xx" | "2xx" | "ignored" {
    if (this.state === "completed") {
      this.state = "confirmed";
      this.clearTimer("G");
      this.clearTimer("H");
      this.setTimer("I", this.layer.timers.timerI, () => this.terminate());
      return "non-2xx";
    }
    if (this.state === "accepted") {
      const first = !this.acked;
      this.ack2xx();
      return first ? "2xx" : "ignored";
    }
    return "ignored";
  }

  /** The ACK for our 2xx arrived (usually as its own transaction): stop retransmitting. */
  ack2xx(): void {
    this.acked = true;
    this.clearTimer("G");
    this.clearTimer("H");
  }
}

export type NonInviteServerState = "trying" | "proceeding" | "completed" | "terminated";

/** Non-INVITE server transaction (RFC 3261 17.2.2). */
export class NonInviteServerTransaction extends Transaction<NonInviteServerState> {
  state: NonInviteServerState = "trying";
  private last: Uint8Array | null = null;

  constructor(
    layer: TransactionLayer,
    key: string,
    readonly request: SipRequest,
    readonly destination: Destination,
  ) {
    super(layer, key);
  }

  respond(bytes: Uint8Array, status: number): boolean {
    if (this.state === "completed" || this.state === "terminated") return false;
    this.last = bytes;
    this.layer.send(bytes, this.destination);
    if (status < 200) this.state = "proceeding";
    else {
      this.state = "completed";
      this.setTimer("J", this.layer.timers.timerJ, () => this.terminate());
    }
    return true;
  }

  /** A retransmitted request gets the cached response (nothing while Trying). */
  receiveRetransmission(): void {
    if (this.last) this.layer.send(this.last, this.destination);
  }
}

// ---------------------------------------------------------------------------
// Client transactions

export interface ClientCallbacks {
  /** Every response that reaches the TU (for INVITE: each 1xx, each 2xx, the first non-2xx). */
  onResponse(res: SipResponse): void;
  /** Timer B / F fired: no final response. */
  onTimeout(): void;
}

export type InviteClientState = "calling" | "proceeding" | "completed" | "accepted" | "terminated";

/** INVITE client transaction (RFC 3261 17.1.1 + RFC 6026). */
export class InviteClientTransaction extends Transaction<InviteClientState> {
  state: InviteClientState = "calling";
  /** Times timer A re-sent the INVITE (the load generator reports it per call). */
  retransmissions = 0;
  private ack: Uint8Array | null = null;

  /**
   * @param buildAck builds the ACK for a non-2xx final response (same branch, RFC 3261 17.1.1.3).
   * @param timerB overrides the layer's timer B (ms) for this transaction, e.g. a re-INVITE
   *   the app will not wait 64*T1 for.
   */
  constructor(
    layer: TransactionLayer,
    readonly branch: string,
    private readonly requestBytes: Uint8Array,
    readonly destination: Destination,
    private readonly callbacks: ClientCallbacks,
    private readonly buildAck: (res: SipResponse) => Uint8Array,
    private readonly timerB?: number,
  ) {
    super(layer, clientTransactionKey(branch, "INVITE"));
  }

  /** Sends the INVITE and starts timers A and B. */
  start(): void {
    this.layer.send(this.requestBytes, this.destination);
    this.retransmitA(this.layer.timers.t1);
    this.setTimer("B", this.timerB ?? this.layer.timers.timerB, () => {
      if (this.state === "calling" || this.state === "proceeding") {
        this.callbacks.onTimeout();
        this.terminate();
      }
    });
  }

  private retransmitA(interval: number): void {
    this.setTimer("A", interval, () => {
      if (this.state !== "calling") return;
      this.retransmissions++;
      this.layer.counters.retransmissions++;
      this.layer.send(this.requestBytes, this.destination);
      // Timer A doubles without the T2 cap (RFC 3261 17.1.1.2).
      this.retransmitA(interval * 2);
    });
  }

  receiveResponse(res: SipResponse): void {
    const s = res.status;
    if (s < 200) {
      if (this.state === "calling" || this.state === "proceeding") {
        this.state = "proceeding";
        this.clearTimer("A");
        this.callbacks.onResponse(res);
      }
      return;
    }
    if (s < 300) {
      if (this.state === "calling" || this.state === "proceeding") {
        this.state = "accepted";
        this.clearTimer("A");
        this.clearTimer("B");
        this.setTimer("M", this.layer.timers.timerM, () => this.terminate());
      }
      // Retransmitted 2xx go to the TU too: it re-sends its ACK.
      if (this.state === "accepted") this.callbacks.onResponse(res);
      return;
    }
    if (this.state === "calling" || this.state === "proceeding") {
      this.state = "completed";
      this.clearTimer("A");
      this.clearTimer("B");
      this.ack = this.buildAck(res);
      this.layer.send(this.ack, this.destination);
      this.setTimer("D", this.layer.timers.timerD, () => this.terminate());
      this.callbacks.onResponse(res);
    } else if (this.state === "completed" && this.ack) {
      this.layer.send(this.ack, this.destination);
    }
  }
}

export type NonInviteClientState = "trying" | "proceeding" | "completed" | "terminated";

/** Non-INVITE client transaction (RFC 3261 17.1.2), e.g. our BYE or CANCEL. */
export class NonInviteClientTransaction extends Transaction<NonInviteClientState> {
  state: NonInviteClientState = "trying";

  constructor(
    layer: TransactionLayer,
    readonly branch: string,
    readonly method: string,
    private readonly requestBytes: Uint8Array,
    readonly destination: Destination,
    private readonly callbacks: ClientCallbacks,
  ) {
    super(layer, clientTransactionKey(branch, method));
  }

  /** Sends the request and starts timers E and F. */
  start(): void {
    this.layer.send(this.requestBytes, this.destination);
    this.retransmitE(this.layer.timers.t1);
    this.setTimer("F", this.layer.timers.timerF, () => {
      this.callbacks.onTimeout();
      this.terminate();
    });
  }

  private retransmitE(interval: number): void {
    this.setTimer("E", interval, () => {
      if (this.state !== "trying" && this.state !== "proceeding") return;
      this.layer.counters.retransmissions++;
      this.layer.send(this.requestBytes, this.destination);
      const t2 = this.layer.timers.t2;
      this.retransmitE(this.state === "proceeding" ? t2 : Math.min(interval * 2, t2));
    });
  }

  receiveResponse(res: SipResponse): void {
    if (this.state === "completed" || this.state === "terminated") return;
    if (res.status < 200) {
      this.state = "proceeding";
      this.callbacks.onResponse(res);
      return;
    }
    this.state = "completed";
    this.clearTimer("E");
    this.clearTimer("F");
    this.setTimer("K", this.layer.timers.timerK, () => this.terminate());
    this.callbacks.onResponse(res);
  }
}

export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;
export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;

/**
 * Owns all live transactions, their timers and the send function.
 *
 * @example
 * const layer = new TransactionLayer((b, d) => socket.send(b, d.port, d.address), resolveTimers());
 */
export class TransactionLayer {
  readonly server = new Map<string, ServerTransaction>();
  readonly client = new Map<string, ClientTransaction>();
  /**
   * Datagrams sent and received (the UA counts what it feeds in), timer retransmissions
   * (A, E, G), and of those the final responses to INVITEs re-sent by timer G.
   */
  readonly counters = { sent: 0, received: 0, retransmissions: 0, responseRetransmissions: 0 };
  private closed = false;

  constructor(
    private readonly sendFn: SendFn,
    readonly timers: SipTimers,
    private readonly onError: (err: unknown, context: string) => void = () => {},
  ) {}

  send(data: Uint8Array, dest: Destination): void {
    if (this.closed) return;
    this.counters.sent++;
    try {
      this.sendFn(data, dest);
    } catch (err) {
      this.reportError(err, "send");
    }
  }

  reportError(err: unknown, context: string): void {
    try {
      this.onError(err, context);
    } catch {
      // An error reporter that throws must not break the transaction layer.
    }
  }

  addServer(tx: ServerTransaction): void {
    if (this.closed) return;
    this.server.set(tx.key, tx);
  }

  addClient(tx: ClientTransaction): void {
    if (this.closed) return;
    this.client.set(tx.key, tx);
  }

  remove(tx: Transaction<string>): void {
    if (this.server.get(tx.key) === tx) this.server.delete(tx.key);
    if (this.client.get(tx.key) === tx) this.client.delete(tx.key);
  }

  /** Terminates every transaction (clearing all timers). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const tx of [...this.server.values(), ...this.client.values()]) tx.terminate();
    this.server.clear();
    this.client.clear();
  }
}
