/**
 * End to end: roll call. A listener is never heard in the mix, so the only way the host
 * can hear the listener's tone is the listener's recorded name, played to the meeting
 * when it joins (conference_rollcall_onenter) and when it leaves (..._onexit).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Baresip } from "./lib/baresip.ts";
import { eventually, freeSipPort, type Provisioned, provision, type Service, startService } from "./lib/service.ts";
import { peakLevelDb } from "./lib/spectrum.ts";

const NUMBER = "15162065921";
const LISTENER_HZ = 1500;

let svc: Service;
let acct: Provisioned;
const callers: Baresip[] = [];
let rtpBase = 0;

async function caller(toneHz: number, user: string): Promise<Baresip> {
  const c = new Baresip({ sipPort: await freeSipPort(), rtpPortBase: rtpBase, toneHz, user });
  rtpBase += 10;
  callers.push(c);
  return c;
}

beforeAll(async () => {
  rtpBase = 49000 + Math.floor(Math.random() * 50) * 40;
  svc = await startService({ rtpPortMin: rtpBase + 2000, rtpPortMax: rtpBase + 2999 });
  acct = await provision(svc, NUMBER);
  await acct.account.req("POST", "/conference/v2/meeting_rooms", {
    name: "rollcall",
    access_codes: [
      { access_code: "5551", role: "host" },
      { access_code: "5553", role: "listener" },
    ],
    attributes: {
      conference_greeting_enabled: "off",
      conference_entrytones: "off",
      conference_exittones: "off",
      conference_moh_enabled: "off",
      call_announceparticipantcount: "",
      conference_rollcall: "on",
      conference_rollcall_onenter: "on",
      conference_rollcall_onexit: "on",
    },
  });
}, 60_000);

afterAll(async () => {
  for (const c of callers) await c.stop();
  await svc?.stop();
  for (const c of callers) c.cleanup();
}, 30_000);

type Call = { role: string };

test("a listener's recorded name is played to the meeting when it joins and leaves", async () => {
  const host = await caller(0, "3001");
  const listener = await caller(LISTENER_HZ, "3003");
  const uri = `sip:${NUMBER}@127.0.0.1:${svc.sipPort}`;
  host.dial(uri, 60);
  await host.waitFor(/Call established/, 10_000);
  host.sendDigits("5551#");
  listener.dial(uri, 60);
  await listener.waitFor(/Call established/, 10_000);
  listener.sendDigits("5553#");
  // Both record a name (about 2.5 s after the prompt) before they join.
  await eventually(async () => {
    const r = await acct.account.req<{ items: Call[] }>("GET", "/conference/v2/calls");
    return r.body.items.length === 2;
  }, 20_000, "both joined after recording their names");
  await Bun.sleep(4000);
  listener.command("/hangup");
  await listener.waitFor(/terminat|closed/i, 5000);
  await Bun.sleep(4000);
  host.command("/hangup");
  await host.waitFor(/terminat|closed/i, 5000);
  await host.stop();
  await listener.stop();
  // The host sent silence, so its own name is silent; what it hears at 1500 Hz is the listener's name.
  const peak = peakLevelDb(host.recording(), LISTENER_HZ, 0.5);
  expect(peak).toBeGreaterThan(-35);
}, 60_000);
