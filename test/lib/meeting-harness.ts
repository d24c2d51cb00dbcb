/**
 * One running service for a whole end-to-end test file, and what its tests use: baresip
 * callers each sending its own tone (`Phone`), meeting rooms of their own codes and
 * attributes (`room`), dialing in, reading calls and meetings from the API, and ending a
 * meeting. Each test uses its own room and ends its meeting; `clear` (afterEach) removes
 * whatever a failed test left behind. E2E_KEEP=1 keeps the callers' recordings (baresip-*
 * in the temp directory) and prints the service's output, for a look after a failure.
 */
import { afterAll, afterEach, beforeAll, expect } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Baresip } from "./baresip.ts";
import { HeardAudio } from "./prompt-detect.ts";
import { eventually, type Provisioned, provision, type Service, startService } from "./service.ts";
import { hannToneDb } from "./tone-track.ts";

/** Tones of the callers: host, participant, listener. */
export const HOST_HZ = 440;
export const PART_HZ = 1000;
export const LIST_HZ = 1500;
/** The `beep` music on hold: an 800 Hz beep every two seconds. */
export const BEEP_HZ = 800;
/** A tone counts as heard above this level (callers send at -12 dBFS), absent below the other. */
export const HEARD_DB = -35;
export const ABSENT_DB = -50;

/**
 * Expects each level named in `heard` above HEARD_DB and each named in `absent` below
 * ABSENT_DB; a failure names the level and shows them all.
 * @example expectLevels(levels, { heard: ["before", "after"], absent: ["held"] });
 */
export function expectLevels<K extends string>(levels: Record<K, number>, which: { heard: K[]; absent: K[] }): void {
  const report = JSON.stringify(levels);
  for (const k of which.heard) expect(levels[k], `${k}: ${report}`).toBeGreaterThan(HEARD_DB);
  for (const k of which.absent) expect(levels[k], `${k}: ${report}`).toBeLessThan(ABSENT_DB);
}

/** What baresip prints when its call is over. */
const CALL_ENDED = /terminat|closed/i;

/** The Call object as the tests read it. */
export type Call = { call_sid: string; role: string; muted: boolean; on_hold: boolean; meeting_sid: string; number_src: string };
/** The Meeting object as the tests read it. */
export type Meeting = {
  meeting_sid: string;
  locked: boolean;
  participant_muted: string;
  on_hold: string;
  recording: boolean;
  attendees: { hosts: number; participants: number; listeners: number };
};

/** A meeting room's sid and its three codes. */
export interface Room {
  sid: string;
  host: string;
  participant: string;
  listener: string;
}

/** A baresip caller with its own tone, and the wall clock of its call (to find moments in its recording). */
export class Phone {
  readonly b: Baresip;
  /** Date.now() when the call was established (about where its recording starts). */
  t0 = 0;
  callSid = "";
  meetingSid = "";
  private heardCache: HeardAudio | null = null;

  constructor(
    readonly toneHz: number,
    readonly user: string,
    ports: { sipPort: number; rtpPortBase: number },
    private readonly onStop: (p: Phone) => void,
  ) {
    this.b = new Baresip({ ...ports, toneHz, user });
  }

  /** Seconds since the call was established: a position in its recording. */
  at(): number {
    return (Date.now() - this.t0) / 1000;
  }

  keys(digits: string): void {
    this.b.sendDigits(digits);
  }

  /** Whether baresip has said the call is over. */
  ended(): boolean {
    return CALL_ENDED.test(this.b.output);
  }

  /** Waits until baresip says the call is over. */
  async untilEnded(timeoutMs: number): Promise<void> {
    await this.b.waitFor(CALL_ENDED, timeoutMs);
  }

  /** Hangs up (BYE) and waits until baresip says the call is over. */
  async hangup(): Promise<void> {
    this.b.command("/hangup");
    await this.untilEnded(5000);
  }

  async stop(): Promise<void> {
    await this.b.stop();
    this.onStop(this);
  }

  /** What the caller heard (after `stop`). */
  heard(): HeardAudio {
    this.heardCache ??= HeardAudio.fromFile(this.b.recording());
    return this.heardCache;
  }

  /** Level of a tone (dBFS) in the recording over [from, to) seconds. */
  level(hz: number, from: number, to: number): number {
    const h = this.heard();
    return hannToneDb(h.samples, h.rate, hz, Math.round(from * h.rate), Math.min(h.samples.length, Math.round(to * h.rate)));
  }
}

/** Options of {@link MeetingHarness.start}. */
export interface MeetingHarnessOptions {
  /** The DID the callers dial. */
  number: string;
  /** More environment for the service. */
  env?: Record<string, string>;
}

/** Account attributes of every harness: no greeting, tones, music or count announcements; each room turns on what it tests. */
const QUIET = {
  conference_entrytones: "off",
  conference_exittones: "off",
  conference_moh_enabled: "off",
  call_announceparticipantcount: "",
  conference_greeting_enabled: "off",
};

export class MeetingHarness {
  private readonly live = new Set<Phone>();
  private readonly all: Phone[] = [];
  private users = 0;
  private codes = 0;
  private nextPort: number;

  private constructor(
    readonly svc: Service,
    readonly acct: Provisioned,
    readonly number: string,
    /** RECORDING_DIR of the service (local recordings). */
    readonly recordingDir: string,
    block: number,
    private readonly blockEnd: number,
  ) {
    this.nextPort = block;
  }

  /** Starts the service, provisions an account with `number` and quiets its attributes. */
  static async start(opts: MeetingHarnessOptions): Promise<MeetingHarness> {
    // A block of 600 ports below 32768 (the kernel's ephemeral range starts there): callers
    // take the first 480 (11 each), the service's RTP pool the last 120.
    const block = 20000 + Math.floor(Math.random() * 20) * 600;
    const recordingDir = mkdtempSync(join(tmpdir(), "e2e-recordings-"));
    let svc: Service | undefined;
    try {
      svc = await startService({
        rtpPortMin: block + 480,
        rtpPortMax: block + 599,
        env: { RECORDING_DIR: recordingDir, ...opts.env },
      });
      const acct = await provision(svc, opts.number);
      const r = await acct.account.req("PATCH", `/conference/v2/accounts/${acct.accountSid}`, { attributes: QUIET });
      if (r.status !== 200) throw new Error(`account attributes: ${r.status} ${JSON.stringify(r.body)}`);
      return new MeetingHarness(svc, acct, opts.number, recordingDir, block, block + 480);
    } catch (err) {
      await svc?.stop();
      rmSync(recordingDir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Registers the hooks of a test file that shares one harness: start it before all tests
   * (and hand it to `ready`), clear it after each, stop it after all.
   */
  static perFile(opts: MeetingHarnessOptions, ready: (h: MeetingHarness) => void): void {
    let h: MeetingHarness | undefined;
    beforeAll(async () => {
      h = await MeetingHarness.start(opts);
      ready(h);
    }, 60_000);
    afterEach(async () => {
      await h!.clear();
    }, 30_000);
    afterAll(async () => {
      await h?.stop();
    }, 30_000);
  }

  /** A new caller sending a tone of `toneHz` (0: silence). */
  phone(toneHz: number): Phone {
    const user = `77${String(++this.users).padStart(3, "0")}`;
    // One SIP port and ten RTP ports per caller, from this run's block.
    if (this.nextPort + 11 > this.blockEnd) throw new Error("out of caller ports: widen the block");
    const p = new Phone(toneHz, user, { sipPort: this.nextPort, rtpPortBase: this.nextPort + 1 }, (x) => this.live.delete(x));
    this.nextPort += 11;
    this.live.add(p);
    this.all.push(p);
    return p;
  }

  /** A meeting room of its own codes, with `attributes` set by PATCH (the way an operator would). */
  async room(name: string, attributes: Record<string, string>): Promise<Room> {
    const base = 5000 + 10 * ++this.codes;
    const r: Omit<Room, "sid"> = { host: `${base + 1}`, participant: `${base + 2}`, listener: `${base + 3}` };
    const created = await this.acct.account.req<{ meeting_room_sid: string }>("POST", "/conference/v2/meeting_rooms", {
      name,
      access_codes: [
        { access_code: r.host, role: "host" },
        { access_code: r.participant, role: "participant" },
        { access_code: r.listener, role: "listener" },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const sid = created.body.meeting_room_sid;
    if (Object.keys(attributes).length) {
      const patched = await this.acct.account.req("PATCH", `/conference/v2/meeting_rooms/${sid}`, { attributes });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    }
    return { sid, ...r };
  }

  /**
   * Dials in (to the service, or to another mixer node's or a proxy's `host` and
   * `sipPort`), keys the code and waits until the API lists the call in a meeting (at
   * the prompt it is listed already, with `meeting_sid` null).
   */
  async dialIn(p: Phone, code: string, sipPort = this.svc.sipPort, host = "127.0.0.1"): Promise<Call> {
    p.b.dial(`sip:${this.number}@${host}:${sipPort}`, 60);
    await p.b.waitFor(/Call established/, 10_000);
    p.t0 = Date.now();
    p.keys(`${code}#`);
    const c = await eventually(
      async () => (await this.calls()).find((c) => c.number_src.includes(`sip:${p.user}@`) && c.meeting_sid !== null),
      10_000,
      `the call of ${p.user}`,
    );
    p.callSid = c.call_sid;
    p.meetingSid = c.meeting_sid;
    return c;
  }

  /** New phones of the given tones, dialled into `r` one after the other with the code of the given role. */
  async dialInAll<const T extends readonly (readonly [toneHz: number, role: "host" | "participant" | "listener"])[]>(
    r: Room,
    who: T,
  ): Promise<{ -readonly [K in keyof T]: Phone }> {
    const phones = who.map(([hz]) => this.phone(hz));
    for (const [i, p] of phones.entries()) await this.dialIn(p, r[who[i]![1]]);
    return phones as { -readonly [K in keyof T]: Phone };
  }

  /** A host and a participant (tones HOST_HZ, PART_HZ) dialled into `r`, the host first. */
  async hostAndParticipant(r: Room): Promise<{ host: Phone; part: Phone }> {
    const host = this.phone(HOST_HZ);
    const part = this.phone(PART_HZ);
    await this.dialIn(host, r.host);
    await this.dialIn(part, r.participant);
    return { host, part };
  }

  async calls(): Promise<Call[]> {
    const r = await this.acct.account.req<{ items: Call[] }>("GET", "/conference/v2/calls?limit=100");
    return r.body.items;
  }

  async callOf(p: Phone): Promise<Call | null> {
    const r = await this.acct.account.req<Call>("GET", `/conference/v2/calls/${p.callSid}`);
    return r.status === 200 ? r.body : null;
  }

  async meeting(sid: string): Promise<Meeting | null> {
    const r = await this.acct.account.req<Meeting>("GET", `/conference/v2/meetings/${sid}`);
    return r.status === 200 ? r.body : null;
  }

  /** Waits until the API shows the call with `muted` as given. */
  async untilMuted(p: Phone, muted: boolean): Promise<void> {
    await eventually(async () => (await this.callOf(p))?.muted === muted, 5000, `${p.user} muted=${muted}`);
  }

  /** Ends the meeting by DELETE, waits until its calls are gone and stops the callers. */
  async finish(meetingSid: string, phones: Phone[]): Promise<void> {
    const del = await this.acct.account.req("DELETE", `/conference/v2/meetings/${meetingSid}`);
    expect([204, 404]).toContain(del.status);
    await eventually(
      async () => !(await this.calls()).some((c) => c.meeting_sid === meetingSid),
      10_000,
      "the meeting's calls gone",
    );
    for (const p of phones) await p.stop();
  }

  /** After each test: a failed test may leave callers and meetings behind; clear them for the next one. */
  async clear(): Promise<void> {
    for (const p of [...this.live]) await p.stop();
    const r = await this.acct.account.req<{ items: Meeting[] }>("GET", "/conference/v2/meetings");
    for (const m of r.body.items ?? []) await this.acct.account.req("DELETE", `/conference/v2/meetings/${m.meeting_sid}`);
  }

  /** After all tests: callers, the service, recordings. */
  async stop(): Promise<void> {
    if (process.env.E2E_KEEP) console.log(`service output:\n${this.svc.output()}`);
    for (const p of [...this.live]) await p.stop();
    await this.svc.stop();
    if (!process.env.E2E_KEEP) for (const p of this.all) p.b.cleanup();
    rmSync(this.recordingDir, { recursive: true, force: true });
  }
}
