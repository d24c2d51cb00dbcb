/**
 * The call-flow attribute schema: one table drives validation, the API docs and the
 * keypad menu. Values are strings, as in the reference.
 */

/** Roles of a caller, in the reference's spelling. */
export const ROLES = ["host", "participant", "listener"] as const;
export type Role = (typeof ROLES)[number];

/** The one-letter form of each role used in role sets (`hpl`). */
export const ROLE_LETTER: Record<Role, "h" | "p" | "l"> = { host: "h", participant: "p", listener: "l" };

/** The kinds of value an attribute may hold. */
export const ATTRIBUTE_KINDS = [
  "onoff",
  "roleset",
  "keys",
  "seconds",
  "enum",
  "name",
  "list",
  "sipaddr",
  "text",
  "code",
] as const;
export type AttributeKind = (typeof ATTRIBUTE_KINDS)[number];

export interface AttributeSpec {
  /** What the value looks like. */
  readonly kind: AttributeKind;
  /** The seed's default (the Call Flow sample's value). */
  readonly default: string;
  /** For `enum`: the allowed values. */
  readonly values?: readonly string[];
  /** For keypad bindings: which roles may use the command (`hpl` letters). */
  readonly roles?: string;
  /** One line: what it does. */
  readonly meaning: string;
}

/** Every attribute of the seed's Call Flow sample, in alphabetical order. */
export const ATTRIBUTES = {
  call_announceparticipantcount: {
    kind: "roleset",
    default: "hpl",
    meaning: "callers of these roles hear how many others are in the meeting when they join",
  },
  call_instructions_dtmf_binding: {
    kind: "keys",
    default: "*4",
    roles: "hpl",
    meaning: "hear the keypad commands your role may use",
  },
  call_moh_dtmf_binding: {
    kind: "keys",
    default: "0",
    roles: "hpl",
    meaning: "while hearing music on hold, switch to the next source in call_moh_list",
  },
  call_moh_list: {
    kind: "list",
    default: "legacy,beep,default,custom",
    meaning: "music-on-hold sources that call_moh_dtmf_binding cycles through",
  },
  call_mute_dtmf_binding: {
    kind: "keys",
    default: "*6",
    roles: "hp",
    meaning: "toggle your own mute",
  },
  call_participantsnumber_dtmf_binding: {
    kind: "keys",
    default: "*2",
    roles: "hpl",
    meaning: "hear the number of callers in the meeting",
  },
  conference_drop_dtmf_binding: {
    kind: "keys",
    default: "92",
    roles: "h",
    meaning: "end the meeting for everyone after a goodbye prompt",
  },
  conference_entryexittones_dtmf_binding: {
    kind: "keys",
    default: "*8",
    roles: "h",
    meaning: "toggle entry and exit tones for this meeting",
  },
  conference_entrytones: { kind: "onoff", default: "on", meaning: "tone to the meeting when a caller joins" },
  conference_exittones: { kind: "onoff", default: "on", meaning: "tone to the meeting when a caller leaves" },
  conference_greeting_enabled: { kind: "onoff", default: "on", meaning: "welcome prompt when the call is answered" },
  conference_hold_dtmf_binding: {
    kind: "keys",
    default: "*3",
    roles: "h",
    meaning: "put participants and listeners on hold or take them off",
  },
  conference_language: { kind: "code", default: "EN", meaning: "language of the prompts" },
  conference_lock_dtmf_binding: {
    kind: "keys",
    default: "*7",
    roles: "h",
    meaning: "lock or unlock the meeting; a locked meeting refuses new participants and listeners",
  },
  conference_moh: { kind: "name", default: "default", meaning: "which music-on-hold source" },
  conference_moh_enabled: {
    kind: "onoff",
    default: "on",
    meaning: "music on hold while alone or waiting for the start",
  },
  conference_mute_dtmf_binding: {
    kind: "keys",
    default: "*5",
    roles: "h",
    meaning: "toggle the meeting's participant_muted between false and true",
  },
  conference_qa_dtmf_binding: {
    kind: "keys",
    default: "*1",
    roles: "hp",
    meaning: "question queue: a muted participant raises a hand; a host lets the next raised hand speak",
  },
  conference_rollcall: {
    kind: "onoff",
    default: "off",
    meaning: "callers record their name on entry",
  },
  conference_rollcall_onenter: {
    kind: "onoff",
    default: "off",
    meaning: "play the recorded name to the meeting when the caller joins",
  },
  conference_rollcall_onexit: {
    kind: "onoff",
    default: "off",
    meaning: "play the recorded name to the meeting when the caller leaves",
  },
  conference_singlemember: {
    kind: "onoff",
    default: "off",
    meaning: "a caller who is alone hears that they are the only one in the meeting",
  },
  conference_start_how: {
    kind: "enum",
    default: "first",
    values: ["first", "moderator"],
    meaning: "first: the meeting starts when anyone joins; moderator: non-hosts wait until a host joins",
  },
  conference_start_wait: {
    kind: "seconds",
    default: "360",
    meaning: "how long a non-host waits for the start before a goodbye prompt and hang-up",
  },
  conference_stop_how: {
    kind: "enum",
    default: "moderator",
    values: ["moderator", "last"],
    meaning:
      "moderator: when the last host leaves the rest are dropped after conference_stop_wait; last: ends with the last caller",
  },
  conference_stop_wait: { kind: "seconds", default: "180", meaning: "grace period for moderator stops" },
  recording_addr: {
    kind: "sipaddr",
    default: "15162065121@10.1.10.190",
    meaning: "where remote recordings go",
  },
  recording_dtmf_binding: {
    kind: "keys",
    default: "*9",
    roles: "h",
    meaning: "start or stop recording the meeting's mix",
  },
  recording_metadata: { kind: "text", default: "custom", meaning: "label stored with the recording" },
  recording_method: {
    kind: "enum",
    default: "remote",
    values: ["remote", "local"],
    meaning: "local: write the mix to a file on the mixer node; remote: send the mix as a SIP call to recording_addr",
  },
  recording_stop_how: {
    kind: "enum",
    default: "last",
    values: ["last", "moderator"],
    meaning: "recording stops when the last caller (or the last host) leaves",
  },
} as const satisfies Record<string, AttributeSpec>;

export type AttributeKey = keyof typeof ATTRIBUTES;
export const ATTRIBUTE_KEYS = Object.keys(ATTRIBUTES).sort() as AttributeKey[];

/** A full set of attribute values (every key present). */
export type Attributes = Record<AttributeKey, string>;
/** The keys one level overrides. */
export type AttributeOverrides = Partial<Attributes>;

/** The seed's Call Flow sample attributes: the base of all four built-in flows. */
export const DEFAULT_ATTRIBUTES: Readonly<Attributes> = Object.freeze(
  Object.fromEntries(ATTRIBUTE_KEYS.map((k) => [k, ATTRIBUTES[k].default])) as Attributes,
);

export function isAttributeKey(key: string): key is AttributeKey {
  return Object.hasOwn(ATTRIBUTES, key);
}
