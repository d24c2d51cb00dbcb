import { expect, test } from "bun:test";
import fc from "fast-check";
import { type Condition, compilePredicate, FILTER_OPERATORS, parseFilter } from "./filter.ts";

const field = fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}(\.[a-z0-9_]{1,8})?$/);
/** Any text, including quotes, backslashes, spaces, commas and parentheses. */
const text = fc.string({
  maxLength: 12,
  unit: fc.constantFrom("a", "Z", "1", " ", "'", '"', "\\", ",", "(", ")", "%", "_", "é"),
});
const caseOf = (s: string, upper: boolean[]) => [...s].map((c, i) => (upper[i % upper.length] ? c.toUpperCase() : c)).join("");

function render(value: string | null, quote: '"' | "'"): string {
  if (value === null) return "null";
  return quote + value.replace(/[\\"']/g, (c) => `\\${c}`) + quote;
}

const condition = fc.record({
  field,
  op: fc.constantFrom(...FILTER_OPERATORS),
  values: fc.array(fc.option(text, { nil: null }), { minLength: 1, maxLength: 4 }),
  quote: fc.constantFrom('"', "'") as fc.Arbitrary<'"' | "'">,
  upper: fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
  space: fc.constantFrom(" ", "  ", "\t"),
});

test("rendered conditions parse back to what they say (quotes, escapes, keyword case, spacing)", () => {
  fc.assert(
    fc.property(fc.array(condition, { minLength: 1, maxLength: 4 }), (conds) => {
      const parts = conds.map((c) => {
        const op = caseOf(c.op, c.upper);
        if (c.op === "in" || c.op === "notin") {
          return `${c.field}${c.space}${op}${c.space}(${c.values.map((v) => render(v, c.quote)).join(`,${c.space}`)})`;
        }
        return `${c.field}${c.space}${op}${c.space}${render(c.values[0] ?? null, c.quote)}`;
      });
      const joiner = conds[0]?.upper[0] ? " AND " : " and ";
      const r = parseFilter(parts.join(joiner));
      if (!r.ok) throw new Error(`${parts.join(joiner)}: ${r.error}`);
      const expected: Condition[] = conds.map((c) =>
        c.op === "in" || c.op === "notin"
          ? { field: c.field, op: c.op, values: c.values }
          : { field: c.field, op: c.op, value: c.values[0] ?? null },
      );
      expect(r.value.conditions).toEqual(expected);
    }),
    { numRuns: 500 },
  );
});

test("the parser never throws: any input is a result", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (s) => {
      const r = parseFilter(s);
      expect(typeof r.ok).toBe("boolean");
    }),
    { numRuns: 2000 },
  );
});

test("eq and ne split the objects; in and notin split them", () => {
  const objects = fc.array(
    fc.record({ n: fc.option(fc.integer({ min: -5, max: 5 }), { nil: null }), s: fc.option(text, { nil: null }) }),
  );
  fc.assert(
    fc.property(
      objects,
      fc.integer({ min: -5, max: 5 }),
      fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 3 }),
      (objs, v, list) => {
        const pred = (f: string) => {
          const ast = parseFilter(f);
          if (!ast.ok) throw new Error(ast.error);
          const p = compilePredicate(ast.value, { n: "number", s: "string" });
          if (!p.ok) throw new Error(p.error);
          return p.value;
        };
        const eq = pred(`n eq ${v}`);
        const ne = pred(`n ne ${v}`);
        const inl = pred(`n in (${list.join(",")})`);
        const notin = pred(`n notin (${list.join(",")})`);
        const lt = pred(`n lt ${v}`);
        const ge = pred(`n ge ${v}`);
        for (const o of objs) {
          expect(eq(o) !== ne(o)).toBe(true);
          expect(inl(o) !== notin(o)).toBe(true);
          // Ordering comparisons hold for values only: a null is neither below nor at/above.
          if (o.n !== null) expect(lt(o) !== ge(o)).toBe(true);
          else expect(lt(o) || ge(o)).toBe(false);
        }
      },
    ),
  );
});
