/**
 * Keypad commands inside a meeting: which key sequence means which command, for whom.
 * The bindings come from the call's effective attributes, so a room that moves
 * `call_mute_dtmf_binding` to `*0` changes that key for calls into that room only.
 */
import { ATTRIBUTES, type Attributes, type Role, roleIn } from "@conf/call-flow";

export const KEYPAD_COMMANDS = [
  "self_mute",
  "meeting_mute",
  "qa",
  "lock",
  "hold",
  "tones",
  "count",
  "instructions",
  "moh_next",
  "recording",
  "drop",
] as const;
export type KeypadCommand = (typeof KEYPAD_COMMANDS)[number];

/** The attribute that binds each command. */
export const COMMAND_BINDING = {
  self_mute: "call_mute_dtmf_binding",
  meeting_mute: "conference_mute_dtmf_binding",
  qa: "conference_qa_dtmf_binding",
  lock: "conference_lock_dtmf_binding",
  hold: "conference_hold_dtmf_binding",
  tones: "conference_entryexittones_dtmf_binding",
  count: "call_participantsnumber_dtmf_binding",
  instructions: "call_instructions_dtmf_binding",
  moh_next: "call_moh_dtmf_binding",
  recording: "recording_dtmf_binding",
  drop: "conference_drop_dtmf_binding",
} as const satisfies Record<KeypadCommand, keyof Attributes>;

/** Whether `role` may use `command` (from the attribute schema's role letters). */
export function mayUse(command: KeypadCommand, role: Role): boolean {
  const spec = ATTRIBUTES[COMMAND_BINDING[command]];
  return roleIn("roles" in spec ? spec.roles : "hpl", role);
}

/** The commands `role` may use, in menu order, with their keys. */
export function commandsFor(attributes: Attributes, role: Role): { command: KeypadCommand; keys: string }[] {
  return KEYPAD_COMMANDS.filter((c) => mayUse(c, role)).map((command) => ({
    command,
    keys: attributes[COMMAND_BINDING[command]],
  }));
}

/**
 * Inter-digit timeout by default, ms. People pressing `*` then `6` from a menu they are
 * reading take 2 s and more between keys; 1.5 s dropped those commands.
 */
export const DEFAULT_INTERDIGIT_MS = 3000;

export type KeypadResult = { kind: "command"; command: KeypadCommand } | { kind: "pending" } | { kind: "none" };

/**
 * Matches a stream of keys against the bindings. A sequence that is a binding and the
 * start of no other fires at once; one that is both (`*` and `*6`) waits for the next
 * key or for the inter-digit timeout; keys that lead nowhere are dropped without
 * disturbing the call.
 * @example
 * const m = new KeypadMatcher(attributes);
 * m.feed("*", now); m.feed("6", now); // { kind: "command", command: "self_mute" }
 */
export class KeypadMatcher {
  private readonly bindings = new Map<string, KeypadCommand>();
  private readonly prefixes = new Set<string>();
  private buffer = "";
  private lastAt = 0;

  constructor(
    attributes: Attributes,
    /** Inter-digit timeout, ms. */
    readonly timeoutMs = DEFAULT_INTERDIGIT_MS,
  ) {
    for (const command of KEYPAD_COMMANDS) {
      const keys = attributes[COMMAND_BINDING[command]];
      if (!keys || this.bindings.has(keys)) continue; // first binding of a sequence wins
      this.bindings.set(keys, command);
      for (let i = 1; i < keys.length; i++) this.prefixes.add(keys.slice(0, i));
    }
  }

  /** Feeds one key pressed at `now` (ms). */
  feed(key: string, now: number): KeypadResult {
    if (this.buffer && now - this.lastAt > this.timeoutMs) {
      const late = this.expire();
      if (late) {
        // The previous sequence completed by timeout; this key starts a new one.
        const next = this.feed(key, now);
        return next.kind === "command" ? next : late;
      }
    }
    this.lastAt = now;
    let seq = this.buffer + key;
    if (!this.bindings.has(seq) && !this.prefixes.has(seq)) {
      // Leads nowhere: restart from this key alone.
      seq = key;
      if (!this.bindings.has(seq) && !this.prefixes.has(seq)) {
        this.buffer = "";
        return { kind: "none" };
      }
    }
    const command = this.bindings.get(seq);
    if (command && !this.prefixes.has(seq)) {
      this.buffer = "";
      return { kind: "command", command };
    }
    this.buffer = seq;
    return { kind: "pending" };
  }

  /** Call when time passes without keys: a pending sequence that is a binding fires after the timeout. */
  poll(now: number): KeypadResult {
    if (!this.buffer || now - this.lastAt <= this.timeoutMs) return { kind: "none" };
    return this.expire() ?? { kind: "none" };
  }

  private expire(): KeypadResult | null {
    const command = this.bindings.get(this.buffer);
    this.buffer = "";
    return command ? { kind: "command", command } : null;
  }
}
