/**
 * The node's domain events that the live store cannot see for itself, recorded in the
 * public event log (the SSE stream and the webhooks read it). Callers entering the
 * prompt, joins, leaves, updates and meeting starts and ends are logged by the store as
 * it makes those changes; who is talking only the mixer knows.
 */
import type { Call, SessionStore } from "@conf/session-store";
import type { DomainEvents } from "./domain-events.ts";

/** What the publisher needs of the node's meetings: each one's account. */
export interface MeetingAccounts {
  get(meetingSid: string): { readonly accountSid: string } | undefined;
}

/** What the publisher needs of the node's calls: each one as the API shows it. */
export interface CallObjects {
  get(callSid: string): { toApi(): Call | null } | undefined;
}

/** How talker changes become events. */
export interface TalkerEventOptions {
  /**
   * A caller's talking state is reported once it has held this long, ms: the mixer's
   * loudest-talker choice flickers from frame to frame, and an event per flicker costs
   * a store write each (measured: at 1,000 attendees and 10 talkers, 65 ms ticks instead
   * of 12). Default 300.
   */
  readonly holdMs?: number;
  /** How often held changes are looked for, ms. Default 100. */
  readonly checkMs?: number;
  /** Clock, ms. Default `performance.now`. */
  readonly now?: () => number;
}

interface TalkerState {
  meetingSid: string;
  /** What the mixer says now. */
  talking: boolean;
  /** Since when it has said so, ms. */
  since: number;
  /** What was last reported. */
  reported: boolean;
}

/**
 * Records talker.started and talker.stopped in the store's event log (call.entered is
 * the store's own, from the lobby record: lobby-records.ts). Off
 * the clock's path: a talker change only updates a map entry; a timer reports the
 * changes that held (`holdMs`), and the store call is not awaited (its failure only goes
 * to `onError`). Returns the function that stops it.
 */
export function publishNodeEvents(
  events: DomainEvents,
  meetings: MeetingAccounts,
  calls: CallObjects,
  store: Pick<SessionStore, "recordEvent">,
  onError: (err: unknown) => void,
  options: TalkerEventOptions = {},
): () => void {
  const holdMs = options.holdMs ?? 300;
  const now = options.now ?? (() => performance.now());
  const talkers = new Map<string, TalkerState>();
  const record = (type: "talker.started" | "talker.stopped", meetingSid: string, callSid: string, left?: Call | null) => {
    const meeting = meetings.get(meetingSid);
    if (!meeting) return;
    // The node has the call's object: passing it saves the store a read per talker change,
    // and keeps the log in order: a read would let the talker's last event land after
    // the call.left and meeting.ended of the leave that follows at once.
    const data = left ?? calls.get(callSid)?.toApi() ?? undefined;
    store.recordEvent({ type, account_sid: meeting.accountSid, call_sid: callSid, meeting_sid: meetingSid, data }).catch(onError);
  };
  const stops = [
    events.on("talker.started", (e) => note(e.meetingSid, e.callSid, true)),
    events.on("talker.stopped", (e) => note(e.meetingSid, e.callSid, false)),
    events.on("call.left", (e) => {
      // A talker that leaves stops talking, whether or not the mixer said so first.
      const t = talkers.get(e.callSid);
      talkers.delete(e.callSid);
      if (t?.reported) record("talker.stopped", t.meetingSid, e.callSid, e.call);
    }),
  ];
  function note(meetingSid: string, callSid: string, talking: boolean): void {
    const t = talkers.get(callSid);
    if (!t) {
      if (talking) talkers.set(callSid, { meetingSid, talking, since: now(), reported: false });
      return;
    }
    if (t.talking !== talking) {
      t.talking = talking;
      t.since = now();
    }
  }
  function flush(): void {
    const t0 = now();
    for (const [callSid, t] of talkers) {
      if (t.talking === t.reported || t0 - t.since < holdMs) continue;
      t.reported = t.talking;
      record(t.talking ? "talker.started" : "talker.stopped", t.meetingSid, callSid);
      if (!t.talking) talkers.delete(callSid);
    }
  }
  const timer = setInterval(flush, options.checkMs ?? 100);
  return () => {
    clearInterval(timer);
    for (const stop of stops) stop();
  };
}
