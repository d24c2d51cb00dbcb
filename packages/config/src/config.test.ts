import { describe, expect, test } from "bun:test";
import { apiConfig, intVar, mixerConfig, outboundPolicy, startConfig } from "./index.ts";

const both = { api: apiConfig, mixer: mixerConfig };

describe("one rule per variable, whichever app reads it", () => {
  for (const [app, parse] of Object.entries(both)) {
    test(`${app}: an empty DATABASE_URL or REDIS_URL is unset`, () => {
      const r = parse({ DATABASE_URL: "", REDIS_URL: "  ", REDIS_PREFIX: "" });
      expect(r.ok).toBe(true);
      if (r.ok) {
        expect(r.value.DATABASE_URL).toBeUndefined();
        expect(r.value.REDIS_URL).toBeUndefined();
        expect(r.value.REDIS_PREFIX).toBe("conf:");
      }
    });
    test(`${app}: mysql:// and http:// are refused, each on a line of its own`, () => {
      const r = parse({ DATABASE_URL: "mysql://x", REDIS_URL: "http://x" });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.lines).toEqual(["DATABASE_URL: must be a postgres:// URL", "REDIS_URL: must be a redis:// URL"]);
        expect(r.error).toBe(r.lines.join("\n"));
      }
    });
    test(`${app}: postgresql:// and rediss:// are taken, trimmed`, () => {
      const r = parse({ DATABASE_URL: " postgresql://u@h/db ", REDIS_URL: "rediss://h:6380" });
      expect(r.ok && [r.value.DATABASE_URL, r.value.REDIS_URL]).toEqual(["postgresql://u@h/db", "rediss://h:6380"]);
    });
    test(`${app}: Redis timeouts, outbound and LOG_LEVEL`, () => {
      const ok = parse({ REDIS_COMMAND_TIMEOUT_MS: "250", OUTBOUND_ALLOW_PRIVATE: "yes", LOG_LEVEL: "DEBUG" });
      expect(ok.ok && ok.value).toMatchObject({
        REDIS_COMMAND_TIMEOUT_MS: 250,
        REDIS_CONNECT_TIMEOUT_MS: 2000,
        OUTBOUND_ALLOW_PRIVATE: true,
        LOG_LEVEL: "debug",
      });
      const bad = parse({ REDIS_COMMAND_TIMEOUT_MS: "0", OUTBOUND_ALLOWLIST: "10.0.0.0/40", LOG_LEVEL: "loud" });
      expect(!bad.ok && bad.lines.map((l) => l.split(":")[0])).toEqual([
        "REDIS_COMMAND_TIMEOUT_MS",
        "OUTBOUND_ALLOWLIST",
        "LOG_LEVEL",
      ]);
    });
  }
});

describe("mixerConfig", () => {
  test("defaults", () => {
    const r = mixerConfig({});
    expect(r.ok && r.value).toMatchObject({
      SIP_PORT: 5060,
      SIP_HOST: "127.0.0.1",
      RTP_PORT_MIN: 20000,
      RTP_PORT_MAX: 29999,
      MIXER_WORKERS: 0,
      LOG_LEVEL: "info",
    });
    expect(r.ok && r.value.MIXER_PARENT_PID).toBeUndefined();
  });
  test("empty numbers take their default, not zero", () => {
    const r = mixerConfig({ SIP_PORT: "", CODE_GUESS_LIMIT: " ", SIP_INVITES_PER_SOURCE: "" });
    expect(r.ok && r.value).toMatchObject({ SIP_PORT: 5060, CODE_GUESS_LIMIT: 10, SIP_INVITES_PER_SOURCE: 10 });
  });
  test("SIP over WebSocket: a port (5066 by default, 0 for a free one) or off, and its limits", () => {
    const d = mixerConfig({});
    expect(d.ok && d.value).toMatchObject({
      SIP_WS_PORT: 5066,
      SIP_WS_CONNECTIONS_PER_SOURCE: 8,
      SIP_WS_MAX_CONNECTIONS: 1000,
      SIP_WS_MAX_MESSAGE_BYTES: 16384,
      WEBRTC_HANDSHAKE_TIMEOUT_MS: 10000,
    });
    expect(
      mixerConfig({ SIP_WS_PORT: "OFF" }).ok &&
        (mixerConfig({ SIP_WS_PORT: "off" }) as { value: { SIP_WS_PORT: unknown } }).value.SIP_WS_PORT,
    ).toBeNull();
    expect((mixerConfig({ SIP_WS_PORT: "0" }) as { value: { SIP_WS_PORT: unknown } }).value.SIP_WS_PORT).toBe(0);
    const bad = mixerConfig({ SIP_WS_PORT: "70000", SIP_WS_MAX_MESSAGE_BYTES: "10" });
    expect(!bad.ok && bad.lines.map((l) => l.split(":")[0])).toEqual(["SIP_WS_PORT", "SIP_WS_MAX_MESSAGE_BYTES"]);
    expect(d.ok && d.value.SIP_WS_ORIGINS).toEqual([]);
    const origins = mixerConfig({ SIP_WS_ORIGINS: "https://conf.example.com/, http://127.0.0.1:3000" });
    expect(origins.ok && origins.value.SIP_WS_ORIGINS).toEqual(["https://conf.example.com", "http://127.0.0.1:3000"]);
    expect(mixerConfig({ SIP_WS_ORIGINS: "conf.example.com" }).ok).toBe(false);
    const api = apiConfig({ SIP_WS_URL: "http://example.com/" });
    expect(!api.ok && api.lines[0]).toStartWith("SIP_WS_URL");
  });
  test("how variables go together", () => {
    const r = mixerConfig({ RTP_PORT_MIN: "30000", RTP_PORT_MAX: "20000", MIXER_WORKERS: "2" });
    expect(!r.ok && r.lines).toEqual([
      "RTP_PORT_MIN: must not exceed RTP_PORT_MAX",
      "MIXER_WORKERS: MIXER_WORKERS needs REDIS_URL: the live store must be shared between processes",
    ]);
  });
  test("bad values are named", () => {
    const r = mixerConfig({
      SIP_PORT: "70000",
      SIP_TRUSTED_SOURCES: "10.0.0.0/8, nope",
      SIP_INVITES_PER_SOURCE: "0",
      CODE_GUESS_LIMIT: "1.5",
    });
    expect(!r.ok && r.lines.map((l) => l.split(":")[0]).sort()).toEqual([
      "CODE_GUESS_LIMIT",
      "SIP_INVITES_PER_SOURCE",
      "SIP_PORT",
      "SIP_TRUSTED_SOURCES",
    ]);
  });
  test("its outbound policy counts SIP_HOST as the service's own", () => {
    const r = mixerConfig({ SIP_HOST: "203.0.113.5", OUTBOUND_ALLOWLIST: "10.1.10.190" });
    if (!r.ok) throw new Error(r.error);
    const p = outboundPolicy(r.value);
    expect(p.allowPrivate).toBe(false);
    expect(p.allowlist.length).toBe(1);
    expect(p.own.length).toBe(1);
  });
});

test("intVar: a bound in the message", () => {
  expect(intVar(5, 1, 10).safeParse("11").error?.issues[0]?.message).toBe("must be a whole number from 1 to 10");
  expect(intVar(5, 1).safeParse("abc").error?.issues[0]?.message).toBe("must be a whole number at least 1");
  expect(intVar(5, 1, 10).parse(undefined)).toBe(5);
});

test("bun run start's own variables: API_NICE and API_CPUS (a taskset CPU list)", () => {
  expect(startConfig({})).toEqual({ ok: true, value: { API_NICE: 10, API_SCHED: "nice" } });
  expect(startConfig({ API_CPUS: "2-3,5", API_NICE: "19", API_SCHED: "IDLE" })).toEqual({
    ok: true,
    value: { API_NICE: 19, API_CPUS: "2-3,5", API_SCHED: "idle" },
  });
  expect(startConfig({ API_SCHED: "fifo" }).ok).toBe(false);
  expect(startConfig({ API_CPUS: "1; rm -rf /" }).ok).toBe(false);
  expect(startConfig({ API_NICE: "20" }).ok).toBe(false);
});
