/**
 * The browser test's scenario, run inside a network namespace that holds only loopback
 * (test/webrtc-browser.test.ts): the service on its embedded defaults, a baresip phone
 * playing one tone, and headless chromium playing another from a fake microphone,
 * joining through GET /join. Prints one JSON line of what it observed.
 *
 * Usage: bun run test/lib/browser-scenario.ts <work dir>
 */
import { mkdirSync } from "node:fs";
import type { Browser } from "puppeteer-core";
import { Baresip } from "./baresip.ts";
import { PHONE_HZ, callState, launchWithTone, phoneHeard, talkWindow, waitInCall } from "./browser-call.ts";
import { QUIET_ATTRIBUTES } from "./call-bed.ts";
import { freePort, freeSipPort, provision, startService } from "./service.ts";

const NUMBER = "15550107070";

const dir = process.argv[2] ?? "/tmp/conf-browser";
mkdirSync(dir, { recursive: true });
const result: Record<string, unknown> = {};
const log = (m: string) => console.error(`[scenario] ${m}`);

const wsPort = await freePort();
const svc = await startService({
  embedded: true,
  rtpPortMin: 30000,
  rtpPortMax: 30999,
  env: { SIP_WS_PORT: String(wsPort), LOG_LEVEL: "info" },
});
let phone: Baresip | null = null;
let browser: Browser | null = null;
try {
  const acct = await provision(svc, NUMBER);
  await acct.account.req("PATCH", `/conference/v2/accounts/${acct.accountSid}`, { attributes: QUIET_ATTRIBUTES });
  const room = await acct.account.req<{ meeting_room_sid: string }>("POST", "/conference/v2/meeting_rooms", {
    name: "browser",
    access_codes: [
      { access_code: "7001", role: "host" },
      { access_code: "7002", role: "participant" },
    ],
  });
  if (room.status !== 200) throw new Error(`room: ${JSON.stringify(room.body)}`);

  // The phone, host of the meeting.
  phone = new Baresip({ sipPort: await freeSipPort(), rtpPortBase: 31000, toneHz: PHONE_HZ, user: "phone" });
  phone.dial(`sip:${NUMBER}@127.0.0.1:${svc.sipPort}`, 60);
  await phone.waitFor(/Call established/, 15_000);
  const established = Date.now();
  phone.sendDigits("7001#");
  log("phone dialed in");

  browser = await launchWithTone(dir);
  const page = await browser.newPage();
  page.on("console", (m) => log(`page: ${m.text()}`));
  await page.goto(`${svc.api}/join?number=${NUMBER}`);
  result.prefilled = await page.$eval("input[name=number]", (e) => (e as unknown as { value: string }).value);
  await page.type("input[name=access_code]", "7002");
  await page.click("button[type=submit]");
  result.pageState = await waitInCall(page);
  log(`page: ${result.pageState}`);

  // The browser's call, as /calls shows it, once it joined the meeting.
  type ApiCall = { call_sid: string; role: string; codecs: string; meeting_sid: string | null; number_src: string };
  let calls: ApiCall[] = [];
  for (let i = 0; i < 150; i++) {
    const r = await acct.account.req<{ items: ApiCall[] }>("GET", "/conference/v2/calls");
    calls = r.body?.items ?? [];
    if (calls.length >= 2 && calls.every((c) => c.meeting_sid)) break;
    await Bun.sleep(100);
  }
  result.calls = calls.map((c) => ({ role: c.role, codecs: c.codecs, number_src: c.number_src, joined: !!c.meeting_sid }));

  // Both talk for a while; the phone records what it hears.
  const { energy, from, to } = await talkWindow(page, established);
  result.energy = energy;
  log(`energy ${JSON.stringify(result.energy)}`);

  // A key from the page's keypad reaches the meeting as an RFC 4733 event: *6 mutes.
  await page.click("#keypad button[data-key='*']");
  await Bun.sleep(300);
  await page.click("#keypad button[data-key='6']");
  let muted = false;
  for (let i = 0; i < 50 && !muted; i++) {
    const r = await acct.account.req<{ items: (ApiCall & { muted: boolean })[] }>("GET", "/conference/v2/calls");
    muted = (r.body?.items ?? []).some((c) => c.role === "participant" && c.muted);
    if (!muted) await Bun.sleep(100);
  }
  result.mutedByKeypad = muted;

  // The host's console, in a second tab of the same browser: it signs in with the
  // account's login and password, shows both calls, and its buttons steer the browser's.
  const [login, password] = Buffer.from(acct.account.authorization.replace(/^Basic /, ""), "base64")
    .toString("utf8")
    .split(":") as [string, string];
  const browserSid = calls.find((c) => c.number_src.includes("sip:browser@"))?.call_sid ?? "";
  const phoneSid = calls.find((c) => c.number_src.includes("sip:phone@"))?.call_sid ?? "";
  const host = await browser.newPage();
  await host.goto(`${svc.api}/console`, { waitUntil: "load" });
  await host.locator('input[name="login"]').fill(login);
  await host.locator('input[name="password"]').fill(password);
  await host.locator('button[type="submit"]').click();
  const rowOf = (sid: string) => `[data-call-sid="${sid}"]`;
  await host.waitForFunction(
    (a: string, b: string) => !!(globalThis as any).document.querySelector(a) && !!(globalThis as any).document.querySelector(b),
    { timeout: 15_000, polling: 100 },
    rowOf(browserSid),
    rowOf(phoneSid),
  );
  result.consoleShowsBoth = true;
  const mutedInApi = async () =>
    (await acct.account.req<{ muted: boolean }>("GET", `/conference/v2/calls/${browserSid}`)).body?.muted;
  const until = async (what: () => Promise<boolean>) => {
    for (let i = 0; i < 100 && !(await what()); i++) await Bun.sleep(100);
    return what();
  };
  // The keypad muted it: the console unmutes it, then mutes it again.
  await host.locator(`${rowOf(browserSid)} button[data-action="unmute"]:not([disabled])`).click();
  result.consoleUnmuted = await until(async () => (await mutedInApi()) === false);
  await host.locator(`${rowOf(browserSid)} button[data-action="mute"]:not([disabled])`).click();
  result.consoleMuted = await until(async () => (await mutedInApi()) === true);

  // The console's drop ends the browser's call: the page sees its call end.
  await host.locator(`${rowOf(browserSid)} button[data-action="drop"]:not([disabled])`).click();
  result.pageAfterDrop = await (async () => {
    for (let i = 0; i < 100 && (await callState(page)) === "in call"; i++) await Bun.sleep(100);
    return callState(page);
  })();
  await until(
    async () => ((await acct.account.req<{ items: ApiCall[] }>("GET", "/conference/v2/calls")).body?.items ?? []).length <= 1,
  );
  result.callsAfterDrop = ((await acct.account.req<{ items: ApiCall[] }>("GET", "/conference/v2/calls")).body?.items ?? []).map(
    (c) => c.call_sid,
  );
  result.phoneSid = phoneSid;
  await host.waitForFunction(
    (a: string) => !(globalThis as any).document.querySelector(a),
    { timeout: 10_000, polling: 100 },
    rowOf(browserSid),
  );
  result.consoleRowGone = true;

  await phone.stop();
  // What the phone heard while both talked (before the mute), a little inside that window.
  result.phoneHeard = phoneHeard(phone.recording(), from, to);
} catch (err) {
  result.error = err instanceof Error ? `${err.message}\n${err.stack}` : String(err);
  result.service = svc.output().slice(-3000);
} finally {
  await browser?.close().catch(() => {});
  await phone?.stop().catch(() => {});
  await svc.stop();
}
console.log(JSON.stringify(result));
process.exit(0);
