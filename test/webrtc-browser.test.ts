/**
 * A browser joins a meeting through GET /join, as a phone would: headless chromium with a
 * fake microphone playing one tone, in the same meeting as a baresip phone playing
 * another. Everything runs in a network namespace that holds only loopback (chromium's
 * ICE would otherwise gather the machine's other interfaces), on the embedded defaults.
 * The scenario itself is test/lib/browser-scenario.ts; this file checks what it saw.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inLoopbackNamespace } from "./lib/netns.ts";

const ROOT = join(import.meta.dir, "..");

test("a browser joins over WebRTC with a code: its role and codec in /calls, the phone hears it and not itself, it hears the phone, its keypad mutes it, the host's console mutes and drops it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "conf-browser-"));
  try {
    const r = await inLoopbackNamespace(
      `cd ${JSON.stringify(ROOT)}\nenv -u DATABASE_URL -u REDIS_URL bun run test/lib/browser-scenario.ts ${dir}`,
      140_000,
    );
    const last = r.stdout.trim().split("\n").pop() ?? "{}";
    const seen = JSON.parse(last) as Record<string, unknown>;
    if (r.code !== 0 || seen.error)
      throw new Error(`exit ${r.code}: ${String(seen.error)}\n${String(seen.service)}\n${r.stderr.slice(-2000)}`);
    expect(seen.prefilled).toBe("15550107070");
    expect(seen.pageState).toBe("in call");
    // The browser's call is listed like a phone's, with the role its code gave and its codec.
    const calls = seen.calls as { role: string; codecs: string; number_src: string; joined: boolean }[];
    const browserCall = calls.find((c) => c.number_src.includes("sip:browser@"));
    expect(browserCall).toMatchObject({ role: "participant", codecs: "OPUS", joined: true });
    expect(calls.find((c) => c.number_src.includes("sip:phone@"))).toMatchObject({ role: "host", joined: true });
    // The browser receives the phone's audio: inbound energy rises.
    const energy = seen.energy as { before: { e: number; packets: number }; after: { e: number; packets: number } };
    expect(energy.after.packets).toBeGreaterThan(energy.before.packets + 100);
    expect(energy.after.e).toBeGreaterThan(energy.before.e + 0.05);
    // The phone hears the browser's tone and not its own.
    const heard = seen.phoneHeard as Record<string, number>;
    expect(heard.seconds).toBeGreaterThan(1.5);
    expect(heard["600"]).toBeGreaterThan(-40);
    expect(heard["1000"]).toBeLessThan(-55);
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
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 150_000);
