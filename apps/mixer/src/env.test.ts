import { expect, test } from "bun:test";
import { parseEnv } from "../../api/src/lib/env.ts";
import { mixerEnvSchema } from "./env.ts";

// The issue this settles: an empty DATABASE_URL passed the API and failed the mixer;
// mysql:// the other way round. Both apps now read both alike.
test("the API and the mixer take and refuse the same DATABASE_URL and REDIS_URL", () => {
  for (const [vars, ok] of [
    [{ DATABASE_URL: "" }, true],
    [{ DATABASE_URL: "mysql://u@h/db" }, false],
    [{ DATABASE_URL: "postgres://u@h/db" }, true],
    [{ REDIS_URL: "" }, true],
    [{ REDIS_URL: "http://h:6379" }, false],
  ] as const) {
    expect([mixerEnvSchema.safeParse(vars).success, parseEnv(vars).ok]).toEqual([ok, ok]);
  }
});
