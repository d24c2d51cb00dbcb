import { DEFAULT_ATTRIBUTES, type Attributes, type Role } from "./attributes.ts";

export const CALL_FLOW_NAMES = ["secured", "open", "direct_host", "direct_participant"] as const;
export type CallFlowName = (typeof CALL_FLOW_NAMES)[number];

/** How a call flow admits a caller. */
export type Admission =
  /** The code must be one of the account's meeting rooms' codes; it gives room and role. */
  | { kind: "code" }
  /** A room's code as in `code`; any other code joins an ad-hoc meeting keyed by it. */
  | { kind: "code_or_adhoc"; adhocRole: Role }
  /** No prompt: every caller of the number is in one meeting with this role. */
  | { kind: "direct"; role: Role };

export interface CallFlow {
  readonly callFlowSid: string;
  readonly name: CallFlowName;
  readonly attributes: Readonly<Attributes>;
  readonly admission: Admission;
}

/**
 * The four built-in call flows. Their SIDs are stable so configurations survive a
 * re-seed and can be written down in docs and tests.
 */
export const BUILT_IN_CALL_FLOWS: readonly CallFlow[] = Object.freeze([
  {
    callFlowSid: "665bd4c6-7f44-4c46-a467-1e4696f52968",
    name: "secured",
    attributes: DEFAULT_ATTRIBUTES,
    admission: { kind: "code" },
  },
  {
    callFlowSid: "fb2b69b1-6998-4cdc-b04c-a267c585f767",
    name: "open",
    attributes: DEFAULT_ATTRIBUTES,
    admission: { kind: "code_or_adhoc", adhocRole: "participant" },
  },
  {
    callFlowSid: "3c1e0c52-8f0a-4d7e-9a51-2f4b6d1e7a01",
    name: "direct_host",
    attributes: DEFAULT_ATTRIBUTES,
    admission: { kind: "direct", role: "host" },
  },
  {
    callFlowSid: "9d4b2a7e-5c63-4f18-b0e2-7a8c1f3d5e02",
    name: "direct_participant",
    attributes: DEFAULT_ATTRIBUTES,
    admission: { kind: "direct", role: "participant" },
  },
]);

/** The built-in flow a new account starts with. */
export const DEFAULT_CALL_FLOW_SID = BUILT_IN_CALL_FLOWS[0]!.callFlowSid;

export function findCallFlow(sid: string | null | undefined): CallFlow | undefined {
  return sid ? BUILT_IN_CALL_FLOWS.find((f) => f.callFlowSid === sid) : undefined;
}
