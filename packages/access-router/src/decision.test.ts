import { describe, expect, test } from "bun:test";
import { REFUSAL_PROMPTS, REFUSAL_REASONS, type RefusalReason, type RefusalResponse, refusalResponse } from "./decision.ts";

describe("refusalResponse", () => {
  const cases: { name: string; input: RefusalReason; expected: RefusalResponse }[] = [
    {
      name: "unknown number: 404, not in service",
      input: "unknown_number",
      expected: { sipStatus: 404, sipReason: "Not Found", prompt: "number_not_in_service", retry: false },
    },
    {
      name: "no call flow: 480, unavailable",
      input: "no_call_flow",
      expected: { sipStatus: 480, sipReason: "Temporarily Unavailable", prompt: "service_unavailable", retry: false },
    },
    {
      name: "wrong code: try again",
      input: "unknown_code",
      expected: { sipStatus: 403, sipReason: "Forbidden", prompt: "invalid_code", retry: true },
    },
    {
      name: "room not reachable through this number: try again",
      input: "room_not_reachable",
      expected: { sipStatus: 403, sipReason: "Forbidden", prompt: "code_not_valid_for_number", retry: true },
    },
    {
      name: "locked meeting: told and let go",
      input: "locked",
      expected: { sipStatus: 403, sipReason: "Forbidden", prompt: "meeting_locked", retry: false },
    },
  ];
  for (const c of cases) test(c.name, () => expect(refusalResponse(c.input)).toEqual(c.expected));

  test("every reason has a response and a distinct prompt", () => {
    expect(cases.map((c) => c.input).sort()).toEqual([...REFUSAL_REASONS].sort());
    const prompts = REFUSAL_REASONS.map((r) => refusalResponse(r).prompt);
    expect(new Set(prompts).size).toBe(REFUSAL_REASONS.length);
    for (const p of prompts) expect(REFUSAL_PROMPTS).toContain(p);
  });
});
