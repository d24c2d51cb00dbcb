/**
 * The read-only configuration the router needs, as an interface that `@conf/db`
 * implements (`createConfigReader(database)`, whose `ConfigReader` extends this port, so
 * the shapes are declared here only). Keep them plain and minimal: any config source
 * must be able to give them.
 */
import type { AttributeOverrides, Role } from "@conf/call-flow";

/**
 * One configuration level: its SID, the attribute keys it overrides and the call flow
 * it names. `attributes` null or `{}` means "overrides nothing"; `callFlowSid` null
 * means "names no call flow" (the next level down decides). Matches `Level` of
 * `@conf/call-flow` so it can be passed to `resolve` as is.
 */
export interface ConfigLevel {
  readonly sid: string;
  readonly attributes?: AttributeOverrides | null;
  readonly callFlowSid?: string | null;
}

/** The account (one per conference endpoint); the lowest level that may name a call flow. */
export type AccountLevel = ConfigLevel;

/** A DID group; its DIDs inherit its call flow and attributes. */
export type DidGroupLevel = ConfigLevel;

/** A DID (phone number) of an account. */
export interface DidLevel extends ConfigLevel {
  /** The number as stored, digits only (e.g. `15162065919`). */
  readonly phonenumber: string;
}

/** A meeting room; its attributes override every other level. */
export interface MeetingRoomLevel extends ConfigLevel {
  readonly name: string;
  /** When set, the room is reachable only through DIDs of this DID group. */
  readonly didGroupSid: string | null;
}

/**
 * What a dialed number belongs to: a DID (with its DID group, if any) or, when no DID
 * matches exactly, the longest trunk prefix the dialed digits start with.
 */
export type NumberMatch =
  | { readonly kind: "did"; readonly account: AccountLevel; readonly did: DidLevel; readonly didGroup: DidGroupLevel | null }
  | { readonly kind: "prefix"; readonly account: AccountLevel; readonly prefix: string };

/** The room an access code opens and the role it grants. */
export interface AccessCodeMatch {
  readonly meetingRoom: MeetingRoomLevel;
  readonly role: Role;
}

/**
 * Config lookups the router reads through. Both methods resolve to `null` when nothing
 * matches; they reject only on infrastructure failure (the router does not cache that).
 * @example
 * const config: ConfigPort = createConfigReader(database); // from @conf/db
 */
export interface ConfigPort {
  /**
   * The DID whose phone number equals `digits` exactly, else the account of the longest
   * trunk prefix that `digits` starts with, else null. `digits` is already normalized
   * (only 0-9, at least one).
   */
  findNumber(digits: string): Promise<NumberMatch | null>;
  /** The meeting room of `accountSid` that has access code `code`, with the code's role. */
  findAccessCode(accountSid: string, code: string): Promise<AccessCodeMatch | null>;
}
