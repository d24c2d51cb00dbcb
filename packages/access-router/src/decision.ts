/**
 * What the router tells the mixer: refuse, join a meeting, or prompt for a code.
 * Everything here is plain data (JSON-safe), so a prompt context can be kept with the
 * call and handed to `admit` of any router instance.
 */
import type { AttributeKey, Attributes, AttributeSource, CallFlow, Role } from "@conf/call-flow";
import type { AccountLevel, DidGroupLevel, DidLevel } from "./port.ts";

/** SIP transports a call may arrive on (the Via header's transport, lower case). */
export const TRANSPORTS = ["udp", "tcp", "tls", "ws", "wss"] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** An inbound call as the mixer sees it before anything is decided. */
export interface Inbound {
  /** The Request-URI user part as received; normalized to digits by the router. */
  readonly dialed: string;
  /** The caller (From user part or URI), kept for the call record; not used to decide. */
  readonly caller: string;
  readonly transport: Transport;
}

/** How the dialed number reached the account. */
export type Via =
  | { readonly kind: "did"; readonly didSid: string; readonly phonenumber: string; readonly didGroupSid: string | null }
  | { readonly kind: "prefix"; readonly prefix: string };

/** Why `route` refuses a call. */
export const ROUTE_REFUSAL_REASONS = ["unknown_number", "no_call_flow"] as const;
export type RouteRefusalReason = (typeof ROUTE_REFUSAL_REASONS)[number];

/**
 * Why `admit` refuses a code. `no_call_flow` only if the resolver fails on the levels
 * `route` already accepted, which it does not; it is typed so nothing throws.
 */
export const ADMIT_REFUSAL_REASONS = ["unknown_code", "room_not_reachable", "no_call_flow"] as const;
export type AdmitRefusalReason = (typeof ADMIT_REFUSAL_REASONS)[number];

/**
 * Every refusal the mixer may have to voice: the router's, and `locked`, which the
 * session store returns when a non-host joins a locked meeting.
 */
export const REFUSAL_REASONS = ["unknown_number", "no_call_flow", "unknown_code", "room_not_reachable", "locked"] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface Refusal<R extends RefusalReason = RefusalReason> {
  readonly kind: "refuse";
  readonly reason: R;
}

/** Join this meeting now. The session store creates it atomically if it is not running. */
export interface JoinDecision {
  readonly kind: "join";
  /**
   * The live meeting's identity: `room:<meetingRoomSid>`, `adhoc:<accountSid>:<code>`
   * (open flow, unknown code) or `direct:<accountSid>:<dialed digits>` (direct flows:
   * one meeting per dialed number).
   */
  readonly meetingKey: string;
  readonly role: Role;
  readonly accountSid: string;
  /** The room, or null for direct and ad-hoc meetings. */
  readonly meetingRoomSid: string | null;
  /** The code the caller entered (the Call object's `access_code`), null for direct flows. */
  readonly accessCode: string | null;
  readonly callFlow: CallFlow;
  /** Effective attributes of this call, meeting room level included when there is a room. */
  readonly attributes: Attributes;
  /** For each attribute, the level and SID it came from. */
  readonly sources: Record<AttributeKey, AttributeSource>;
  readonly via: Via;
  /** The normalized dialed digits. */
  readonly dialed: string;
}

/** The config levels `admit` resolves against, captured by `route`. */
export interface PromptLevels {
  readonly account: AccountLevel;
  readonly didGroup: DidGroupLevel | null;
  readonly did: DidLevel | null;
}

/**
 * A call that must enter an access code (`open`, `secured`). Its attributes are
 * resolved without a room (call flow -> account -> DID group -> DID), which is what the
 * greeting and the prompt go by.
 */
export interface PromptContext {
  readonly accountSid: string;
  readonly dialed: string;
  readonly caller: string;
  readonly transport: Transport;
  readonly via: Via;
  readonly callFlow: CallFlow;
  readonly attributes: Attributes;
  readonly sources: Record<AttributeKey, AttributeSource>;
  readonly levels: PromptLevels;
}

export interface PromptDecision {
  readonly kind: "prompt";
  readonly context: PromptContext;
}

/** The answer of `route`. */
export type RouteDecision = Refusal<RouteRefusalReason> | JoinDecision | PromptDecision;

/** The answer of `admit`. */
export type AdmitDecision = Refusal<AdmitRefusalReason> | JoinDecision;

/** Most attempts at entering a code before the caller hears goodbye (design: 3 tries). */
export const MAX_CODE_ATTEMPTS = 3;

/** Prompts the mixer plays for refusals. */
export const REFUSAL_PROMPTS = [
  "number_not_in_service",
  "service_unavailable",
  "invalid_code",
  "code_not_valid_for_number",
  "meeting_locked",
] as const;
export type RefusalPrompt = (typeof REFUSAL_PROMPTS)[number];

/** How the mixer voices a refusal. */
export interface RefusalResponse {
  /** Final response to the INVITE when the call is not answered yet. */
  readonly sipStatus: number;
  readonly sipReason: string;
  /** Prompt to play when the call is already answered (then hang up unless `retry`). */
  readonly prompt: RefusalPrompt;
  /** Ask for a code again (while attempts remain, see {@link MAX_CODE_ATTEMPTS}). */
  readonly retry: boolean;
}

const RESPONSES: Record<RefusalReason, RefusalResponse> = {
  unknown_number: { sipStatus: 404, sipReason: "Not Found", prompt: "number_not_in_service", retry: false },
  // A number with no call flow is a provisioning gap that may be fixed: temporary.
  no_call_flow: { sipStatus: 480, sipReason: "Temporarily Unavailable", prompt: "service_unavailable", retry: false },
  unknown_code: { sipStatus: 403, sipReason: "Forbidden", prompt: "invalid_code", retry: true },
  // Another code may well be valid for this number, so it counts as a wrong try.
  room_not_reachable: { sipStatus: 403, sipReason: "Forbidden", prompt: "code_not_valid_for_number", retry: true },
  locked: { sipStatus: 403, sipReason: "Forbidden", prompt: "meeting_locked", retry: false },
};

/**
 * The SIP status and the prompt for a refusal reason.
 * @example refusalResponse("unknown_number") // { sipStatus: 404, sipReason: "Not Found", prompt: "number_not_in_service", retry: false }
 */
export function refusalResponse(reason: RefusalReason): RefusalResponse {
  return RESPONSES[reason];
}
