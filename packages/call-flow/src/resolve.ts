import { ATTRIBUTE_KEYS, type AttributeKey, type AttributeOverrides, type Attributes } from "./attributes.ts";
import type { CallFlow } from "./call-flows.ts";
import { findCallFlow } from "./call-flows.ts";
import type { Result } from "./validate.ts";

export const LEVELS = ["call_flow", "account", "did_group", "did", "meeting_room"] as const;
export type LevelName = (typeof LEVELS)[number];

/** One configuration level: its SID, the keys it overrides and the call flow it names. */
export interface Level {
  readonly sid: string;
  readonly attributes?: AttributeOverrides | null;
  readonly callFlowSid?: string | null;
}

export interface ResolveInput {
  readonly account: Level;
  readonly didGroup?: Level | null;
  readonly did?: Level | null;
  readonly meetingRoom?: Level | null;
  /** The call came through a trunk prefix: the DID and DID group levels do not apply. */
  readonly viaPrefix?: boolean;
  /** Where to look call flows up; the built-ins by default. */
  readonly callFlows?: (sid: string) => CallFlow | undefined;
}

export interface AttributeSource {
  readonly level: LevelName;
  readonly sid: string;
}

export interface Resolved {
  readonly callFlow: CallFlow;
  /** The level that chose the call flow. */
  readonly callFlowFrom: AttributeSource;
  readonly attributes: Attributes;
  readonly sources: Record<AttributeKey, AttributeSource>;
}

export type ResolveError = { reason: "no_call_flow" } | { reason: "unknown_call_flow"; callFlowSid: string };

/**
 * Merges call flow -> account -> DID group -> DID -> meeting room, highest wins, and
 * says for each attribute which level and SID it came from. The call flow is the first
 * one named by DID, then DID group, then account (account only for prefix calls).
 * @example resolve({ account: { sid, callFlowSid: DEFAULT_CALL_FLOW_SID } })
 */
export function resolve(input: ResolveInput): Result<Resolved, ResolveError> {
  const lookup = input.callFlows ?? findCallFlow;
  const did = input.viaPrefix ? null : input.did;
  const didGroup = input.viaPrefix ? null : input.didGroup;
  const chooser: [LevelName, Level | null | undefined][] = [
    ["did", did],
    ["did_group", didGroup],
    ["account", input.account],
  ];
  let callFlow: CallFlow | undefined;
  let callFlowFrom: AttributeSource | undefined;
  for (const [level, l] of chooser) {
    if (l?.callFlowSid) {
      callFlow = lookup(l.callFlowSid);
      if (!callFlow) return { ok: false, error: { reason: "unknown_call_flow", callFlowSid: l.callFlowSid } };
      callFlowFrom = { level, sid: l.sid };
      break;
    }
  }
  if (!callFlow || !callFlowFrom) return { ok: false, error: { reason: "no_call_flow" } };

  const attributes = { ...callFlow.attributes } as Attributes;
  const base: AttributeSource = { level: "call_flow", sid: callFlow.callFlowSid };
  const sources = Object.fromEntries(ATTRIBUTE_KEYS.map((k) => [k, base])) as Record<AttributeKey, AttributeSource>;
  const overrides: [LevelName, Level | null | undefined][] = [
    ["account", input.account],
    ["did_group", didGroup],
    ["did", did],
    ["meeting_room", input.meetingRoom],
  ];
  for (const [level, l] of overrides) {
    if (!l?.attributes) continue;
    for (const key of ATTRIBUTE_KEYS) {
      const v = l.attributes[key];
      if (typeof v === "string") {
        attributes[key] = v;
        sources[key] = { level, sid: l.sid };
      }
    }
  }
  return { ok: true, value: { callFlow, callFlowFrom, attributes, sources } };
}
