/**
 * End to end: the rest of the in-call controls on real calls (baresip), each checked by
 * what callers hear (tone spectra, and which prompt played, found by normalised
 * cross-correlation against the prompt clips) and by what the API reports. Timers are
 * shortened with room attributes, so nothing sleeps for minutes.
 *
 * One service serves every test (lib/meeting-harness.ts); each test uses its own meeting
 * room (its own codes and attributes) and ends its meeting with DELETE. E2E_KEEP=1 keeps the
 * callers' recordings and prints the service's output, for a look after a failure.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ABSENT_DB,
  BEEP_HZ,
  type Call,
  HEARD_DB,
  HOST_HZ,
  LIST_HZ,
  type Meeting,
  expectLevels,
  MeetingHarness,
  PART_HZ,
  type Phone,
  type Room,
} from "./lib/meeting-harness.ts";
import { PROMPT_HEARD_SCORE } from "./lib/prompt-detect.ts";
import { eventually, type Provisioned } from "./lib/service.ts";
import { readWav } from "./lib/spectrum.ts";
import {
  activeFraction,
  findTwoNotes,
  hannToneDb,
  peakToneDb,
  rmsDb,
  semitoneSpectrum,
  spectrumSimilarity,
  toneOnsets,
} from "./lib/tone-track.ts";

const NUMBER = "15162065921";
/** Entry tone 587 Hz then 880 Hz; exit tone the other way round (packages/media/src/tones.ts). */
const NOTE_LOW = 587;
const NOTE_HIGH = 880;

let harness: MeetingHarness;
let acct: Provisioned;
let recordingDir = "";
const phone = (toneHz: number): Phone => harness.phone(toneHz);
const room = (name: string, attributes: Record<string, string>): Promise<Room> => harness.room(name, attributes);
const dialIn = (p: Phone, code: string): Promise<Call> => harness.dialIn(p, code);
const calls = (): Promise<Call[]> => harness.calls();
const callOf = (p: Phone): Promise<Call | null> => harness.callOf(p);
const meeting = (sid: string): Promise<Meeting | null> => harness.meeting(sid);
const untilMuted = (p: Phone, muted: boolean): Promise<void> => harness.untilMuted(p, muted);
const finish = (meetingSid: string, phones: Phone[]): Promise<void> => harness.finish(meetingSid, phones);

MeetingHarness.perFile({ number: NUMBER }, (x) => {
  harness = x;
  acct = x.acct;
  recordingDir = x.recordingDir;
});

describe("question queue, hold", () => {
  test("Q&A: meeting-muted participants raise hands with *1; each host *1 lets the next speak and re-mutes the previous", async () => {
    const r = await room("qa", {});
    const [host, first, second] = await harness.dialInAll(r, [
      [HOST_HZ, "host"],
      [PART_HZ, "participant"],
      [LIST_HZ, "participant"],
    ]);
    const sid = first.meetingSid;
    await Bun.sleep(500);
    host.keys("*5");
    await eventually(async () => (await meeting(sid))?.participant_muted === "true", 5000, "participant_muted true");
    await untilMuted(first, true);
    await untilMuted(second, true);
    first.keys("*1");
    // Raised hands are not in the API: give each key time to arrive, in order.
    await Bun.sleep(800);
    second.keys("*1");
    await Bun.sleep(1200);
    const tFirst = host.at();
    host.keys("*1");
    await untilMuted(first, false);
    expect((await callOf(second))?.muted).toBe(true);
    // The host's own "meeting muted" prompt (3.3 s from *5) ends in here.
    await Bun.sleep(3500);
    const tSecond = host.at();
    host.keys("*1");
    await untilMuted(second, false);
    await untilMuted(first, true);
    await Bun.sleep(2500);
    const tNone = host.at();
    host.keys("*1");
    await untilMuted(second, true);
    await Bun.sleep(3000);
    expect((await callOf(first))?.muted).toBe(true);
    expect((await meeting(sid))?.participant_muted).toBe("true");
    await finish(sid, [host, first, second]);

    // Each participant is told it is muted, that its hand is up, that it may speak, and muted again.
    for (const p of [first, second]) {
      const h = p.heard();
      const report = `${p.user}: ${h.report(["meeting-muted", "hand-raised", "your-turn", "muted"])}`;
      const mm = h.find("meeting-muted");
      expect(mm.score, report).toBeGreaterThan(PROMPT_HEARD_SCORE);
      const raised = h.find("hand-raised", mm.atSeconds);
      expect(raised.score, report).toBeGreaterThan(PROMPT_HEARD_SCORE);
      const turn = h.find("your-turn", raised.atSeconds);
      expect(turn.score, report).toBeGreaterThan(PROMPT_HEARD_SCORE);
      expect(h.find("muted", turn.atSeconds).score, report).toBeGreaterThan(PROMPT_HEARD_SCORE);
    }
    // The host hears the first hand (once its own prompt is over), then the second, then neither.
    const H = host.heard();
    const report = H.report(["meeting-muted", "no-hands"]);
    const mm = H.find("meeting-muted");
    expect(mm.score, report).toBeGreaterThan(PROMPT_HEARD_SCORE);
    const from = Math.max(mm.atSeconds + mm.seconds, tFirst) + 0.5;
    expect(tSecond - from).toBeGreaterThan(1);
    const noHands = H.find("no-hands", tNone - 0.5);
    expect(noHands.score, report).toBeGreaterThan(PROMPT_HEARD_SCORE);
    const quiet = noHands.atSeconds + noHands.seconds + 0.3;
    const levels = {
      firstTurn: [host.level(PART_HZ, from, tSecond), host.level(LIST_HZ, from, tSecond)],
      secondTurn: [host.level(PART_HZ, tSecond + 0.5, tNone), host.level(LIST_HZ, tSecond + 0.5, tNone)],
      none: [host.level(PART_HZ, quiet, quiet + 1), host.level(LIST_HZ, quiet, quiet + 1)],
    };
    const lv = `${report} ${JSON.stringify(levels)}`;
    expect(levels.firstTurn[0]!, lv).toBeGreaterThan(HEARD_DB);
    expect(levels.firstTurn[1]!, lv).toBeLessThan(ABSENT_DB);
    expect(levels.secondTurn[0]!, lv).toBeLessThan(ABSENT_DB);
    expect(levels.secondTurn[1]!, lv).toBeGreaterThan(HEARD_DB);
    expect(levels.none[0]!, lv).toBeLessThan(ABSENT_DB);
    expect(levels.none[1]!, lv).toBeLessThan(ABSENT_DB);
  }, 60_000);

  test("hold: host *3 puts participants on hold (on_hold pl): they hear music, not the host, and are not heard; *3 again releases", async () => {
    const r = await room("hold", { conference_moh: "beep" });
    const { host, part } = await harness.hostAndParticipant(r);
    await Bun.sleep(1500);
    const tHold = part.at();
    const tHoldHost = host.at();
    host.keys("*3");
    await eventually(async () => (await meeting(part.meetingSid))?.on_hold === "pl", 5000, "on_hold pl");
    await Bun.sleep(4500);
    const tRelease = part.at();
    const tReleaseHost = host.at();
    host.keys("*3");
    await eventually(async () => (await meeting(part.meetingSid))?.on_hold === "", 5000, "on_hold empty");
    await Bun.sleep(3000);
    await finish(part.meetingSid, [host, part]);

    const levels = {
      partBefore: part.level(HOST_HZ, tHold - 1, tHold),
      partHeldHost: part.level(HOST_HZ, tHold + 0.8, tRelease),
      partHeldBeep: peakToneDb(part.heard().samples, part.heard().rate, BEEP_HZ, tHold + 0.8, tRelease),
      partAfter: part.level(HOST_HZ, tRelease + 0.8, part.heard().seconds - 0.3),
    };
    const report = JSON.stringify(levels);
    expectLevels(levels, { heard: ["partBefore", "partHeldBeep", "partAfter"], absent: ["partHeldHost"] });
    const beeps = toneOnsets(part.heard().samples, part.heard().rate, BEEP_HZ, tHold + 0.3, tRelease);
    expect(beeps.length, JSON.stringify(beeps)).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < beeps.length; i++) expect(beeps[i]! - beeps[i - 1]!, JSON.stringify(beeps)).toBeCloseTo(2, 0);
    // The host is told, and does not hear the held participant until the release.
    const H = host.heard();
    const on = H.find("hold-on", tHoldHost);
    const off = H.find("hold-off", tReleaseHost);
    expect(on.score, H.report(["hold-on", "hold-off"])).toBeGreaterThan(PROMPT_HEARD_SCORE);
    expect(off.score, H.report(["hold-on", "hold-off"])).toBeGreaterThan(PROMPT_HEARD_SCORE);
    expect(host.level(PART_HZ, on.atSeconds + on.seconds + 0.3, tReleaseHost), report).toBeLessThan(ABSENT_DB);
    expect(host.level(PART_HZ, off.atSeconds + off.seconds + 0.3, H.seconds - 0.3), report).toBeGreaterThan(HEARD_DB);
  }, 60_000);
});

describe("tones, count, instructions, music on hold", () => {
  test("entry/exit tones: the others hear a joining and a leaving caller; after host *8 they do not", async () => {
    const r = await room("tones", { conference_entrytones: "on", conference_exittones: "on" });
    const { host, part } = await harness.hostAndParticipant(r);
    await Bun.sleep(1000);
    const first = phone(0);
    const tJoin1 = part.at();
    await dialIn(first, r.listener);
    await Bun.sleep(1500);
    const tLeave1 = part.at();
    await first.stop();
    await eventually(async () => (await meeting(part.meetingSid))?.attendees.listeners === 0, 5000, "no listener");
    await Bun.sleep(1500);
    const tOff = part.at();
    const tOffHost = host.at();
    host.keys("*8");
    await Bun.sleep(2500);
    const second = phone(0);
    await dialIn(second, r.listener);
    expect((await meeting(part.meetingSid))?.attendees).toEqual({ hosts: 1, participants: 1, listeners: 1 });
    await Bun.sleep(1500);
    await second.stop();
    await eventually(async () => (await meeting(part.meetingSid))?.attendees.listeners === 0, 5000, "no listener");
    await Bun.sleep(1500);
    await finish(part.meetingSid, [host, part]);

    const P = part.heard();
    const entries = findTwoNotes(P.samples, P.rate, NOTE_LOW, NOTE_HIGH);
    const exits = findTwoNotes(P.samples, P.rate, NOTE_HIGH, NOTE_LOW);
    const report = JSON.stringify({ entries, exits, tJoin1, tLeave1, tOff });
    // Tones on: the listener's arrival and departure are heard (it dials, keys its code, then joins).
    expect(
      entries.some((t) => t > tJoin1 && t < tLeave1),
      report,
    ).toBe(true);
    expect(
      exits.some((t) => t > tLeave1 - 0.2 && t < tLeave1 + 2),
      report,
    ).toBe(true);
    // Tones off: nothing after *8.
    expect(
      entries.filter((t) => t > tOff),
      report,
    ).toEqual([]);
    expect(
      exits.filter((t) => t > tOff),
      report,
    ).toEqual([]);
    const H = host.heard();
    expect(H.find("tones-off", tOffHost - 0.5).score, H.report(["tones-off", "tones-on"])).toBeGreaterThan(PROMPT_HEARD_SCORE);
  }, 60_000);

  test("*2 tells the caller how many others are in, *4 a listener the commands it may use", async () => {
    const r = await room("info", {});
    const [host, part, list] = await harness.dialInAll(r, [
      [HOST_HZ, "host"],
      [PART_HZ, "participant"],
      [0, "listener"],
    ]);
    expect((await meeting(part.meetingSid))?.attendees).toEqual({ hosts: 1, participants: 1, listeners: 1 });
    await Bun.sleep(500);
    part.keys("*2");
    list.keys("*4");
    // The listener's instructions take about ten seconds.
    await Bun.sleep(12_000);
    await finish(part.meetingSid, [host, part, list]);

    const P = part.heard();
    const count = ["there-are", "num-2", "other-people"];
    expect(P.sequence(count), P.report(count)).not.toBeNull();
    const L = list.heard();
    const instructions = [
      "instructions",
      "instr-count",
      "star",
      "num-2",
      "instr-instructions",
      "star",
      "num-4",
      "instr-moh",
      "num-0",
    ];
    expect(L.sequence(instructions), L.report(instructions)).not.toBeNull();
    // Commands a listener may not use are not offered.
    for (const name of ["instr-mute", "instr-raise-hand", "instr-lock", "instr-drop"]) {
      expect(L.find(name).score, L.report([name])).toBeLessThan(PROMPT_HEARD_SCORE);
    }
  }, 60_000);

  test("music on hold: a caller alone hears music; 0 switches to the next source of call_moh_list", async () => {
    const r = await room("moh", { conference_moh_enabled: "on" });
    const p = phone(0);
    await dialIn(p, r.participant);
    expect((await meeting(p.meetingSid))?.attendees).toEqual({ hosts: 0, participants: 1, listeners: 0 });
    await Bun.sleep(4500);
    const t1 = p.at();
    p.keys("0");
    await Bun.sleep(3500);
    const t2 = p.at();
    p.keys("0");
    await Bun.sleep(4500);
    await finish(p.meetingSid, [p]);

    const h = p.heard();
    const first = h.find("first-one");
    expect(first.score, h.report(["first-one"])).toBeGreaterThan(PROMPT_HEARD_SCORE);
    const a = [first.atSeconds + first.seconds + 0.3, t1] as const;
    const b = [t1 + 0.6, t2] as const;
    const c = [t2 + 0.6, h.seconds - 0.3] as const;
    const specA = semitoneSpectrum(h.samples, h.rate, ...a);
    const specA2 = semitoneSpectrum(h.samples, h.rate, a[0], (a[0] + a[1]) / 2);
    const specA3 = semitoneSpectrum(h.samples, h.rate, (a[0] + a[1]) / 2, a[1]);
    const specB = semitoneSpectrum(h.samples, h.rate, ...b);
    const m = {
      activeA: activeFraction(h.samples, h.rate, ...a),
      activeB: activeFraction(h.samples, h.rate, ...b),
      activeC: activeFraction(h.samples, h.rate, ...c),
      simAA: spectrumSimilarity(specA2, specA3),
      simAB: spectrumSimilarity(specA, specB),
      beepC: peakToneDb(h.samples, h.rate, BEEP_HZ, ...c),
      rmsA: rmsDb(h.samples, h.rate, ...a),
      rmsB: rmsDb(h.samples, h.rate, ...b),
      rmsC: rmsDb(h.samples, h.rate, ...c),
    };
    const report = JSON.stringify(m);
    // default: music all the time.
    expect(m.activeA, report).toBeGreaterThan(0.9);
    // legacy: music all the time too, but other notes: the spectrum changes.
    expect(m.activeB, report).toBeGreaterThan(0.9);
    expect(m.simAB, report).toBeLessThan(0.4);
    // beep: an 800 Hz beep every two seconds, silence between.
    expect(m.beepC, report).toBeGreaterThan(HEARD_DB);
    expect(m.activeC, report).toBeLessThan(0.3);
    const beeps = toneOnsets(h.samples, h.rate, BEEP_HZ, ...c);
    expect(beeps.length, JSON.stringify(beeps)).toBeGreaterThanOrEqual(2);
  }, 60_000);
});

describe("recording, drop", () => {
  test("recording by keypad: host *9 starts a local recording (API recording true), *9 stops it; WAV and sidecar hold the mix", async () => {
    const r = await room("rec", { recording_method: "local", recording_metadata: "e2e-keypad" });
    const { host, part } = await harness.hostAndParticipant(r);
    const sid = part.meetingSid;
    expect((await meeting(sid))?.recording).toBe(false);
    await Bun.sleep(500);
    host.keys("*9");
    await eventually(async () => (await meeting(sid))?.recording === true, 5000, "recording true");
    await Bun.sleep(3000);
    host.keys("*9");
    await eventually(async () => (await meeting(sid))?.recording === false, 5000, "recording false");
    await Bun.sleep(1800);
    await finish(sid, [host, part]);

    const H = host.heard();
    expect(H.sequence(["recording-started"]), H.report(["recording-started", "recording-stopped"])).not.toBeNull();
    expect(H.find("recording-stopped").score, H.report(["recording-started", "recording-stopped"])).toBeGreaterThan(
      PROMPT_HEARD_SCORE,
    );
    const files = readdirSync(recordingDir).filter((f) => f.includes(sid));
    const wav = files.find((f) => f.endsWith(".wav"));
    const json = files.find((f) => f.endsWith(".json"));
    expect(wav, files.join(",")).toBeDefined();
    expect(json, files.join(",")).toBeDefined();
    const sidecar = JSON.parse(readFileSync(join(recordingDir, json!), "utf8")) as {
      meeting_sid: string;
      meeting_room_sid: string;
      metadata: string;
      stopped_at: string | null;
      duration_s: number;
      file: string;
    };
    expect(sidecar.meeting_sid).toBe(sid);
    expect(sidecar.meeting_room_sid).toBe(r.sid);
    expect(sidecar.metadata).toBe("e2e-keypad");
    expect(sidecar.file).toBe(wav!);
    expect(sidecar.stopped_at).not.toBeNull();
    expect(sidecar.duration_s).toBeGreaterThan(2);
    expect(sidecar.duration_s).toBeLessThan(6);
    const rec = readWav(join(recordingDir, wav!));
    const heard = {
      host: hannToneDb(rec.samples, rec.rate, HOST_HZ, 0, rec.samples.length),
      part: hannToneDb(rec.samples, rec.rate, PART_HZ, 0, rec.samples.length),
      seconds: rec.samples.length / rec.rate,
    };
    expect(heard.part, JSON.stringify(heard)).toBeGreaterThan(HEARD_DB);
    expect(heard.host, JSON.stringify(heard)).toBeGreaterThan(HEARD_DB);
    expect(Math.abs(heard.seconds - sidecar.duration_s)).toBeLessThan(0.5);
  }, 60_000);

  test("drop: host 92 ends the meeting: everyone hears goodbye and is hung up, the meeting is gone", async () => {
    const r = await room("drop", {});
    const [host, part, list] = await harness.dialInAll(r, [
      [HOST_HZ, "host"],
      [PART_HZ, "participant"],
      [0, "listener"],
    ]);
    const sid = part.meetingSid;
    await Bun.sleep(500);
    host.keys("92");
    for (const p of [host, part, list]) await p.untilEnded(10_000);
    await eventually(async () => (await meeting(sid)) === null, 5000, "the meeting gone");
    expect((await calls()).filter((c) => c.meeting_sid === sid)).toEqual([]);
    const list404 = await acct.account.req<{ items: Meeting[] }>("GET", "/conference/v2/meetings");
    expect(list404.body.items.map((m) => m.meeting_sid)).not.toContain(sid);
    for (const p of [host, part, list]) {
      await p.stop();
      const h = p.heard();
      expect(h.sequence(["meeting-ended", "goodbye"]), `${p.user}: ${h.report(["meeting-ended", "goodbye"])}`).not.toBeNull();
    }
  }, 60_000);
  // Regression: the meeting ended only when the host's own goodbye finished.
  test("drop: the meeting ends even when the host hangs up during its goodbye", async () => {
    const r = await room("drop-hangup", {});
    const { host, part } = await harness.hostAndParticipant(r);
    const sid = part.meetingSid;
    await Bun.sleep(500);
    host.keys("92");
    // A host who has ended the meeting need not listen to the end of "goodbye".
    await Bun.sleep(600);
    host.b.command("/hangup");
    const tHangup = Date.now();
    await host.untilEnded(5000);
    await part.untilEnded(8000);
    const after = (Date.now() - tHangup) / 1000;
    // The others were told the meeting ended: they are hung up after their goodbye (about 1.8 s).
    expect(after).toBeLessThan(4);
    await eventually(async () => (await meeting(sid)) === null, 5000, "the meeting gone");
    await part.stop();
    await host.stop();
    const h = part.heard();
    expect(h.sequence(["meeting-ended", "goodbye"]), h.report(["meeting-ended", "goodbye", "host-left"])).not.toBeNull();
  }, 60_000);
  // Regression: a prompt already playing delayed the goodbye past the hang-up.
  test("drop: a caller in the middle of a prompt still hears goodbye before the hang-up", async () => {
    const r = await room("drop-busy", {});
    const [host, list] = await harness.dialInAll(r, [
      [HOST_HZ, "host"],
      [0, "listener"],
    ]);
    const sid = list.meetingSid;
    await Bun.sleep(500);
    list.keys("*4");
    await Bun.sleep(1500);
    host.keys("92");
    for (const p of [host, list]) await p.untilEnded(20_000);
    await eventually(async () => (await meeting(sid)) === null, 5000, "the meeting gone");
    for (const p of [host, list]) await p.stop();
    const h = list.heard();
    expect(h.find("instructions").score, h.report(["instructions"])).toBeGreaterThan(PROMPT_HEARD_SCORE);
    expect(h.sequence(["meeting-ended", "goodbye"]), h.report(["meeting-ended", "goodbye"])).not.toBeNull();
  }, 60_000);
});

describe("meeting rules", () => {
  test("conference_start_how moderator: alone, a participant hears the wait prompt and music and is dropped after conference_start_wait; a host's arrival starts the meeting", async () => {
    const attrs = { conference_start_how: "moderator", conference_moh_enabled: "on" };
    const a = await room("wait-drop", { ...attrs, conference_start_wait: "3" });
    const b = await room("wait-start", { ...attrs, conference_start_wait: "30" });
    const alone = phone(PART_HZ);
    const waiting = phone(PART_HZ);
    await dialIn(alone, a.participant);
    const tJoined = Date.now();
    await dialIn(waiting, b.participant);
    expect((await meeting(alone.meetingSid))?.attendees).toEqual({ hosts: 0, participants: 1, listeners: 0 });

    await alone.untilEnded(15_000);
    const waited = (Date.now() - tJoined) / 1000;
    await eventually(async () => (await meeting(alone.meetingSid)) === null, 5000, "the abandoned meeting gone");
    expect(await callOf(alone)).toBeNull();
    await alone.stop();

    const tHost = waiting.at();
    const host = phone(HOST_HZ);
    await dialIn(host, b.host);
    expect(host.meetingSid).toBe(waiting.meetingSid);
    expect((await callOf(waiting))?.muted).toBe(false);
    await Bun.sleep(3000);
    await finish(waiting.meetingSid, [host, waiting]);

    // Dropped after the wait (3 s) and a goodbye, not at once and not much later.
    expect(waited, `waited ${waited}`).toBeGreaterThan(2.5);
    expect(waited, `waited ${waited}`).toBeLessThan(6.5);
    const A = alone.heard();
    const wait = A.find("wait-for-host");
    const bye = A.find("goodbye");
    const report = A.report(["wait-for-host", "goodbye"]);
    expect(wait.score, report).toBeGreaterThan(PROMPT_HEARD_SCORE);
    expect(bye.score, report).toBeGreaterThan(PROMPT_HEARD_SCORE);
    expect(bye.atSeconds - wait.atSeconds, report).toBeGreaterThan(2.5);
    // Music between the prompts.
    const musicA = activeFraction(A.samples, A.rate, wait.atSeconds + wait.seconds + 0.2, bye.atSeconds - 0.1);
    expect(musicA, report).toBeGreaterThan(0.8);

    const W = waiting.heard();
    const wait2 = W.find("wait-for-host");
    expect(wait2.score, W.report(["wait-for-host"])).toBeGreaterThan(PROMPT_HEARD_SCORE);
    expect(W.find("goodbye").score).toBeLessThan(PROMPT_HEARD_SCORE);
    expect(
      activeFraction(W.samples, W.rate, wait2.atSeconds + wait2.seconds + 0.2, tHost),
      "music while waiting",
    ).toBeGreaterThan(0.8);
    // Once the host is in, the two hear each other (and the music stops: the host's tone is all there is).
    const from = tHost + 2;
    const to = W.seconds - 0.3;
    const toneW = waiting.level(HOST_HZ, from, to);
    const rmsW = rmsDb(W.samples, W.rate, from, to);
    expect(toneW, `${toneW} ${rmsW}`).toBeGreaterThan(HEARD_DB);
    expect(rmsW - (toneW - 3), `${toneW} ${rmsW}`).toBeLessThan(1.5);
    expect(host.level(PART_HZ, 1, host.heard().seconds - 0.3)).toBeGreaterThan(HEARD_DB);
  }, 60_000);

  test("participant_muted relaxed (PATCH /meetings): participants are muted but may unmute with *6; with true *6 is refused", async () => {
    const r = await room("relaxed", {});
    const { host, part } = await harness.hostAndParticipant(r);
    const sid = part.meetingSid;
    await Bun.sleep(500);
    const relaxed = await acct.account.req<Meeting>("PATCH", `/conference/v2/meetings/${sid}`, { participant_muted: "relaxed" });
    expect(relaxed.status).toBe(200);
    expect(relaxed.body.participant_muted).toBe("relaxed");
    await untilMuted(part, true);
    const tMuted = host.at();
    await Bun.sleep(2500);
    part.keys("*6");
    await untilMuted(part, false);
    const tUnmuted = host.at();
    await Bun.sleep(2500);
    const strict = await acct.account.req<Meeting>("PATCH", `/conference/v2/meetings/${sid}`, { participant_muted: "true" });
    expect(strict.status).toBe(200);
    expect(strict.body.participant_muted).toBe("true");
    await untilMuted(part, true);
    const tStrict = host.at();
    const tStrictPart = part.at();
    await Bun.sleep(1000);
    part.keys("*6");
    // The refusal is said after "the meeting is muted" (3.3 s), and takes 3.3 s itself.
    await Bun.sleep(6000);
    expect((await callOf(part))?.muted).toBe(true);
    expect((await meeting(sid))?.participant_muted).toBe("true");
    const tEnd = host.at();
    await finish(sid, [host, part]);

    const levels = {
      relaxedMuted: host.level(PART_HZ, tMuted + 0.5, tUnmuted),
      selfUnmuted: host.level(PART_HZ, tUnmuted + 0.5, tStrict),
      strictMuted: host.level(PART_HZ, tStrict + 0.5, tEnd),
    };
    const P = part.heard();
    const report = `${JSON.stringify(levels)} ${P.report(["meeting-muted", "unmuted", "cannot-unmute"])}`;
    expect(levels.relaxedMuted, report).toBeLessThan(ABSENT_DB);
    expect(levels.selfUnmuted, report).toBeGreaterThan(HEARD_DB);
    expect(levels.strictMuted, report).toBeLessThan(ABSENT_DB);
    expect(P.occurrences("meeting-muted").length, report).toBe(2);
    expect(P.find("unmuted").score, report).toBeGreaterThan(PROMPT_HEARD_SCORE);
    expect(P.find("cannot-unmute", tStrictPart).score, report).toBeGreaterThan(PROMPT_HEARD_SCORE);
  }, 60_000);

  test("refused keys: a listener's *6 leaves it muted; a participant's host-only *5 changes nothing", async () => {
    const r = await room("refused", {});
    const [host, part, list] = await harness.dialInAll(r, [
      [HOST_HZ, "host"],
      [PART_HZ, "participant"],
      [LIST_HZ, "listener"],
    ]);
    const sid = part.meetingSid;
    await Bun.sleep(500);
    const t = host.at();
    list.keys("*6");
    part.keys("*5");
    await Bun.sleep(3000);
    expect((await callOf(list))?.muted).toBe(true);
    expect((await callOf(part))?.muted).toBe(false);
    expect((await meeting(sid))?.participant_muted).toBe("false");
    await finish(sid, [host, part, list]);

    const L = list.heard();
    const P = part.heard();
    expect(L.find("listener-only").score, L.report(["listener-only", "unmuted"])).toBeGreaterThan(PROMPT_HEARD_SCORE);
    expect(L.find("unmuted").score, L.report(["listener-only", "unmuted"])).toBeLessThan(PROMPT_HEARD_SCORE);
    expect(P.find("host-only").score, P.report(["host-only", "meeting-muted"])).toBeGreaterThan(PROMPT_HEARD_SCORE);
    expect(P.find("meeting-muted").score, P.report(["host-only", "meeting-muted"])).toBeLessThan(PROMPT_HEARD_SCORE);
    const levels = {
      part: host.level(PART_HZ, t + 0.5, host.heard().seconds - 0.3),
      list: host.level(LIST_HZ, t, host.heard().seconds - 0.3),
    };
    expect(levels.part, JSON.stringify(levels)).toBeGreaterThan(HEARD_DB);
    expect(levels.list, JSON.stringify(levels)).toBeLessThan(ABSENT_DB);
  }, 60_000);

  // Regression: meetings sharing a music source advanced it once each per tick.
  test("music on hold in two meetings at once plays at its own pace in each", async () => {
    // Every meeting's mixer takes frames from the node's music sources: two meetings
    // listening to the same source must each hear it whole, not every other frame.
    const attrs = { conference_moh_enabled: "on", conference_moh: "beep" };
    const x = await room("moh-x", attrs);
    const y = await room("moh-y", attrs);
    const a = phone(0);
    const b = phone(0);
    await dialIn(a, x.participant);
    await dialIn(b, y.participant);
    expect(a.meetingSid).not.toBe(b.meetingSid);
    await Bun.sleep(7000);
    const end = a.at();
    await finish(a.meetingSid, [a]);
    await finish(b.meetingSid, [b]);

    const h = a.heard();
    const first = h.find("first-one");
    const beeps = toneOnsets(h.samples, h.rate, BEEP_HZ, first.atSeconds + first.seconds + 0.2, end);
    const report = JSON.stringify(beeps);
    expect(beeps.length, report).toBeGreaterThanOrEqual(2);
    // The `beep` source: one beep every two seconds.
    for (let i = 1; i < beeps.length; i++) expect(beeps[i]! - beeps[i - 1]!, report).toBeCloseTo(2, 0);
  }, 60_000);

  // conference_moh_enabled covers waiting for the start too (call-flow-attributes.md).
  test("conference_moh_enabled off: a participant waiting for the host hears no music", async () => {
    // The attributes doc: conference_moh_enabled is "music on hold while alone or waiting
    // for the start". The account turns it off; this room does not turn it back on.
    const r = await room("wait-quiet", { conference_start_how: "moderator", conference_start_wait: "30" });
    const p = phone(0);
    await dialIn(p, r.participant);
    await Bun.sleep(4500);
    await finish(p.meetingSid, [p]);
    const h = p.heard();
    const wait = h.find("wait-for-host");
    expect(wait.score, h.report(["wait-for-host"])).toBeGreaterThan(PROMPT_HEARD_SCORE);
    const from = wait.atSeconds + wait.seconds + 0.2;
    const active = activeFraction(h.samples, h.rate, from, h.seconds - 0.3);
    expect(active, `${from}-${h.seconds}: ${rmsDb(h.samples, h.rate, from, h.seconds - 0.3)} dBFS`).toBeLessThan(0.1);
  }, 60_000);
});
