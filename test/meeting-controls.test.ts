/**
 * End to end: keypad commands and meeting rules on real calls (baresip), checked by
 * what callers hear (tone spectra) and what the API reports.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Baresip } from "./lib/baresip.ts";
import { eventually, freeSipPort, type Provisioned, provision, type Service, startService } from "./lib/service.ts";
import { levelsAtEnd } from "./lib/spectrum.ts";

const NUMBER = "15162065920";
const HOST_HZ = 440;
const PART_HZ = 1000;
const HEARD_DB = -35;
const ABSENT_DB = -50;

let svc: Service;
let acct: Provisioned;
let rtpBase = 0;
const callers: Baresip[] = [];
let roomSid = "";

type Call = { call_sid: string; role: string; muted: boolean; meeting_sid: string };
type Meeting = { meeting_sid: string; locked: boolean; participant_muted: string; attendees: Record<string, number> };

async function caller(toneHz: number, user: string): Promise<Baresip> {
  const c = new Baresip({ sipPort: await freeSipPort(), rtpPortBase: rtpBase, toneHz, user });
  rtpBase += 10;
  callers.push(c);
  return c;
}

async function dialIn(c: Baresip, code: string): Promise<void> {
  c.dial(`sip:${NUMBER}@127.0.0.1:${svc.sipPort}`, 60);
  await c.waitFor(/Call established/, 10_000);
  c.sendDigits(`${code}#`);
}

/** A host (440 Hz) and a participant (1000 Hz) in the room's meeting, both joined. */
async function hostAndParticipant(n: number): Promise<{ host: Baresip; part: Baresip; h: Call; p: Call }> {
  const host = await caller(HOST_HZ, String(2001 + n));
  const part = await caller(PART_HZ, String(2002 + n));
  await dialIn(host, "4441");
  await dialIn(part, "4442");
  const p = await callOf("participant");
  const h = await callOf("host");
  return { host, part, h, p };
}

async function calls(): Promise<Call[]> {
  const r = await acct.account.req<{ items: Call[] }>("GET", "/conference/v2/calls?limit=100");
  return r.body.items;
}

async function callOf(role: string): Promise<Call> {
  return eventually(async () => (await calls()).find((c) => c.role === role), 15_000, `a ${role} call`);
}

async function endAll(): Promise<void> {
  const r = await acct.account.req<{ items: Meeting[] }>("GET", "/conference/v2/meetings");
  for (const m of r.body.items) await acct.account.req("DELETE", `/conference/v2/meetings/${m.meeting_sid}`);
  await eventually(async () => (await calls()).length === 0, 10_000, "no calls");
}

beforeAll(async () => {
  rtpBase = 45000 + Math.floor(Math.random() * 100) * 40;
  svc = await startService({ rtpPortMin: rtpBase + 2000, rtpPortMax: rtpBase + 2999 });
  acct = await provision(svc, NUMBER);
  await acct.account.req("PATCH", `/conference/v2/accounts/${acct.accountSid}`, {
    attributes: {
      conference_entrytones: "off",
      conference_exittones: "off",
      conference_moh_enabled: "off",
      call_announceparticipantcount: "",
      conference_greeting_enabled: "off",
    },
  });
  const room = await acct.account.req<{ meeting_room_sid: string }>("POST", "/conference/v2/meeting_rooms", {
    name: "controls",
    access_codes: [
      { access_code: "4441", role: "host" },
      { access_code: "4442", role: "participant" },
      { access_code: "4443", role: "listener" },
    ],
  });
  roomSid = room.body.meeting_room_sid;
}, 60_000);

afterAll(async () => {
  for (const c of callers) await c.stop();
  await svc?.stop();
  for (const c of callers) c.cleanup();
}, 30_000);

describe("keypad and API controls", () => {
  test("the host mutes itself with *6: the API shows it and the participant stops hearing it", async () => {
    const { host, part, h } = await hostAndParticipant(0);
    expect(h.muted).toBe(false);
    await Bun.sleep(1000);
    host.sendDigits("*6");
    await eventually(async () => (await calls()).find((c) => c.role === "host")?.muted === true, 5000, "host muted");
    await Bun.sleep(2500);
    await endAll();
    await part.stop();
    const heard = levelsAtEnd(part.recording(), [HOST_HZ], 1.5);
    expect(heard[HOST_HZ]!, JSON.stringify(heard)).toBeLessThan(ABSENT_DB);
    await host.stop();
  }, 60_000);

  test("PATCH /calls mutes a participant in the running mix; a participant's host-only key is refused", async () => {
    const { host, part, p } = await hostAndParticipant(2);
    await Bun.sleep(1500);
    const patched = await acct.account.req<Call>("PATCH", `/conference/v2/calls/${p.call_sid}`, { muted: "true" });
    expect(patched.status).toBe(200);
    expect(patched.body.muted).toBe(true);
    // A participant pressing the lock key (host only) changes nothing.
    part.sendDigits("*7");
    await Bun.sleep(2500);
    const m = await acct.account.req<{ items: Meeting[] }>("GET", "/conference/v2/meetings");
    expect(m.body.items[0]?.locked).toBe(false);
    await endAll();
    await host.stop();
    const heard = levelsAtEnd(host.recording(), [PART_HZ], 1.5);
    expect(heard[PART_HZ]!, JSON.stringify(heard)).toBeLessThan(ABSENT_DB);
    await part.stop();
  }, 60_000);

  test("*7 locks the meeting: a listener is refused, the API says locked", async () => {
    const host = await caller(HOST_HZ, "2005");
    await dialIn(host, "4441");
    await callOf("host");
    await Bun.sleep(500);
    host.sendDigits("*7");
    await eventually(async () => {
      const r = await acct.account.req<{ items: Meeting[] }>("GET", "/conference/v2/meetings");
      return r.body.items[0]?.locked === true;
    }, 5000, "meeting locked");
    const late = await caller(0, "2006");
    await dialIn(late, "4443");
    await late.waitFor(/terminat|closed/i, 15_000);
    expect((await calls()).filter((c) => c.role === "listener")).toHaveLength(0);
    await endAll();
    await host.stop();
    await late.stop();
  }, 60_000);

  test("*5 mutes the meeting: participant_muted true, the participant is muted and not heard", async () => {
    const { host, part } = await hostAndParticipant(6);
    await Bun.sleep(1000);
    host.sendDigits("*5");
    await eventually(async () => {
      const r = await acct.account.req<{ items: Meeting[] }>("GET", "/conference/v2/meetings");
      return r.body.items[0]?.participant_muted === "true";
    }, 5000, "participant_muted true");
    await eventually(async () => (await calls()).find((c) => c.role === "participant")?.muted === true, 5000, "participant muted");
    await Bun.sleep(2500);
    await endAll();
    await host.stop();
    const heard = levelsAtEnd(host.recording(), [PART_HZ], 1.5);
    expect(heard[PART_HZ]!, JSON.stringify(heard)).toBeLessThan(ABSENT_DB);
    await part.stop();
  }, 60_000);

  test("conference_stop_how moderator: the last host leaving drops the others after conference_stop_wait", async () => {
    await acct.account.req("PATCH", `/conference/v2/meeting_rooms/${roomSid}`, {
      attributes: { conference_stop_how: "moderator", conference_stop_wait: "2" },
    });
    const { host, part } = await hostAndParticipant(8);
    await Bun.sleep(1000);
    const t0 = Date.now();
    host.command("/hangup");
    await part.waitFor(/terminat|closed/i, 20_000);
    // Told, then dropped: not at once, and not much later than the wait plus the prompts.
    expect(Date.now() - t0).toBeGreaterThan(1500);
    await eventually(async () => (await calls()).length === 0, 5000, "no calls");
    await host.stop();
    await part.stop();
    await acct.account.req("PATCH", `/conference/v2/meeting_rooms/${roomSid}`, {
      attributes: { conference_stop_how: null, conference_stop_wait: null },
    });
  }, 60_000);

  test("the participant still hears the host when nothing is muted (control for the tests above)", async () => {
    const { host, part } = await hostAndParticipant(10);
    await Bun.sleep(2500);
    await endAll();
    await part.stop();
    const heard = levelsAtEnd(part.recording(), [HOST_HZ], 1.5);
    expect(heard[HOST_HZ]!, JSON.stringify(heard)).toBeGreaterThan(HEARD_DB);
    await host.stop();
  }, 60_000);
});
