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
import type { Browser } from "puppeteer-core";
import { Baresip } from "./baresip.ts";
import { PHONE_HZ, launchWithTone, phoneHeard, talkWindow, waitInCall } from "./browser-call.ts";
import { QUIET_ATTRIBUTES } from "./call-bed.ts";
import { freePort, freeSipPort, provision, startService } from "./service.ts";

type ApiCall = { call_sid: string; meeting_sid: string | null; number_src: string; codecs: string };

const NUMBER = "15550107071";

const dir = process.argv[2] ?? "/tmp/conf-browser-workers";
mkdirSync(dir, { recursive: true });
const result: Record<string, unknown> = {};
const log = (m: string) => console.error(`[scenario] ${m}`);

const svc = await startService({
  rtpPortMin: 30000,
  rtpPortMax: 30999,
  env: { SIP_WS_PORT: String(await freePort()), MIXER_WORKERS: "2", LOG_LEVEL: "info" },
});
let phone: Baresip | null = null;
let browser: Browser | null = null;
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

  browser = await launchWithTone(dir);
  const page = await browser.newPage();
  page.on("console", (m) => log(`page: ${m.text()}`));
  await page.goto(`${svc.api}/join?number=${NUMBER}`);
  await page.type("input[name=access_code]", "7102");
  await page.click("button[type=submit]");
  result.pageState = await waitInCall(page);

  const joined = await until(async () => {
    const calls = await listCalls();
    return calls.length >= 2 && calls.every((c) => c.meeting_sid) ? calls : null;
  });
  const calls = joined ?? (await listCalls());
  result.calls = calls.map((c) => ({ meeting_sid: c.meeting_sid, number_src: c.number_src, codecs: c.codecs }));
  result.browserRelayed = /browser call \S+ relayed to \S+-w\d/.test(svc.output());

  const { energy, from, to } = await talkWindow(page, established);
  result.energy = energy;
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

  result.phoneHeard = phoneHeard(phone.recording(), from, to);
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
