/**
 * End to end: keypad commands and meeting rules on real calls (baresip), checked by
 * what callers hear (tone spectra) and what the API reports.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import type { Baresip } from "./lib/baresip.ts";
import { callBed } from "./lib/call-bed.ts";
import { eventually } from "./lib/service.ts";
import { levelsAtEnd } from "./lib/spectrum.ts";

const NUMBER = "15162065920";
const HOST_HZ = 440;
const PART_HZ = 1000;
const HEARD_DB = -35;
const ABSENT_DB = -50;

const bed = callBed({ number: NUMBER, ports: { from: 45000, blocks: 100 }, quietAccount: true });
const caller = bed.caller;
const dialIn = bed.dialIn;
let roomSid = "";

type Call = { call_sid: string; role: string; muted: boolean; meeting_sid: string };
type Meeting = { meeting_sid: string; locked: boolean; participant_muted: string; attendees: Record<string, number> };

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
  const r = await bed.acct.account.req<{ items: Call[] }>("GET", "/conference/v2/calls?limit=100");
  return r.body.items;
}

async function callOf(role: string): Promise<Call> {
  return eventually(async () => (await calls()).find((c) => c.role === role), 15_000, `a ${role} call`);
}

async function endAll(): Promise<void> {
  const r = await bed.acct.account.req<{ items: Meeting[] }>("GET", "/conference/v2/meetings");
  for (const m of r.body.items) await bed.acct.account.req("DELETE", `/conference/v2/meetings/${m.meeting_sid}`);
  await eventually(async () => (await calls()).length === 0, 10_000, "no calls");
}

async function untilMuted(role: string): Promise<void> {
  await eventually(async () => (await calls()).find((c) => c.role === role)?.muted === true, 5000, `${role} muted`);
}

/**
 * Ends the meeting, stops `listener` (its recording is then whole) and then `other`, and
 * returns the level of `hz` in the listener's last 1.5 s with the levels as a report.
 */
async function heardAtEnd(listener: Baresip, other: Baresip, hz: number): Promise<[number, string]> {
  await endAll();
  await listener.stop();
  const heard = levelsAtEnd(listener.recording(), [hz], 1.5);
  await other.stop();
  return [heard[hz]!, JSON.stringify(heard)];
}

beforeAll(async () => {
  const room = await bed.acct.account.req<{ meeting_room_sid: string }>("POST", "/conference/v2/meeting_rooms", {
    name: "controls",
    access_codes: [
      { access_code: "4441", role: "host" },
      { access_code: "4442", role: "participant" },
      { access_code: "4443", role: "listener" },
    ],
  });
  roomSid = room.body.meeting_room_sid;
}, 60_000);

describe("keypad and API controls", () => {
  test("the host mutes itself with *6: the API shows it and the participant stops hearing it", async () => {
    const { host, part, h } = await hostAndParticipant(0);
    expect(h.muted).toBe(false);
    await Bun.sleep(1000);
    host.sendDigits("*6");
    await untilMuted("host");
    await Bun.sleep(2500);
    const [hostDb, report] = await heardAtEnd(part, host, HOST_HZ);
    expect(hostDb, report).toBeLessThan(ABSENT_DB);
  }, 60_000);

  test("PATCH /calls mutes a participant in the running mix; a participant's host-only key is refused", async () => {
    const { host, part, p } = await hostAndParticipant(2);
    await Bun.sleep(1500);
    const patched = await bed.acct.account.req<Call>("PATCH", `/conference/v2/calls/${p.call_sid}`, { muted: "true" });
    expect(patched.status).toBe(200);
    expect(patched.body.muted).toBe(true);
    // A participant pressing the lock key (host only) changes nothing.
    part.sendDigits("*7");
    await Bun.sleep(2500);
    const m = await bed.acct.account.req<{ items: Meeting[] }>("GET", "/conference/v2/meetings");
    expect(m.body.items[0]?.locked).toBe(false);
    const [partDb, report] = await heardAtEnd(host, part, PART_HZ);
    expect(partDb, report).toBeLessThan(ABSENT_DB);
  }, 60_000);

  test("*7 locks the meeting: a listener is refused, the API says locked", async () => {
    const host = await caller(HOST_HZ, "2005");
    await dialIn(host, "4441");
    await callOf("host");
    await Bun.sleep(500);
    host.sendDigits("*7");
    await eventually(
      async () => {
        const r = await bed.acct.account.req<{ items: Meeting[] }>("GET", "/conference/v2/meetings");
        return r.body.items[0]?.locked === true;
      },
      5000,
      "meeting locked",
    );
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
    await eventually(
      async () => {
        const r = await bed.acct.account.req<{ items: Meeting[] }>("GET", "/conference/v2/meetings");
        return r.body.items[0]?.participant_muted === "true";
      },
      5000,
      "participant_muted true",
    );
    await untilMuted("participant");
    await Bun.sleep(2500);
    const [partDb, report] = await heardAtEnd(host, part, PART_HZ);
    expect(partDb, report).toBeLessThan(ABSENT_DB);
  }, 60_000);

  test("conference_stop_how moderator: the last host leaving drops the others after conference_stop_wait", async () => {
    await bed.acct.account.req("PATCH", `/conference/v2/meeting_rooms/${roomSid}`, {
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
    await bed.acct.account.req("PATCH", `/conference/v2/meeting_rooms/${roomSid}`, {
      attributes: { conference_stop_how: null, conference_stop_wait: null },
    });
  }, 60_000);

  test("the participant still hears the host when nothing is muted (control for the tests above)", async () => {
    const { host, part } = await hostAndParticipant(10);
    await Bun.sleep(2500);
    const [hostDb, report] = await heardAtEnd(part, host, HOST_HZ);
    expect(hostDb, report).toBeGreaterThan(HEARD_DB);
  }, 60_000);
});
