/**
 * A browser joins a meeting that a worker process mixes (MIXER_WORKERS=2): the phone
 * joined first, so its meeting was placed on a worker and the phone handed over there;
 * the browser's call, answered on the front, cannot move (ICE, DTLS), so the front
 * relays its media to the worker (apps/mixer/src/browser-relay.ts). Both must be in one
 * meeting and hear each other. Runs in a loopback-only network namespace (chromium's
 * ICE stays on loopback) with the host's PostgreSQL and a private Redis reachable there
 * (`withBacking`). The scenario is test/lib/browser-workers-scenario.ts.
 */
import { expect, test } from "bun:test";
import { expectHeardEachOther, runBrowserScenario } from "./lib/browser-checks.ts";
import { withBacking } from "./lib/netns.ts";

test("with MIXER_WORKERS=2 a browser joins the meeting a worker mixes: one meeting_sid, the phone hears it and not itself, it hears the phone, hang-ups end both calls", async () => {
  const seen = await runBrowserScenario(
    "browser-workers-scenario.ts",
    "-u DATABASE_URL -u REDIS_URL -u TEST_DATABASE_URL -u TEST_REDIS_URL",
    withBacking,
  );
  // The phone's meeting runs on a worker; the browser's call is relayed there.
  expect(seen.phoneHandedOver).toBe(true);
  expect(seen.pageState).toBe("in call");
  expect(seen.browserRelayed).toBe(true);
  const calls = seen.calls as { meeting_sid: string | null; number_src: string; codecs: string }[];
  expect(calls).toHaveLength(2);
  expect(calls.find((c) => c.number_src.includes("sip:browser@"))?.codecs).toBe("OPUS");
  expect(calls[0]?.meeting_sid).toBeTruthy();
  expect(calls[1]?.meeting_sid).toBe(calls[0]?.meeting_sid as string);
  // The browser hears the phone; the phone hears the browser's tone and not its own.
  expectHeardEachOther(seen);
  // The browser's hang-up reaches the worker (only the phone is left), then the phone's.
  expect(seen.callsAfterBrowserHangup).toEqual([seen.phoneSid]);
  expect(seen.relayEnded).toBe(true);
  expect(seen.callsAfterPhoneHangup).toBe(0);
}, 150_000);
