/**
 * What happens to calls and meetings on a mixer node, as typed events: the parts of the
 * node tell each other through these, and they are what a live event stream publishes.
 * Where the node has the API's object (a joined call, a meeting) the event carries it,
 * shaped as the API returns it.
 */
import type { Call, Meeting } from "@conf/session-store";

export type DomainEvent =
  /** A caller was answered and hears the IVR (the access-code prompt, or its join). */
  | {
      type: "call.entered";
      callSid: string;
      /** The account the dialed number belongs to. */
      accountSid: string;
      numberSrc: string;
      numberDst: string;
      /** The caller's display name, as its phone sent it. */
      name: string;
      codecs: string;
      /** When the INVITE arrived. */
      dateCreated: Date;
    }
  /** A caller is in a meeting's mix. */
  | { type: "call.joined"; callSid: string; meetingSid: string; call: Call }
  /** A joined caller's mute, hold or role changed. */
  | { type: "call.updated"; callSid: string; meetingSid: string; call: Call }
  /** A caller is gone from this node (hung up, refused, timed out); `meetingSid` if it had joined. */
  | {
      type: "call.left";
      callSid: string;
      meetingSid: string | null;
      reason: string;
      /** The Call as the API showed it last, if it had joined (the call is out of the registry by now). */
      call?: Call | null;
    }
  /** A meeting is mixed on this node from now on (its first caller joined here). */
  | { type: "meeting.started"; meetingSid: string; meeting: Meeting }
  /** The meeting's lock, hold, participant_muted or recording changed. */
  | { type: "meeting.updated"; meetingSid: string; meeting: Meeting }
  /** The meeting is over on this node; whoever talked stopped with it. */
  | { type: "meeting.ended"; meetingSid: string; reason: string }
  /** The mixer started mixing a caller as a talker (emitted on the change, not per tick). */
  | { type: "talker.started"; meetingSid: string; callSid: string }
  | { type: "talker.stopped"; meetingSid: string; callSid: string };

export type DomainEventType = DomainEvent["type"];
export type DomainEventOf<T extends DomainEventType> = Extract<DomainEvent, { type: T }>;

type Listener = (event: DomainEvent) => void;

/**
 * A small synchronous emitter. A listener that throws is reported to `onError` and the
 * others still run: an observer must never break the clock or a call's hang-up.
 */
export class DomainEvents {
  private readonly byType = new Map<DomainEventType | "*", Listener[]>();

  constructor(private readonly onError: (err: unknown, event: DomainEvent) => void = () => {}) {}

  /** Calls `fn` for every event of `type` ("*": every event); returns the unsubscribe. */
  on<T extends DomainEventType>(type: T, fn: (event: DomainEventOf<T>) => void): () => void;
  on(type: "*", fn: Listener): () => void;
  on(type: DomainEventType | "*", fn: (event: never) => void): () => void {
    const listener = fn as Listener;
    const list = this.byType.get(type) ?? [];
    // Copy on write: an emit in progress keeps the list it started with.
    this.byType.set(type, [...list, listener]);
    return () => {
      const now = this.byType.get(type) ?? [];
      this.byType.set(
        type,
        now.filter((l) => l !== listener),
      );
    };
  }

  /** Whether anyone listens to `type`: callers on the clock path skip building events nobody reads. */
  wants(type: DomainEventType): boolean {
    return (this.byType.get(type)?.length ?? 0) > 0 || (this.byType.get("*")?.length ?? 0) > 0;
  }

  emit(event: DomainEvent): void {
    const own = this.byType.get(event.type);
    if (own) for (const l of own) this.call(l, event);
    const any = this.byType.get("*");
    if (any) for (const l of any) this.call(l, event);
  }

  private call(listener: Listener, event: DomainEvent): void {
    try {
      listener(event);
    } catch (err) {
      this.onError(err, event);
    }
  }
}
