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
    const r = parseEnv({ API_PORT: "99999", DATABASE_URL: "mysql://x", REDIS_URL: "http://x", ADMIN_TOKEN: "short", PUBLIC_URL: "ftp://x" });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      for (const name of ["API_PORT", "DATABASE_URL", "REDIS_URL", "ADMIN_TOKEN", "PUBLIC_URL"]) expect(r.error).toContain(`${name}:`);
    }
  });
});
