/**
 * End to end: real service (API + mixer, Postgres, Redis) and real SIP callers
 * (baresip). Three callers key their codes by RFC 4733 and each sends its own tone;
 * each recording must hold exactly the others it should hear.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { callBed } from "./lib/call-bed.ts";
import { eventually } from "./lib/service.ts";
import { levelsAtEnd } from "./lib/spectrum.ts";

const NUMBER = "15162065919";
const HOST_HZ = 440;
const PART_HZ = 1000;
const LIST_HZ = 1500;
/** A tone counts as heard above this level (the callers send at -12 dBFS). */
const HEARD_DB = -35;
/** And as absent below this one. */
const ABSENT_DB = -50;

const bed = callBed({
  number: NUMBER,
  ports: { from: 41000, blocks: 100 },
  env: { RTP_TIMEOUT_SECONDS: "3" },
  quietAccount: true,
});
const caller = bed.caller;

beforeAll(async () => {
  const room = await bed.acct.account.req("POST", "/conference/v2/meeting_rooms", {
    name: "e2e",
    access_codes: [
      { access_code: "1111", role: "host" },
      { access_code: "2222", role: "participant" },
      { access_code: "3333", role: "listener" },
    ],
  });
  expect(room.status).toBe(200);
}, 60_000);

/** A call of the API (`meeting_sid` and `role` null while it is at the prompt). */
type Call = {
  call_sid: string;
  role: string | null;
  access_code: string;
  codecs: string;
  meeting_sid: string | null;
  number_dst: string;
  number_src: string;
  muted: boolean;
};
type Meeting = { meeting_sid: string; attendees: { hosts: number; participants: number; listeners: number } };

describe("three callers in one meeting", () => {
  test("each hears exactly whom it should, the API shows them, DELETE hangs them up", async () => {
    const host = await caller(HOST_HZ, "1001");
    const part = await caller(PART_HZ, "1002");
    const list = await caller(LIST_HZ, "1003");
    for (const [c, code] of [
      [host, "1111"],
      [part, "2222"],
      [list, "3333"],
    ] as const) {
      await bed.dialIn(c, code);
    }
    const calls = await eventually(
      async () => {
        const r = await bed.acct.account.req<{ items: Call[] }>("GET", "/conference/v2/calls?limit=10");
        const joined = r.body.items.filter((c) => c.meeting_sid !== null);
        return joined.length === 3 ? joined : null;
      },
      15_000,
      "three calls in the API",
    );
    const byRole = Object.fromEntries(calls.map((c) => [c.role, c]));
    expect(byRole.host?.access_code).toBe("1111");
    expect(byRole.participant?.access_code).toBe("2222");
    expect(byRole.listener?.access_code).toBe("3333");
    for (const c of calls) {
      expect(c.codecs).toBe("PCMU");
      expect(c.number_dst).toContain(NUMBER);
      expect(c.meeting_sid).toBe(calls[0]!.meeting_sid);
    }
    expect(byRole.listener?.muted).toBe(true);
    expect(byRole.host?.muted).toBe(false);

    const meetings = await bed.acct.account.req<{ items: Meeting[]; total: null }>("GET", "/conference/v2/meetings");
    expect(meetings.body.total).toBeNull();
    expect(meetings.body.items).toHaveLength(1);
    expect(meetings.body.items[0]!.attendees).toEqual({ hosts: 1, participants: 1, listeners: 1 });

    // Let the mix run, then end the meeting: everyone is hung up with BYE.
    await Bun.sleep(3000);
    const del = await bed.acct.account.req("DELETE", `/conference/v2/meetings/${calls[0]!.meeting_sid}`);
    expect(del.status).toBe(204);
    for (const c of [host, part, list]) await c.waitFor(/terminat|closed/i, 10_000);
    await eventually(
      async () => {
        const r = await bed.acct.account.req<{ items: Call[] }>("GET", "/conference/v2/calls");
        return r.body.items.length === 0;
      },
      5000,
      "calls gone",
    );
    for (const c of [host, part, list]) await c.stop();

    const freqs = [HOST_HZ, PART_HZ, LIST_HZ];
    const heardByHost = levelsAtEnd(host.recording(), freqs, 1.5);
    const heardByPart = levelsAtEnd(part.recording(), freqs, 1.5);
    const heardByList = levelsAtEnd(list.recording(), freqs, 1.5);
    const report = JSON.stringify({ heardByHost, heardByPart, heardByList });
    // Talkers hear the others, never themselves; nobody hears the listener.
    expect(heardByHost[PART_HZ]!, report).toBeGreaterThan(HEARD_DB);
    expect(heardByHost[HOST_HZ]!, report).toBeLessThan(ABSENT_DB);
    expect(heardByHost[LIST_HZ]!, report).toBeLessThan(ABSENT_DB);
    expect(heardByPart[HOST_HZ]!, report).toBeGreaterThan(HEARD_DB);
    expect(heardByPart[PART_HZ]!, report).toBeLessThan(ABSENT_DB);
    expect(heardByPart[LIST_HZ]!, report).toBeLessThan(ABSENT_DB);
    expect(heardByList[HOST_HZ]!, report).toBeGreaterThan(HEARD_DB);
    expect(heardByList[PART_HZ]!, report).toBeGreaterThan(HEARD_DB);
    expect(heardByList[LIST_HZ]!, report).toBeLessThan(ABSENT_DB);
  }, 90_000);
});

describe("refusals", () => {
  test("an unknown number gets 404", async () => {
    const c = await caller(0, "1004");
    c.dial(`sip:19995550000@127.0.0.1:${bed.svc.sipPort}`, 15);
    await c.waitFor(/404/, 10_000);
    await c.stop();
  }, 20_000);

  test("wrong codes are re-prompted three times, then the caller is hung up", async () => {
    const c = await caller(0, "1005");
    c.dial(bed.uri, 60);
    await c.waitFor(/Call established/, 10_000);
    for (let i = 0; i < 3; i++) {
      c.sendDigits("9999#");
      await Bun.sleep(3500);
    }
    await c.waitFor(/terminat|closed/i, 20_000);
    // Its record at the prompt goes as the node hangs up.
    await eventually(
      async () => (await bed.acct.account.req<{ items: Call[] }>("GET", "/conference/v2/calls")).body.items.length === 0,
      5000,
      "no calls",
    );
    await c.stop();
  }, 40_000);
});

describe("callers that leave badly", () => {
  test("hanging up during the prompt leaves nothing behind", async () => {
    const c = await caller(0, "1006");
    c.dial(bed.uri, 30);
    await c.waitFor(/Call established/, 10_000);
    c.command("/hangup");
    await c.waitFor(/terminat|closed/i, 5000);
    await c.stop();
    // Its record at the prompt goes as the node sees the BYE.
    await eventually(
      async () => (await bed.acct.account.req<{ items: Call[] }>("GET", "/conference/v2/calls")).body.items.length === 0,
      5000,
      "no calls",
    );
  }, 20_000);

  test("a caller that vanishes without BYE is removed after the RTP timeout", async () => {
    const c = await caller(HOST_HZ, "1007");
    await bed.dialIn(c, "1111");
    await eventually(
      async () => {
        const r = await bed.acct.account.req<{ items: Call[] }>("GET", "/conference/v2/calls");
        return r.body.items.filter((x) => x.meeting_sid !== null).length === 1;
      },
      10_000,
      "the call joined",
    );
    c.kill();
    await eventually(
      async () => {
        const r = await bed.acct.account.req<{ items: Call[] }>("GET", "/conference/v2/calls");
        const m = await bed.acct.account.req<{ items: unknown[] }>("GET", "/conference/v2/meetings");
        return r.body.items.length === 0 && m.body.items.length === 0;
      },
      10_000,
      "the call and its meeting removed",
    );
  }, 30_000);
});
