import { ROLE_LETTER, type Role } from "./attributes.ts";

/** Whether a role set string (`hpl` letters) contains `role`. */
export function roleIn(roleSet: string, role: Role): boolean {
  return roleSet.includes(ROLE_LETTER[role]);
}

/** Keypad commands bound by attributes, with the roles that may use each. */
export const KEYPAD_COMMANDS = [
  "call_mute_dtmf_binding",
  "conference_mute_dtmf_binding",
  "conference_qa_dtmf_binding",
  "conference_lock_dtmf_binding",
  "conference_hold_dtmf_binding",
  "conference_entryexittones_dtmf_binding",
  "call_participantsnumber_dtmf_binding",
  "call_instructions_dtmf_binding",
  "call_moh_dtmf_binding",
  "recording_dtmf_binding",
  "conference_drop_dtmf_binding",
] as const;
export type KeypadCommand = (typeof KEYPAD_COMMANDS)[number];
