/**
 * The live objects (Meeting, Call) in the reference's exact JSON shape, the inputs and
 * results of store operations, control messages and observer events.
 */
import type { Role } from "@conf/call-flow";

/** Values of a meeting's `participant_muted`, in the reference's spelling (strings, not booleans). */
export const PARTICIPANT_MUTED_VALUES = ["false", "relaxed", "true"] as const;
export type ParticipantMuted = (typeof PARTICIPANT_MUTED_VALUES)[number];

/** Values of a call's `direction`. */
export const DIRECTIONS = ["In", "Out"] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Attendee counts per role, as in the reference's Meeting sample. */
export interface Attendees {
  hosts: number;
  listeners: number;
  participants: number;
}

/**
 * A Meeting exactly as the API returns it (JSON-ready: `c.json(meeting)`). `duration` is computed when read (whole
 * seconds since `date_created`). `meeting_room_sid` is null for ad-hoc meetings (an
 * `open` call flow's code that belongs to no room, or a `direct_*` number).
 */
export interface Meeting {
  account_sid: string;
  attendees: Attendees;
  date_created: string;
  duration: number;
  locked: boolean;
  meeting_room_sid: string | null;
  meeting_sid: string;
  on_hold: string;
  participant_muted: ParticipantMuted;
  recording: boolean;
}

/**
 * A Call exactly as the API returns it. `duration` is computed when read (whole seconds
 * since `date_created`, the moment the call was placed).
 */
export interface Call {
  access_code: string;
  account_sid: string;
  call_sid: string;
  codecs: string;
  date_created: string;
  date_joined: string;
  direction: Direction;
  duration: number;
  gain_level: number;
  meeting_room_sid: string | null;
  meeting_sid: string;
  muted: boolean;
  name: string;
  number_dst: string;
  number_src: string;
  on_hold: boolean;
  role: Role;
}

/**
 * A Call at the access-code prompt: answered, not in a meeting yet (the mixer's lobby).
 * The reference says the Call object exists "for each conference user" and that
 * `meeting_sid` and `meeting_room_sid` are "filled only after the caller enters the
 * meeting": null here, and so are `date_joined` and `role` (no meeting, no role yet);
 * `access_code` is empty until a code is accepted. The same `call_sid` carries on when
 * the caller joins: the store turns this record into the joined Call in one step.
 */
export interface LobbyCall extends Omit<Call, "date_joined" | "meeting_room_sid" | "meeting_sid" | "role"> {
  date_joined: null;
  meeting_room_sid: null;
  meeting_sid: null;
  role: null;
}

/** A Call as the API lists it: in a meeting, or still at the access-code prompt. */
export type LiveCall = Call | LobbyCall;

/**
 * Whether a call is at the access-code prompt (no meeting yet).
 * @example if (isLobbyCall(call)) await store.control.send(info.nodeId, { type: "call_hangup", meetingSid: "", callSid })
 */
export function isLobbyCall(call: LiveCall): call is LobbyCall {
  return call.meeting_sid === null;
}

/** The Meeting object's fields in the order the reference lists them (alphabetical). */
export const MEETING_FIELDS = [
  "account_sid",
  "attendees",
  "date_created",
  "duration",
  "locked",
  "meeting_room_sid",
  "meeting_sid",
  "on_hold",
  "participant_muted",
  "recording",
] as const satisfies readonly (keyof Meeting)[];

/** The Call object's fields in the order the reference lists them (alphabetical). */
export const CALL_FIELDS = [
  "access_code",
  "account_sid",
  "call_sid",
  "codecs",
  "date_created",
  "date_joined",
  "direction",
  "duration",
  "gain_level",
  "meeting_room_sid",
  "meeting_sid",
  "muted",
  "name",
  "number_dst",
  "number_src",
  "on_hold",
  "role",
] as const satisfies readonly (keyof Call)[];

/** A meeting with what the store keeps beside the public object. */
export interface MeetingInfo {
  meeting: Meeting;
  /** The key the meeting was created for (room or ad-hoc code, chosen by the router). */
  meetingKey: string;
  /** The mixer node that owns (mixes) the meeting. */
  nodeId: string;
  /** When the owner's lease runs out unless renewed, ms since the epoch. */
  leaseExpiresAt: number;
}

/** A call with what the store keeps beside the public object. */
export interface CallInfo {
  call: LiveCall;
  /**
   * The mixer node that carries the call's media (may differ from the meeting owner
   * during a hand-over); for a call at the prompt, the node that answered it.
   */
  nodeId: string;
}

/** A point in time: a Date, ms since the epoch, or an ISO 8601 string. */
export type TimeInput = Date | number | string;

/** The caller's side of a join: what the mixer knows about the call. */
export interface CallInput {
  /** Defaults to a new random UUID. */
  call_sid?: string;
  access_code: string;
  codecs: string;
  number_src: string;
  number_dst: string;
  name: string;
  direction: Direction;
  role: Role;
  /** When the call was placed (INVITE received); defaults to now. */
  date_created?: TimeInput;
  /** Initial own mute; default false. */
  muted?: boolean;
  /** Initial own hold; default false. */
  on_hold?: boolean;
  /** Default 0. */
  gain_level?: number;
}

/** Input of {@link SessionStore.enter}: a call answered and at the access-code prompt. */
export interface EnterInput {
  /** Defaults to a new random UUID; the join later passes the same one. */
  call_sid?: string;
  /** The account the dialed number belongs to. */
  account_sid: string;
  codecs: string;
  number_src: string;
  number_dst: string;
  name: string;
  direction: Direction;
  /** When the call was placed (INVITE received); defaults to now. */
  date_created?: TimeInput;
  /** The mixer node that answered it (and renews its lease with its meetings'). */
  nodeId: string;
}

/** Meeting state applied only when the join creates the meeting. */
export interface InitialMeeting {
  /** Default `"false"`. */
  participant_muted?: ParticipantMuted;
  /** Role set (`hpl` letters); default `""`. */
  on_hold?: string;
}

/** Input of {@link SessionStore.join}. */
export interface JoinInput {
  /**
   * Identifies the meeting: all joins with the same key share one meeting while it
   * runs. Global within the store's prefix, so it should include the account (the
   * access router builds it).
   */
  meetingKey: string;
  accountSid: string;
  meetingRoomSid: string | null;
  /** The mixer node performing the join; becomes the owner when the join creates the meeting. */
  nodeId: string;
  call: CallInput;
  initialMeeting?: InitialMeeting;
}

/** Why a join was refused. */
export const JOIN_REFUSALS = ["locked"] as const;
export type JoinRefusal = (typeof JOIN_REFUSALS)[number];

/** Result of {@link SessionStore.join}. */
export type JoinResult =
  | {
      ok: true;
      meeting: Meeting;
      call: Call;
      /** Whether this join created the meeting. */
      created: boolean;
      /** The node that owns the meeting: not the joining node when another node created it. */
      ownerNodeId: string;
    }
  | { ok: false; reason: JoinRefusal; meeting: Meeting };

/** Result of {@link SessionStore.leave}. */
export interface LeaveResult {
  /** The call as it was when it left. */
  call: Call;
  /** The meeting after the leave (zero attendees when it ended). */
  meeting: Meeting;
  /** Whether this was the last call, so the meeting is gone. */
  ended: boolean;
}

/** Fields of a Call that may change while it runs. */
export interface CallPatch {
  muted?: boolean;
  on_hold?: boolean;
  name?: string;
  gain_level?: number;
}

/** Fields of a Meeting that may change while it runs. */
export interface MeetingPatch {
  locked?: boolean;
  /** Role set of `hpl` letters; stored in canonical `hpl` order. */
  on_hold?: string;
  participant_muted?: ParticipantMuted;
  recording?: boolean;
}

/** Result of {@link SessionStore.endMeeting}. */
export interface EndMeetingResult {
  /** The meeting as it was just before it ended. */
  meeting: Meeting;
  /** The calls that were in it (all deleted now). */
  calls: Call[];
  /** The node that owned it (to hang the calls up). */
  nodeId: string;
}

/** Result of {@link SessionStore.renewLease}. */
export interface RenewResult {
  /** How many of the node's meetings were renewed. */
  renewed: number;
  /** Meetings of the node whose lease had already run out: removed, the node should drop them. */
  lost: string[];
}

/** A call as a mixer node knows it, to write back after the store lost it. */
export interface RestoreCall extends CallInput {
  call_sid: string;
  /** When it joined the meeting; default its `date_created`. */
  date_joined?: TimeInput;
}

/**
 * A meeting a mixer node is still mixing, as that node knows it, with the calls it
 * carries: what {@link SessionStore.restore} writes back after Redis lost its data.
 */
export interface RestoreMeeting {
  meetingKey: string;
  meeting_sid: string;
  account_sid: string;
  meeting_room_sid: string | null;
  date_created: TimeInput;
  locked: boolean;
  on_hold: string;
  participant_muted: ParticipantMuted;
  recording: boolean;
  calls: RestoreCall[];
}

/** Result of {@link SessionStore.restore} for one meeting. */
export interface RestoreResult {
  meetingSid: string;
  /** `created`: written anew; `merged`: another node had restored it, our missing calls were added. */
  status: "created" | "merged";
  /** Calls written (those already in the store are left as they are). */
  added: number;
  /**
   * Whether new callers of the meeting key now join this meeting. False only when a
   * meeting created for the key before this one runs there (it keeps the key).
   */
  tookKey: boolean;
}

/** Why a call left the access-code prompt without joining, as told to observers. */
export const LOBBY_LEAVE_REASONS = ["left", "lease_expired"] as const;
export type LobbyLeaveReason = (typeof LOBBY_LEAVE_REASONS)[number];

/** Why a meeting ended, as told to observers. */
export const MEETING_END_REASONS = ["last_left", "ended", "lease_expired"] as const;
export type MeetingEndReason = (typeof MEETING_END_REASONS)[number];

/**
 * What happened, for observers (typed union, discriminated by `type`). Every event has
 * `account_sid` and `at` (ISO 8601). The store publishes them itself after each
 * operation; do not publish them again.
 */
export type SessionEvent =
  | { type: "meeting_started"; account_sid: string; at: string; meeting: Meeting }
  | { type: "meeting_updated"; account_sid: string; at: string; meeting: Meeting; changes: MeetingPatch }
  | {
      type: "meeting_ended";
      account_sid: string;
      at: string;
      meeting: Meeting;
      reason: MeetingEndReason;
      /** Calls removed with the meeting (empty when the last one left on its own). */
      call_sids: string[];
    }
  | { type: "call_joined"; account_sid: string; at: string; call: Call; meeting: Meeting }
  | { type: "call_updated"; account_sid: string; at: string; call: Call; changes: CallPatch }
  | { type: "call_left"; account_sid: string; at: string; call: Call; meeting: Meeting }
  /** A call was answered and is at the access-code prompt (see {@link LobbyCall}). */
  | { type: "call_entered"; account_sid: string; at: string; call: LobbyCall }
  /**
   * A call left from the access-code prompt without joining: hung up, refused, or its
   * node's lease ran out (`lease_expired`). A call that joins leaves no such event: it
   * becomes the joined call (`call_joined`).
   */
  | { type: "lobby_left"; account_sid: string; at: string; call: LobbyCall; reason: LobbyLeaveReason };

export type SessionEventType = SessionEvent["type"];

/**
 * A command from the API (or any node) to the mixer node owning a meeting (typed
 * union, discriminated by `type`). Each carries the new value, already stored; the
 * node applies it to the running mix. `call_hangup` with an empty `meetingSid` is for
 * a call at the access-code prompt, sent to the node that answered it.
 */
export type ControlMessage =
  | { type: "call_mute"; meetingSid: string; callSid: string; muted: boolean }
  | { type: "call_hold"; meetingSid: string; callSid: string; on_hold: boolean }
  | { type: "call_hangup"; meetingSid: string; callSid: string }
  | { type: "meeting_participant_muted"; meetingSid: string; participant_muted: ParticipantMuted; origin?: string }
  | { type: "meeting_on_hold"; meetingSid: string; on_hold: string; origin?: string }
  | { type: "meeting_lock"; meetingSid: string; locked: boolean; origin?: string }
  | { type: "meeting_end"; meetingSid: string; origin?: string }
  /** A host joined on another node mixing the meeting (cascade): callers waiting for one are let in. */
  | { type: "meeting_start"; meetingSid: string; origin?: string }
  | HandoverMessage
  | TrunkMessage;

/**
 * Node to node: a meeting mixed by more than one node (a cascade) links their mixes by
 * UDP trunks. `hello` goes to every node of the meeting when a node starts mixing it
 * (sendToMeeting), `ack` answers it, `bye` says the node stopped mixing it. `rxId` is the
 * sender's id for the meeting in the trunk packets it receives; `address`/`port` where
 * it receives them. The store only carries it; the mixer validates it.
 */
export interface TrunkMessage {
  type: "trunk";
  meetingSid: string;
  step: "hello" | "ack" | "bye";
  fromNodeId: string;
  address: string;
  port: number;
  rxId: number;
}

/**
 * The steps of handing a call over from the node that answered it to the node that mixes
 * its meeting. `ping` carries nothing: a node sends it to learn whether another node
 * still listens on its channel (failover; the receiver ignores it).
 */
export const HANDOVER_STEPS = ["offer", "ready", "refused", "commit", "abort", "digit", "bye", "ended", "ping"] as const;
export type HandoverStep = (typeof HANDOVER_STEPS)[number];

/**
 * Node to node: one step of a call's hand-over. `body` belongs to the mixer (it
 * validates it); the store only carries it. `meetingSid` is empty while the meeting
 * does not exist yet.
 */
export interface HandoverMessage {
  type: "handover";
  meetingSid: string;
  step: HandoverStep;
  handoverId: string;
  /** The node sending this step, where the reply goes. */
  fromNodeId: string;
  body: unknown;
}

/** Every control message `type`, for validation of received messages. */
export const CONTROL_MESSAGE_TYPES = [
  "call_mute",
  "call_hold",
  "call_hangup",
  "meeting_participant_muted",
  "meeting_on_hold",
  "meeting_lock",
  "meeting_end",
  "meeting_start",
  "handover",
  "trunk",
] as const satisfies readonly ControlMessage["type"][];

/** Every event `type`, for validation of received events. */
export const SESSION_EVENT_TYPES = [
  "meeting_started",
  "meeting_updated",
  "meeting_ended",
  "call_joined",
  "call_updated",
  "call_left",
  "call_entered",
  "lobby_left",
] as const satisfies readonly SessionEventType[];

/** Stops a subscription. Idempotent. */
export type Unsubscribe = () => Promise<void>;
