import { describe, expect, test } from "bun:test";
import { parseEnv } from "./env.ts";

describe("parseEnv", () => {
  test("defaults", () => {
    const r = parseEnv({});
    expect(r.ok && r.value).toMatchObject({ API_PORT: 3000, API_HOST: "0.0.0.0", REDIS_PREFIX: "conf:" });
    expect(r.ok && r.value.DATABASE_URL).toBeUndefined();
    expect(r.ok && r.value.ADMIN_TOKEN).toBeUndefined();
  });
  test("values, and empty strings count as unset", () => {
    const r = parseEnv({
      API_PORT: "8080",
      DATABASE_URL: "postgres://u@h:5432/db",
      REDIS_URL: "redis://127.0.0.1:6379",
      ADMIN_TOKEN: "",
      PUBLIC_URL: "https://conf.example.com",
    });
    expect(r.ok && r.value).toMatchObject({
      API_PORT: 8080,
      DATABASE_URL: "postgres://u@h:5432/db",
      REDIS_URL: "redis://127.0.0.1:6379",
      PUBLIC_URL: "https://conf.example.com",
    });
    expect(r.ok && r.value.ADMIN_TOKEN).toBeUndefined();
  });
  test("each bad variable is named", () => {
    const r = parseEnv({
      API_PORT: "99999",
      DATABASE_URL: "mysql://x",
      REDIS_URL: "http://x",
      ADMIN_TOKEN: "short",
      PUBLIC_URL: "ftp://x",
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      for (const name of ["API_PORT", "DATABASE_URL", "REDIS_URL", "ADMIN_TOKEN", "PUBLIC_URL"])
        expect(r.error).toContain(`${name}:`);
    }
  });
  test("ADMIN_TOKEN: 16 characters or more (after trimming), else named with the rule", () => {
    const ok = parseEnv({ ADMIN_TOKEN: " sixteen-chars-xx " });
    expect(ok.ok && ok.value.ADMIN_TOKEN).toBe("sixteen-chars-xx");
    const short = parseEnv({ ADMIN_TOKEN: "fifteen-chars-x" });
    expect(!short.ok && short.error).toContain("ADMIN_TOKEN: must be at least 16 characters");
  });
  test("limits: defaults, values, and bad values named", () => {
    const d = parseEnv({});
    expect(d.ok && d.value).toMatchObject({
      API_FILTER_MAX_LENGTH: 4000,
      API_FILTER_MAX_CONDITIONS: 50,
      API_FILTER_MAX_LIST_VALUES: 1000,
      API_FILTER_MAX_PATTERN_LENGTH: 256,
      API_MAX_BODY_BYTES: 1_048_576,
      API_LOGIN_FAILURES_PER_ADDRESS: 30,
      API_LOGIN_FAILURES_PER_LOGIN: 5,
      API_LOGIN_FAILURE_WINDOW_SECONDS: 300,
      API_LOGIN_LIMITER_MAX_ENTRIES: 100_000,
      API_TRUST_PROXY: false,
      OUTBOUND_ALLOW_PRIVATE: false,
    });
    const v = parseEnv({ API_MAX_BODY_BYTES: "2048", OUTBOUND_ALLOW_PRIVATE: "1", OUTBOUND_ALLOWLIST: " 10.0.0.0/8 " });
    expect(v.ok && v.value).toMatchObject({
      API_MAX_BODY_BYTES: 2048,
      OUTBOUND_ALLOW_PRIVATE: true,
      OUTBOUND_ALLOWLIST: "10.0.0.0/8",
    });
    const bad = parseEnv({
      API_FILTER_MAX_PATTERN_LENGTH: "0",
      API_MAX_BODY_BYTES: "lots",
      OUTBOUND_ALLOW_PRIVATE: "maybe",
      OUTBOUND_ALLOWLIST: "10.0.0.0/40",
    });
    expect(bad.ok).toBe(false);
    for (const name of ["API_FILTER_MAX_PATTERN_LENGTH", "API_MAX_BODY_BYTES", "OUTBOUND_ALLOW_PRIVATE", "OUTBOUND_ALLOWLIST"]) {
      expect(!bad.ok && bad.error).toContain(`${name}:`);
    }
  });
});
