/**
 * The browser-with-workers test's scenario (test/webrtc-browser-workers.test.ts), run in
 * a loopback-only network namespace whose 127.0.0.1:5432 and :6379 reach the host's
 * PostgreSQL and a private Redis (`withBacking` in netns.ts): the service with
 * MIXER_WORKERS=2, a baresip phone (the host) that joins first, so its meeting is placed
 * on a worker, then headless chromium joining the same meeting through GET /join on the
 * front. Prints one JSON line of what it observed.
 *
 * Usage: bun run test/lib/browser-workers-scenario.ts <work dir>
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { Baresip } from "./baresip.ts";
import { QUIET_ATTRIBUTES } from "./call-bed.ts";
import { freePort, freeSipPort, provision, startService } from "./service.ts";
import { readWav, toneLevelDb } from "./spectrum.ts";

type Stat = { type: string; kind?: string; totalAudioEnergy?: number; packetsReceived?: number };
type ApiCall = { call_sid: string; meeting_sid: string | null; number_src: string; codecs: string };

export const BROWSER_HZ = 600;
export const PHONE_HZ = 1000;
const NUMBER = "15550107071";

const dir = process.argv[2] ?? "/tmp/conf-browser-workers";
mkdirSync(dir, { recursive: true });
const result: Record<string, unknown> = {};
const log = (m: string) => console.error(`[scenario] ${m}`);

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

const svc = await startService({
  rtpPortMin: 30000,
  rtpPortMax: 30999,
  env: { SIP_WS_PORT: String(await freePort()), MIXER_WORKERS: "2", LOG_LEVEL: "info" },
});
let phone: Baresip | null = null;
let browser: Awaited<ReturnType<typeof puppeteer.launch>> | null = null;
try {
  const acct = await provision(svc, NUMBER);
  await acct.account.req("PATCH", `/conference/v2/accounts/${acct.accountSid}`, { attributes: QUIET_ATTRIBUTES });
  const room = await acct.account.req("POST", "/conference/v2/meeting_rooms", {
    name: "browser-workers",
    access_codes: [
      { access_code: "7101", role: "host" },
      { access_code: "7102", role: "participant" },
    ],
  });
  if (room.status !== 200) throw new Error(`room: ${JSON.stringify(room.body)}`);
  const listCalls = async () => (await acct.account.req<{ items: ApiCall[] }>("GET", "/conference/v2/calls")).body?.items ?? [];
  const until = async <T>(what: () => Promise<T | null | false | undefined>, tries = 150): Promise<T | null> => {
    for (let i = 0; i < tries; i++) {
      const v = await what();
      if (v) return v;
      await Bun.sleep(100);
    }
    return null;
  };

  // The phone first: its meeting is placed on a worker, and it is handed over there.
  phone = new Baresip({ sipPort: await freeSipPort(), rtpPortBase: 31000, toneHz: PHONE_HZ, user: "phone" });
  phone.dial(`sip:${NUMBER}@127.0.0.1:${svc.sipPort}`, 60);
  await phone.waitFor(/Call established/, 15_000);
  const established = Date.now();
  phone.sendDigits("7101#");
  await until(async () => (await listCalls()).some((c) => c.meeting_sid) && svc.output().includes("handed over to"));
  result.phoneHandedOver = /handed over to \S+-w\d/.test(svc.output());
  log("phone in its meeting");

  browser = await puppeteer.launch({
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
  const page = await browser.newPage();
  page.on("console", (m) => log(`page: ${m.text()}`));
  await page.goto(`${svc.api}/join?number=${NUMBER}`);
  await page.type("input[name=access_code]", "7102");
  await page.click("button[type=submit]");
  const state = () =>
    page.evaluate(() => {
      const c = (globalThis as unknown as { conferenceCall: { state: string; reason: string } }).conferenceCall;
      return `${c.state}${c.reason ? `: ${c.reason}` : ""}`;
    });
  for (let i = 0; i < 100 && (await state()) !== "in call"; i++) await Bun.sleep(100);
  result.pageState = await state();

  const joined = await until(async () => {
    const calls = await listCalls();
    return calls.length >= 2 && calls.every((c) => c.meeting_sid) ? calls : null;
  });
  const calls = joined ?? (await listCalls());
  result.calls = calls.map((c) => ({ meeting_sid: c.meeting_sid, number_src: c.number_src, codecs: c.codecs }));
  result.browserRelayed = /browser call \S+ relayed to \S+-w\d/.test(svc.output());

  const energy = () =>
    page.evaluate(async () => {
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
  await Bun.sleep(1500);
  const before = await energy();
  const from = (Date.now() - established) / 1000;
  await Bun.sleep(3000);
  const after = await energy();
  const to = (Date.now() - established) / 1000;
  result.energy = { before, after };
  log(`energy ${JSON.stringify(result.energy)}`);

  // The browser hangs up: its call leaves the meeting on the worker, the phone stays.
  const phoneSid = calls.find((c) => c.number_src.includes("sip:phone@"))?.call_sid ?? "";
  await page.click("#hangup");
  result.callsAfterBrowserHangup = (
    (await until(async () => {
      const left = await listCalls();
      return left.length === 1 ? left : null;
    })) ?? (await listCalls())
  ).map((c) => c.call_sid);
  result.phoneSid = phoneSid;

  // The phone hangs up: the meeting ends, no call is left.
  await phone.stop();
  result.callsAfterPhoneHangup = (
    (await until(async () => ((await listCalls()).length === 0 ? [] : null))) ?? (await listCalls())
  ).length;
  result.relayEnded = /browser call \S+ relayed to \S+ ended \(remote\)/.test(svc.output());

  const { samples, rate } = readWav(phone.recording());
  const a = Math.round((from + 0.3) * rate);
  const b = Math.min(samples.length, Math.round((to - 0.3) * rate));
  result.phoneHeard = {
    seconds: (b - a) / rate,
    [BROWSER_HZ]: toneLevelDb(samples, rate, BROWSER_HZ, a, b),
    [PHONE_HZ]: toneLevelDb(samples, rate, PHONE_HZ, a, b),
  };
} catch (err) {
  result.error = err instanceof Error ? `${err.message}\n${err.stack}` : String(err);
} finally {
  result.service = svc.output().slice(-4000);
  await browser?.close().catch(() => {});
  await phone?.stop().catch(() => {});
  await svc.stop();
}
console.log(JSON.stringify(result));
process.exit(0);
