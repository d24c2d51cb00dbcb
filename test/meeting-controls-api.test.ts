/**
 * End to end: meeting controls from the API (PATCH /calls, PATCH /meetings) and the
 * meeting rules that run by themselves (single member, moderator and last stops,
 * recording_stop_how, remote recording), on real calls (baresip). Each test checks what
 * callers hear (tone levels, and which prompt played, by cross-correlation against the
 * prompt clips) and what the API reports. Timers are shortened with room attributes.
 *
 * One service serves every test (lib/meeting-harness.ts); each test uses its own meeting
 * rooms. Tests that need two situations (on/off, moderator/last) run both rooms at once.
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
} from "./lib/meeting-harness.ts";
import { hasNetSip, NetSipRecorder } from "@conf/mixer/testing/net-sip-recorder";
import { PROMPT_HEARD_SCORE } from "./lib/prompt-detect.ts";
import { eventually } from "./lib/service.ts";
import { readWav } from "./lib/spectrum.ts";
import { hannToneDb, peakToneDb, toneOnsets } from "./lib/tone-track.ts";

const NUMBER = "15162065922";
/** Where a change made by the API must have reached the mix (one mix period plus the RTP path), seconds. */
const SETTLE = 0.6;

let h: MeetingHarness;

/** PATCH of an API object; the status must be 200. */
async function patch<T>(path: string, body: unknown): Promise<T> {
  const r = await h.acct.account.req<T>("PATCH", `/conference/v2/${path}`, body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

type Sidecar = { meeting_sid: string; metadata: string; stopped_at: string | null; duration_s: number; file: string };

/** The local recording of a meeting: its sidecar (null before it is written) and WAV path. */
function localRecording(meetingSid: string): { sidecar: Sidecar | null; wav: string | null } {
  const files = readdirSync(h.recordingDir).filter((f) => f.includes(meetingSid));
  const json = files.find((f) => f.endsWith(".json"));
  const wav = files.find((f) => f.endsWith(".wav"));
  let sidecar: Sidecar | null = null;
  if (json) {
    try {
      sidecar = JSON.parse(readFileSync(join(h.recordingDir, json), "utf8")) as Sidecar;
    } catch {
      // being rewritten: read again later
    }
  }
  return { sidecar, wav: wav ? join(h.recordingDir, wav) : null };
}

// The remote-recording test's recorder listens on loopback: the operator's lab setting.
MeetingHarness.perFile({ number: NUMBER, env: { OUTBOUND_ALLOW_PRIVATE: "1" } }, (x) => {
  h = x;
});

describe("hold and mute from the API", () => {
  test('PATCH /calls {"on_hold":"true"}: the held participant hears music, not the host, and is not heard; false releases', async () => {
    const r = await h.room("call-hold", { conference_moh: "beep" });
    const { host, part } = await h.hostAndParticipant(r);
    const sid = part.meetingSid;
    await Bun.sleep(1500);
    const tHold = part.at();
    const tHoldHost = host.at();
    // A string, as the reference's examples send booleans.
    const held = await patch<Call>(`calls/${part.callSid}`, { on_hold: "true" });
    expect(held.on_hold).toBe(true);
    expect((await h.callOf(part))?.on_hold).toBe(true);
    expect((await h.callOf(host))?.on_hold).toBe(false);
    // The call's own hold: the meeting's role set is untouched.
    expect((await h.meeting(sid))?.on_hold).toBe("");
    await Bun.sleep(4500);
    const tRelease = part.at();
    const tReleaseHost = host.at();
    const released = await patch<Call>(`calls/${part.callSid}`, { on_hold: false });
    expect(released.on_hold).toBe(false);
    expect((await h.callOf(part))?.on_hold).toBe(false);
    await Bun.sleep(2500);
    await h.finish(sid, [host, part]);

    const P = part.heard();
    const levels = {
      partHearsHostBefore: part.level(HOST_HZ, tHold - 1, tHold),
      partHearsHostHeld: part.level(HOST_HZ, tHold + SETTLE, tRelease),
      partHearsBeepHeld: peakToneDb(P.samples, P.rate, BEEP_HZ, tHold + SETTLE, tRelease),
      partHearsHostAfter: part.level(HOST_HZ, tRelease + SETTLE, P.seconds - 0.3),
      hostHearsPartBefore: host.level(PART_HZ, tHoldHost - 1, tHoldHost),
      hostHearsPartHeld: host.level(PART_HZ, tHoldHost + SETTLE, tReleaseHost),
      hostHearsPartAfter: host.level(PART_HZ, tReleaseHost + SETTLE, host.heard().seconds - 0.3),
    };
    const report = JSON.stringify(levels);
    expectLevels(levels, {
      heard: ["partHearsHostBefore", "partHearsBeepHeld", "partHearsHostAfter", "hostHearsPartBefore", "hostHearsPartAfter"],
      absent: ["partHearsHostHeld", "hostHearsPartHeld"],
    });
    // The music is the `beep` source: a beep every two seconds, and none after the release.
    const beeps = toneOnsets(P.samples, P.rate, BEEP_HZ, tHold + SETTLE, tRelease);
    expect(beeps.length, JSON.stringify(beeps)).toBeGreaterThanOrEqual(2);
    expect(peakToneDb(P.samples, P.rate, BEEP_HZ, tRelease + SETTLE, P.seconds - 0.3), report).toBeLessThan(ABSENT_DB);
  }, 45_000);

  test('PATCH /meetings {"on_hold":"l"}: only listeners are held (music, not the host); participants still hear and are heard; "" releases', async () => {
    const r = await h.room("meeting-hold", { conference_moh: "beep" });
    const host = h.phone(HOST_HZ);
    const part = h.phone(PART_HZ);
    const list = h.phone(LIST_HZ);
    await h.dialIn(host, r.host);
    await h.dialIn(part, r.participant);
    await h.dialIn(list, r.listener);
    const sid = part.meetingSid;
    await Bun.sleep(1500);
    const t = { list: list.at(), part: part.at(), host: host.at() };
    const held = await patch<Meeting>(`meetings/${sid}`, { on_hold: "l" });
    expect(held.on_hold).toBe("l");
    expect((await h.meeting(sid))?.on_hold).toBe("l");
    await Bun.sleep(4500);
    const u = { list: list.at(), part: part.at(), host: host.at() };
    const released = await patch<Meeting>(`meetings/${sid}`, { on_hold: "" });
    expect(released.on_hold).toBe("");
    expect((await h.meeting(sid))?.on_hold).toBe("");
    await Bun.sleep(2500);
    expect((await h.meeting(sid))?.attendees).toEqual({ hosts: 1, participants: 1, listeners: 1 });
    await h.finish(sid, [host, part, list]);

    const L = list.heard();
    const P = part.heard();
    const levels = {
      listHearsHostBefore: list.level(HOST_HZ, t.list - 1, t.list),
      listHearsHostHeld: list.level(HOST_HZ, t.list + SETTLE, u.list),
      listHearsBeepHeld: peakToneDb(L.samples, L.rate, BEEP_HZ, t.list + SETTLE, u.list),
      listHearsHostAfter: list.level(HOST_HZ, u.list + SETTLE, L.seconds - 0.3),
      partHearsHostHeld: part.level(HOST_HZ, t.part + SETTLE, u.part),
      partHearsBeepHeld: peakToneDb(P.samples, P.rate, BEEP_HZ, t.part + SETTLE, u.part),
      hostHearsPartHeld: host.level(PART_HZ, t.host + SETTLE, u.host),
      // A listener is never heard, held or not.
      hostHearsList: host.level(LIST_HZ, 1, host.heard().seconds - 0.3),
    };
    expectLevels(levels, {
      heard: ["listHearsHostBefore", "listHearsBeepHeld", "listHearsHostAfter", "partHearsHostHeld", "hostHearsPartHeld"],
      absent: ["listHearsHostHeld", "partHearsBeepHeld", "hostHearsList"],
    });
  }, 45_000);

  test('PATCH /calls {"muted":true}: the caller hears "muted" and is not heard; {"muted":false}: "unmuted" and heard again', async () => {
    const r = await h.room("api-mute", {});
    const { host, part } = await h.hostAndParticipant(r);
    const sid = part.meetingSid;
    await Bun.sleep(1500);
    const tMute = part.at();
    const tMuteHost = host.at();
    expect((await patch<Call>(`calls/${part.callSid}`, { muted: true })).muted).toBe(true);
    expect((await h.callOf(part))?.muted).toBe(true);
    await Bun.sleep(2500);
    const tUnmute = part.at();
    const tUnmuteHost = host.at();
    expect((await patch<Call>(`calls/${part.callSid}`, { muted: false })).muted).toBe(false);
    expect((await h.callOf(part))?.muted).toBe(false);
    await Bun.sleep(2500);
    await h.finish(sid, [host, part]);

    const P = part.heard();
    const report = P.report(["muted", "unmuted"], tMute - 0.2);
    const muted = P.find("muted", tMute - 0.2, tUnmute);
    const unmuted = P.find("unmuted", tUnmute - 0.2);
    expect(muted.score, report).toBeGreaterThan(PROMPT_HEARD_SCORE);
    expect(unmuted.score, report).toBeGreaterThan(PROMPT_HEARD_SCORE);
    // Said at once, not at some later moment.
    expect(muted.atSeconds - tMute, report).toBeLessThan(1.5);
    expect(unmuted.atSeconds - tUnmute, report).toBeLessThan(1.5);
    // Nothing was said before the first PATCH.
    expect(P.find("muted", 0, tMute - 0.2).score, report).toBeLessThan(PROMPT_HEARD_SCORE);
    const levels = {
      before: host.level(PART_HZ, tMuteHost - 1, tMuteHost),
      muted: host.level(PART_HZ, tMuteHost + SETTLE, tUnmuteHost),
      after: host.level(PART_HZ, tUnmuteHost + SETTLE, host.heard().seconds - 0.3),
    };
    expect(levels.before, JSON.stringify(levels)).toBeGreaterThan(HEARD_DB);
    expect(levels.muted, JSON.stringify(levels)).toBeLessThan(ABSENT_DB);
    expect(levels.after, JSON.stringify(levels)).toBeGreaterThan(HEARD_DB);
  }, 45_000);
});

describe("meeting rules", () => {
  test('conference_singlemember on: a caller alone hears "only-one", not "first-one"; off: "first-one"', async () => {
    const on = await h.room("single-on", { conference_singlemember: "on" });
    const off = await h.room("single-off", { conference_singlemember: "off" });
    const a = h.phone(0);
    const b = h.phone(0);
    await Promise.all([h.dialIn(a, on.participant), h.dialIn(b, off.participant)]);
    expect(a.meetingSid).not.toBe(b.meetingSid);
    for (const p of [a, b])
      expect((await h.meeting(p.meetingSid))?.attendees).toEqual({ hosts: 0, participants: 1, listeners: 0 });
    await Bun.sleep(3000);
    await Promise.all([h.finish(a.meetingSid, [a]), h.finish(b.meetingSid, [b])]);

    const A = a.heard();
    const B = b.heard();
    const names = ["only-one", "first-one"];
    expect(A.find("only-one").score, A.report(names)).toBeGreaterThan(PROMPT_HEARD_SCORE);
    expect(A.find("first-one").score, A.report(names)).toBeLessThan(PROMPT_HEARD_SCORE);
    expect(B.find("first-one").score, B.report(names)).toBeGreaterThan(PROMPT_HEARD_SCORE);
    expect(B.find("only-one").score, B.report(names)).toBeLessThan(PROMPT_HEARD_SCORE);
  }, 45_000);

  test("conference_stop_how moderator (wait 5 s): the participant hears the warning, then goodbye, is hung up and the meeting is gone", async () => {
    await moderatorStop(5, {});
  }, 45_000);

  // Regression: a wait shorter than the warning itself (3.9 s) let the goodbye cut it.
  test("conference_stop_how moderator (wait 3 s): the participant hears the whole warning before the goodbye", async () => {
    await moderatorStop(3, {});
  }, 45_000);

  // Regression: the warning was played into the mix, which a caller left alone (hearing
  // music on hold) never hears.
  test("conference_stop_how moderator with music on hold enabled: the participant left alone still hears the warning", async () => {
    await moderatorStop(5, { conference_moh_enabled: "on" });
  }, 45_000);

  test("conference_stop_how last: the participant stays after the host leaves (API hosts 0, past conference_stop_wait), and the meeting ends with it", async () => {
    const r = await h.room("stop-last", { conference_stop_how: "last", conference_stop_wait: "2" });
    const { host, part } = await h.hostAndParticipant(r);
    const sid = part.meetingSid;
    await Bun.sleep(1000);
    const tLeft = part.at();
    await host.hangup();
    await eventually(async () => (await h.meeting(sid))?.attendees.hosts === 0, 5000, "no host");
    // Well past conference_stop_wait, and past a goodbye if one were said.
    await Bun.sleep(4500);
    expect(part.ended(), part.b.output.slice(-500)).toBe(false);
    expect((await h.meeting(sid))?.attendees).toEqual({ hosts: 0, participants: 1, listeners: 0 });
    expect((await h.callOf(part))?.role).toBe("participant");
    const tLeaves = part.at();
    await part.hangup();
    await eventually(async () => (await h.meeting(sid)) === null, 5000, "the meeting gone with its last caller");
    await Promise.all([host.stop(), part.stop()]);

    const P = part.heard();
    const names = ["host-left", "meeting-ending", "meeting-ended", "goodbye"];
    for (const name of names) expect(P.find(name, tLeft, tLeaves).score, P.report(names, tLeft)).toBeLessThan(PROMPT_HEARD_SCORE);
  }, 45_000);
});

/**
 * `conference_stop_how` `moderator` with `conference_stop_wait` `wait`: the host hangs up;
 * the participant must hear "the host has left, this meeting will end in N seconds", then
 * "meeting ended, goodbye" about `wait` seconds after the host left, and be hung up; the
 * meeting is then gone from the API.
 */
async function moderatorStop(wait: number, attributes: Record<string, string>): Promise<void> {
  const r = await h.room(`stop-moderator-${wait}`, {
    conference_stop_how: "moderator",
    conference_stop_wait: String(wait),
    ...attributes,
  });
  const { host, part } = await h.hostAndParticipant(r);
  const sid = part.meetingSid;
  await Bun.sleep(1000);
  const tLeft = Date.now();
  const tLeftPart = part.at();
  await host.hangup();
  await eventually(async () => (await h.meeting(sid))?.attendees.hosts === 0, 5000, "no host");
  expect((await h.meeting(sid))?.attendees.participants).toBe(1);
  await part.untilEnded((wait + 10) * 1000);
  const droppedAfter = (Date.now() - tLeft) / 1000;
  await eventually(async () => (await h.meeting(sid)) === null, 5000, "the meeting gone");
  expect((await h.calls()).filter((c) => c.meeting_sid === sid)).toEqual([]);
  await Promise.all([host.stop(), part.stop()]);

  // Dropped after the wait and a goodbye (1.8 s): not at once, not much later.
  expect(droppedAfter, `dropped after ${droppedAfter} s`).toBeGreaterThan(wait);
  expect(droppedAfter, `dropped after ${droppedAfter} s`).toBeLessThan(wait + 3.5);
  // The warning starts within tens of ms of the hang-up, and the recording's clock may lag
  // the test's by as much (it starts with the first packet): look from a little before.
  const tLeftRec = tLeftPart - 0.3;
  const P = part.heard();
  const warning = ["host-left", "meeting-ending", `num-${wait}`, "seconds"];
  const goodbye = ["meeting-ended", "goodbye"];
  const report = P.report([...warning, ...goodbye], tLeftRec);
  const told = P.sequence(warning, tLeftRec);
  expect(told, report).not.toBeNull();
  expect(told![0]!.atSeconds - tLeftPart, report).toBeLessThan(1.5);
  const bye = P.sequence(goodbye, tLeftRec);
  expect(bye, report).not.toBeNull();
  const last = told![told!.length - 1]!;
  expect(bye![0]!.atSeconds, report).toBeGreaterThanOrEqual(last.atSeconds + last.seconds - 0.1);
  // The goodbye comes about conference_stop_wait after the host left.
  expect(bye![0]!.atSeconds - tLeftPart, report).toBeGreaterThan(wait - 0.2);
  expect(bye![0]!.atSeconds - tLeftPart, report).toBeLessThan(wait + 1.5);
}

describe("recording", () => {
  test("recording_stop_how moderator: a local recording stops when the host hangs up (recording false, stopped_at); last: it goes on until the meeting ends", async () => {
    const common = { recording_method: "local", conference_stop_how: "last" };
    const mod = await h.room("rec-moderator", {
      ...common,
      recording_stop_how: "moderator",
      recording_metadata: "stop-moderator",
    });
    const last = await h.room("rec-last", { ...common, recording_stop_how: "last", recording_metadata: "stop-last" });
    const hostM = h.phone(HOST_HZ);
    const partM = h.phone(PART_HZ);
    const hostL = h.phone(HOST_HZ);
    const partL = h.phone(PART_HZ);
    await Promise.all([
      (async () => {
        await h.dialIn(hostM, mod.host);
        await h.dialIn(partM, mod.participant);
      })(),
      (async () => {
        await h.dialIn(hostL, last.host);
        await h.dialIn(partL, last.participant);
      })(),
    ]);
    const sidM = partM.meetingSid;
    const sidL = partL.meetingSid;
    await Bun.sleep(500);
    hostM.keys("*9");
    hostL.keys("*9");
    await Promise.all(
      [sidM, sidL].map((sid) => eventually(async () => (await h.meeting(sid))?.recording === true, 5000, `recording of ${sid}`)),
    );
    const tStarted = Date.now();
    await Bun.sleep(2000);
    const tHostsLeft = Date.now();
    await Promise.all([hostM.hangup(), hostL.hangup()]);

    // moderator: stopped with the last host; the participant stays.
    await eventually(async () => (await h.meeting(sidM))?.recording === false, 5000, "recording false after the host left");
    const stoppedM = await eventually(async () => localRecording(sidM).sidecar?.stopped_at, 3000, "stopped_at in the sidecar");
    expect(Number.isNaN(Date.parse(stoppedM))).toBe(false);
    expect((await h.meeting(sidM))?.attendees).toEqual({ hosts: 0, participants: 1, listeners: 0 });

    // last: still recording, well after the host left.
    await Bun.sleep(2000);
    const mL = await h.meeting(sidL);
    expect(mL?.recording).toBe(true);
    expect(mL?.attendees).toEqual({ hosts: 0, participants: 1, listeners: 0 });
    expect(localRecording(sidL).sidecar?.stopped_at).toBeNull();
    await partL.hangup();
    const tEndL = Date.now();
    await eventually(async () => (await h.meeting(sidL)) === null, 5000, "the meeting gone with its last caller");
    const stoppedL = await eventually(
      async () => localRecording(sidL).sidecar?.stopped_at,
      3000,
      "stopped_at when the meeting ended",
    );
    expect(Date.parse(stoppedL)).toBeGreaterThan(Date.parse(stoppedM));
    await h.finish(sidM, [hostM, partM]);
    await Promise.all([hostL.stop(), partL.stop()]);

    // The files say the same: one ends when the host left, the other when the meeting ended.
    const recM = localRecording(sidM);
    const recL = localRecording(sidL);
    expect(recM.sidecar?.metadata).toBe("stop-moderator");
    expect(recL.sidecar?.metadata).toBe("stop-last");
    const wavM = readWav(recM.wav!);
    const wavL = readWav(recL.wav!);
    const secondsM = wavM.samples.length / wavM.rate;
    const secondsL = wavL.samples.length / wavL.rate;
    const hostPhase = (tHostsLeft - tStarted) / 1000;
    const whole = (tEndL - tStarted) / 1000;
    const report = JSON.stringify({ secondsM, secondsL, hostPhase, whole });
    expect(secondsM, report).toBeGreaterThan(hostPhase - 0.5);
    expect(secondsM, report).toBeLessThan(hostPhase + 1.5);
    expect(secondsL, report).toBeGreaterThan(whole - 1);
    // After the host left, the `last` recording still holds the participant.
    const tail = Math.round((secondsL - 1.5) * wavL.rate);
    const partInTail = hannToneDb(wavL.samples, wavL.rate, PART_HZ, Math.max(0, tail), wavL.samples.length);
    const hostInTail = hannToneDb(wavL.samples, wavL.rate, HOST_HZ, Math.max(0, tail), wavL.samples.length);
    expect(partInTail, `${report} part ${partInTail} host ${hostInTail}`).toBeGreaterThan(HEARD_DB);
    expect(hostInTail, `${report} part ${partInTail} host ${hostInTail}`).toBeLessThan(ABSENT_DB);
  }, 45_000);

  test.skipIf(!hasNetSip)(
    "remote recording by keypad: host *9 calls recording_addr (a Net::SIP recorder) and streams the mix; *9 again hangs up",
    async () => {
      const recorder = await NetSipRecorder.start(join(h.recordingDir, "remote-rtp.txt"), 40);
      try {
        const r = await h.room("rec-remote", {
          recording_method: "remote",
          recording_addr: `rec@127.0.0.1:${recorder.port}`,
          recording_metadata: "e2e-remote",
        });
        const { host, part } = await h.hostAndParticipant(r);
        const sid = part.meetingSid;
        expect((await h.meeting(sid))?.recording).toBe(false);
        await Bun.sleep(500);
        const tStart = host.at();
        host.keys("*9");
        const invite = await recorder.waitLine(/^INVITE (.*)$/, 5000);
        expect(invite[1]).toBe(`${sid}|e2e-remote`);
        await recorder.waitLine(/^ESTABLISHED$/, 5000);
        await eventually(async () => (await h.meeting(sid))?.recording === true, 5000, "recording true");
        await Bun.sleep(3000);
        const tStop = host.at();
        host.keys("*9");
        await recorder.waitLine(/^BYE RECEIVED$/, 5000);
        await eventually(async () => (await h.meeting(sid))?.recording === false, 5000, "recording false");
        const packets = recorder.packets().length;
        await Bun.sleep(1800);
        await h.finish(sid, [host, part]);

        // Nothing after the BYE; about 50 packets a second while it ran.
        expect(recorder.packets().length).toBe(packets);
        expect(packets).toBeGreaterThan(2.5 * 50);
        expect(packets).toBeLessThan((tStop - tStart + 1) * 50);
        const pcm = recorder.audio();
        const from = 8000 * 0.3;
        const levels = {
          part: hannToneDb(pcm, 8000, PART_HZ, from, pcm.length),
          host: hannToneDb(pcm, 8000, HOST_HZ, from, pcm.length),
          seconds: pcm.length / 8000,
        };
        expect(levels.part, JSON.stringify(levels)).toBeGreaterThan(HEARD_DB);
        expect(levels.host, JSON.stringify(levels)).toBeGreaterThan(HEARD_DB);
        const H = host.heard();
        const names = ["recording-started", "recording-stopped"];
        expect(H.find("recording-started", tStart).score, H.report(names)).toBeGreaterThan(PROMPT_HEARD_SCORE);
        expect(H.find("recording-stopped", tStop).score, H.report(names)).toBeGreaterThan(PROMPT_HEARD_SCORE);
      } finally {
        await recorder.stop();
      }
    },
    45_000,
  );
});
