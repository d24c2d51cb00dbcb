/**
 * The filter grammar under hostile input: every parse and evaluation stays within a
 * generous time budget, whatever the pattern (the old RegExp translation of `like`
 * backtracked exponentially on `%a%a%a%a%b`), and the matcher agrees with a RegExp
 * oracle on inputs small enough for the oracle to be safe.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { compilePredicate, FILTER_OPERATORS, likeMatcher, type MemoryFieldMap, parseFilter } from "./filter.ts";

const FIELDS: MemoryFieldMap = { name: "string", duration: "number", muted: "boolean", date_joined: "date" };
const LONG = "a".repeat(255);
const OBJECTS = [
  { name: LONG, duration: 5, muted: false, date_joined: "2021-09-03T14:11:55.000Z" },
  { name: `${"ab".repeat(127)}c`, duration: 7, muted: true, date_joined: "2021-09-04T00:00:00.000Z" },
  { name: "é".repeat(255), duration: 0, muted: false, date_joined: null },
];
/** Per input; far above the microseconds a linear matcher needs, far below the old seconds. */
const BUDGET_MS = 50;

/** The old translation, as an oracle for short inputs only. */
function oracle(pattern: string, ci: boolean): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "\\" && i + 1 < pattern.length) re += (pattern[++i] as string).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    else if (c === "%") re += "[\\s\\S]*";
    else if (c === "_") re += "[\\s\\S]";
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, ci ? "iu" : "u");
}

const patternUnit = fc.constantFrom("a", "b", "A", "%", "_", "\\", "é", "c");
/** Patterns made to hurt a backtracking matcher: many `%` and `_` around near-misses. */
const adversarial = fc.oneof(
  fc.integer({ min: 1, max: 60 }).map((n) => `${"%a".repeat(n)}%b`),
  fc.integer({ min: 1, max: 60 }).map((n) => `${"%_".repeat(n)}b`),
  fc.integer({ min: 1, max: 40 }).map((n) => `%${"a_".repeat(n)}%${"a".repeat(n)}b%`),
  fc.string({ minLength: 1, maxLength: 200, unit: patternUnit }),
);

function quote(v: string): string {
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

const condition = fc.oneof(
  adversarial.chain((p) => fc.constantFrom(`name like ${quote(p)}`, `name ilike ${quote(p)}`, `date_joined like ${quote(p)}`)),
  fc
    .record({
      f: fc.constantFrom("name", "duration", "muted", "date_joined"),
      op: fc.constantFrom(...FILTER_OPERATORS),
      v: fc.string({ maxLength: 20 }),
    })
    .map(({ f, op, v }) =>
      op === "in" || op === "notin" ? `${f} ${op} (${quote(v)}, ${quote(v + v)})` : `${f} ${op} ${quote(v)}`,
    ),
  fc.string({ maxLength: 80 }),
);

describe("filter fuzz", () => {
  test("parse + compile + evaluate against 255-character values stays within the budget per input", () => {
    let slowest = 0;
    fc.assert(
      fc.property(fc.array(condition, { minLength: 1, maxLength: 6 }), (conds) => {
        const input = conds.join(" and ");
        const start = performance.now();
        const ast = parseFilter(input);
        if (ast.ok) {
          const p = compilePredicate(ast.value, FIELDS);
          if (p.ok) for (const o of OBJECTS) p.value(o);
        }
        const ms = performance.now() - start;
        slowest = Math.max(slowest, ms);
        if (ms > BUDGET_MS) throw new Error(`${ms.toFixed(1)} ms for ${JSON.stringify(input)}`);
      }),
      { numRuns: 400 },
    );
    expect(slowest).toBeLessThan(BUDGET_MS);
  });

  test("the reported pattern: 255 a against %a%a%a%a%b is a quick no", () => {
    const ast = parseFilter('name like "%a%a%a%a%b"');
    if (!ast.ok) throw new Error(ast.error);
    const p = compilePredicate(ast.value, FIELDS);
    if (!p.ok) throw new Error(p.error);
    const start = performance.now();
    expect(p.value({ name: LONG })).toBe(false);
    expect(p.value({ name: `${LONG}b` })).toBe(true);
    expect(performance.now() - start).toBeLessThan(BUDGET_MS);
  });

  test("the matcher agrees with the RegExp translation on short inputs", () => {
    const text = fc.string({ maxLength: 12, unit: fc.constantFrom("a", "b", "A", "B", "%", "_", "\\", "é", "É", "😀") });
    fc.assert(
      fc.property(fc.string({ maxLength: 8, unit: patternUnit }), text, fc.boolean(), (pattern, value, ci) => {
        expect(likeMatcher(pattern, ci)(value)).toBe(oracle(pattern, ci).test(value));
      }),
      { numRuns: 3000 },
    );
  });
});
