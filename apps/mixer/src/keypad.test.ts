import { describe, expect, test } from "bun:test";
import { DEFAULT_ATTRIBUTES } from "@conf/call-flow";
import { mixerEnvSchema } from "./env.ts";
import { commandsFor, KeypadMatcher, mayUse } from "./keypad.ts";

const attrs = { ...DEFAULT_ATTRIBUTES };

function press(m: KeypadMatcher, keys: string, start = 0, gap = 100) {
  const out: string[] = [];
  let t = start;
  for (const k of keys) {
    const r = m.feed(k, t);
    if (r.kind === "command") out.push(r.command);
    t += gap;
  }
  return { out, t };
}

describe("KeypadMatcher", () => {
  const cases: { name: string; keys: string; expected: string[]; overrides?: Partial<typeof attrs> }[] = [
    { name: "self mute *6", keys: "*6", expected: ["self_mute"] },
    { name: "drop 92", keys: "92", expected: ["drop"] },
    {
      name: "every default binding",
      keys: "*1*2*3*4*5*6*7*8*90",
      expected: ["qa", "count", "hold", "instructions", "meeting_mute", "self_mute", "lock", "tones", "recording", "moh_next"],
    },
    { name: "noise before a binding is dropped", keys: "55*6", expected: ["self_mute"] },
    { name: "unbound star sequence is ignored", keys: "*#", expected: [] },
    { name: "a room override moves the key", keys: "*0*6", expected: ["self_mute"], overrides: { call_mute_dtmf_binding: "*0" } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const m = new KeypadMatcher({ ...attrs, ...c.overrides });
      expect(press(m, c.keys).out).toEqual(c.expected);
    });
  }

  test("bindings sharing a prefix (* and *6) are told apart by the inter-digit timeout", () => {
    const m = new KeypadMatcher({ ...attrs, conference_lock_dtmf_binding: "*" }, 1000);
    expect(m.feed("*", 0)).toEqual({ kind: "pending" });
    expect(m.poll(500)).toEqual({ kind: "none" });
    expect(m.poll(1200)).toEqual({ kind: "command", command: "lock" });
    expect(m.feed("*", 2000)).toEqual({ kind: "pending" });
    expect(m.feed("6", 2100)).toEqual({ kind: "command", command: "self_mute" });
  });

  test("a late key after a pending binding fires the pending one first", () => {
    const m = new KeypadMatcher({ ...attrs, conference_lock_dtmf_binding: "*" }, 1000);
    m.feed("*", 0);
    expect(m.feed("5", 3000)).toEqual({ kind: "command", command: "lock" });
  });
});

describe("inter-digit timeout", () => {
  test("by default keys of one command 2 s (and 2.9 s) apart still make the command", () => {
    const m = new KeypadMatcher(attrs);
    expect(m.feed("*", 0)).toEqual({ kind: "pending" });
    expect(m.poll(2000)).toEqual({ kind: "none" });
    expect(m.feed("6", 2000)).toEqual({ kind: "command", command: "self_mute" });
    expect(m.feed("*", 10_000)).toEqual({ kind: "pending" });
    expect(m.feed("6", 12_900)).toEqual({ kind: "command", command: "self_mute" });
  });

  test("past the timeout the sequence is dropped and the late key starts over", () => {
    const m = new KeypadMatcher(attrs);
    m.feed("*", 0);
    expect(m.feed("6", 3100)).toEqual({ kind: "none" });
  });

  test("KEYPAD_INTERDIGIT_MS: 3000 by default, configurable, bounded", () => {
    expect(mixerEnvSchema.parse({}).KEYPAD_INTERDIGIT_MS).toBe(3000);
    expect(mixerEnvSchema.parse({ KEYPAD_INTERDIGIT_MS: "5000" }).KEYPAD_INTERDIGIT_MS).toBe(5000);
    expect(mixerEnvSchema.safeParse({ KEYPAD_INTERDIGIT_MS: "0" }).success).toBe(false);
    expect(mixerEnvSchema.safeParse({ KEYPAD_INTERDIGIT_MS: "abc" }).success).toBe(false);
    const m = new KeypadMatcher(attrs, 5000);
    m.feed("*", 0);
    expect(m.feed("6", 4500)).toEqual({ kind: "command", command: "self_mute" });
  });
});

describe("roles", () => {
  test("hosts may use everything, listeners cannot mute or lock", () => {
    expect(commandsFor(attrs, "host").length).toBe(11);
    expect(mayUse("lock", "participant")).toBe(false);
    expect(mayUse("self_mute", "listener")).toBe(false);
    expect(mayUse("count", "listener")).toBe(true);
    expect(mayUse("qa", "participant")).toBe(true);
  });
});
