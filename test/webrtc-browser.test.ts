/**
 * A browser joins a meeting through GET /join, as a phone would: headless chromium with a
 * fake microphone playing one tone, in the same meeting as a baresip phone playing
 * another. Everything runs in a network namespace that holds only loopback (chromium's
 * ICE would otherwise gather the machine's other interfaces), on the embedded defaults.
 * The scenario itself is test/lib/browser-scenario.ts; this file checks what it saw.
 */
import { expect, test } from "bun:test";
import { expectHeardEachOther, runBrowserScenario } from "./lib/browser-checks.ts";

test("a browser joins over WebRTC with a code: its role and codec in /calls, the phone hears it and not itself, it hears the phone, its keypad mutes it, the host's console mutes and drops it", async () => {
  const seen = await runBrowserScenario("browser-scenario.ts", "-u DATABASE_URL -u REDIS_URL");
  expect(seen.prefilled).toBe("15550107070");
  expect(seen.pageState).toBe("in call");
  // The browser's call is listed like a phone's, with the role its code gave and its codec.
  const calls = seen.calls as { role: string; codecs: string; number_src: string; joined: boolean }[];
  const browserCall = calls.find((c) => c.number_src.includes("sip:browser@"));
  expect(browserCall).toMatchObject({ role: "participant", codecs: "OPUS", joined: true });
  expect(calls.find((c) => c.number_src.includes("sip:phone@"))).toMatchObject({ role: "host", joined: true });
  // The browser receives the phone's audio; the phone hears the browser's tone and not its own.
  expectHeardEachOther(seen);
  // *6 from the page's keypad went as RFC 4733 events and muted the browser's call.
  expect(seen.mutedByKeypad).toBe(true);
  // The host's console shows both calls; its mute and unmute reach the API; its drop
  // ends the browser's call (the page sees it end, its row goes, the phone stays).
  expect(seen.consoleShowsBoth).toBe(true);
  expect(seen.consoleUnmuted).toBe(true);
  expect(seen.consoleMuted).toBe(true);
  expect(seen.pageAfterDrop).not.toBe("in call");
  expect(seen.callsAfterDrop).toEqual([seen.phoneSid]);
  expect(seen.consoleRowGone).toBe(true);
}, 150_000);
