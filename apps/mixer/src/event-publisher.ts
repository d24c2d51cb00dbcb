/**
 * The node's domain events that the live store cannot see for itself, recorded in the
 * public event log (the SSE stream and the webhooks read it). Joins, leaves, updates and
 * meeting starts and ends are logged by the store as it makes those changes; who is
 * talking only the mixer knows.
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

/**
 * Records call.entered, talker.started and talker.stopped in the store's event log. Off
 * the clock's path: the store call is not awaited, and its failure only goes to
 * `onError`. Returns the function that stops it.
 */
export function publishNodeEvents(
  events: DomainEvents,
  meetings: MeetingAccounts,
  calls: CallObjects,
  store: Pick<SessionStore, "recordEvent">,
  onError: (err: unknown) => void,
): () => void {
  const record = (type: "talker.started" | "talker.stopped", meetingSid: string, callSid: string) => {
    const meeting = meetings.get(meetingSid);
    if (!meeting) return;
    // The node has the call's object: passing it saves the store a read per talker change.
    const data = calls.get(callSid)?.toApi() ?? undefined;
    store.recordEvent({ type, account_sid: meeting.accountSid, call_sid: callSid, meeting_sid: meetingSid, data }).catch(onError);
  };
  const stops = [
    events.on("call.entered", (e) => {
      // Not in /calls yet (it joins no meeting until its code is right), so the event
      // carries the Call's fields as far as they are known: no meeting, no role yet.
      const data = {
        access_code: "",
        account_sid: e.accountSid,
        call_sid: e.callSid,
        codecs: e.codecs,
        date_created: e.dateCreated.toISOString(),
        date_joined: null,
        direction: "In",
        duration: 0,
        gain_level: 0,
        meeting_room_sid: null,
        meeting_sid: null,
        muted: false,
        name: "",
        number_dst: e.numberDst,
        number_src: e.numberSrc,
        on_hold: false,
        role: null,
      };
      store
        .recordEvent({
          type: "call.entered",
          account_sid: e.accountSid,
          call_sid: e.callSid,
          meeting_sid: null,
          data,
          at: e.dateCreated,
        })
        .catch(onError);
    }),
    events.on("talker.started", (e) => record("talker.started", e.meetingSid, e.callSid)),
    events.on("talker.stopped", (e) => record("talker.stopped", e.meetingSid, e.callSid)),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}
