/**
 * What the browser scenarios (browser-scenario.ts, browser-workers-scenario.ts) share: a
 * headless chromium whose fake microphone plays one tone, the state and inbound audio of
 * the call its /join page placed, and what the phone (playing the other tone) heard.
 * Runs under `bun run` inside the namespace, not under the test runner.
 */
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { readWav, toneLevelDb } from "./spectrum.ts";

/** The browser's tone (its fake microphone) and the phone's, Hz. */
export const BROWSER_HZ = 600;
export const PHONE_HZ = 1000;

/** The part of an RTCStats record the scenarios read (the test workspace has no DOM types). */
type Stat = { type: string; kind?: string; totalAudioEnergy?: number; packetsReceived?: number };

/**
 * Headless chromium whose fake microphone plays BROWSER_HZ for 60 s (a WAV sox writes in
 * `dir`, beside the profile), allowed to use loopback for WebRTC.
 * @example const browser = await launchWithTone(dir);
 */
export async function launchWithTone(dir: string): Promise<Browser> {
  const toneWav = join(dir, "browser-tone.wav");
  const sox = Bun.spawnSync([
    "sox",
    "-n",
    "-r",
    "48000",
    "-c",
    "1",
    "-b",
    "16",
    toneWav,
    "synth",
    "60",
    "sine",
    String(BROWSER_HZ),
    "vol",
    "0.3",
  ]);
  if (sox.exitCode !== 0) throw new Error(`sox: ${sox.stderr}`);
  return puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    userDataDir: join(dir, "chromium"),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${toneWav}`,
      "--allow-loopback-in-peer-connection",
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}

/** The /join page's call state as its UI shows it: "in call", or the state and its reason. */
export function callState(page: Page): Promise<string> {
  return page.evaluate(() => {
    const c = (globalThis as unknown as { conferenceCall: { state: string; reason: string } }).conferenceCall;
    return `${c.state}${c.reason ? `: ${c.reason}` : ""}`;
  });
}

/** Waits up to 10 s for the page's call to be "in call"; returns its state then. */
export async function waitInCall(page: Page): Promise<string> {
  for (let i = 0; i < 100 && (await callState(page)) !== "in call"; i++) await Bun.sleep(100);
  return callState(page);
}

/** The page's inbound audio so far (RTCStats of its peer connection): total energy and packets. */
export function inboundAudio(page: Page): Promise<{ e: number; packets: number }> {
  return page.evaluate(async () => {
    const pc = (globalThis as unknown as { conferenceCall: { pc: { getStats(): Promise<Map<string, Stat>> } } }).conferenceCall
      .pc;
    let e = 0;
    let packets = 0;
    (await pc.getStats()).forEach((s: Stat) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        e = s.totalAudioEnergy ?? 0;
        packets = s.packetsReceived ?? 0;
      }
    });
    return { e, packets };
  });
}

/**
 * Lets the browser and the phone talk for 4.5 s and measures the page's inbound audio
 * 1.5 s in and at the end; `from` and `to` are that window in seconds of the phone's
 * recording (which started at `established`, ms).
 */
export async function talkWindow(
  page: Page,
  established: number,
): Promise<{
  energy: { before: { e: number; packets: number }; after: { e: number; packets: number } };
  from: number;
  to: number;
}> {
  await Bun.sleep(1500);
  const before = await inboundAudio(page);
  const from = (Date.now() - established) / 1000;
  await Bun.sleep(3000);
  const after = await inboundAudio(page);
  const to = (Date.now() - established) / 1000;
  return { energy: { before, after }, from, to };
}

/** The levels (dB) of both tones in the phone's recording between `from` and `to` seconds, 0.3 s inside, and the seconds measured. */
export function phoneHeard(recording: string, from: number, to: number): Record<string, number> {
  const { samples, rate } = readWav(recording);
  const a = Math.round((from + 0.3) * rate);
  const b = Math.min(samples.length, Math.round((to - 0.3) * rate));
  return {
    seconds: (b - a) / rate,
    [BROWSER_HZ]: toneLevelDb(samples, rate, BROWSER_HZ, a, b),
    [PHONE_HZ]: toneLevelDb(samples, rate, PHONE_HZ, a, b),
  };
}
