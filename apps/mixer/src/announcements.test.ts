import { lineLog } from "@conf/log";
/**
 * Entry and exit tones and roll-call names under join storms, at the meeting
 * controller: real calls (RTP on a real loopback socket), the real store and mixer;
 * the clock is the test's, so "fast" and "slow" joins are exact.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { JoinDecision } from "@conf/access-router";
import { type Attributes, BUILT_IN_CALL_FLOWS, DEFAULT_ATTRIBUTES } from "@conf/call-flow";
import { ConferenceMixer, createMohSources, ENTRY_TONE, EXIT_TONE, loadPrompts, PromptPlayer } from "@conf/media";
import { createSessionStore } from "@conf/session-store";
import { MeetingAnnouncements } from "./announcements.ts";
import { CallSession } from "./call.ts";
import { CallRegistry } from "./call-registry.ts";
import { DomainEvents } from "./domain-events.ts";
import { MixGroup } from "./meeting.ts";
import { MeetingController } from "./meeting-controller.ts";
import { MeetingRecording } from "./meeting-recording.ts";
import { RtpPortPool, type RtpSocket } from "./rtp-socket.ts";
import { Voice } from "./voice.ts";

const prompts = (() => {
  const r = loadPrompts();
  if (!r.ok) throw new Error(r.error);
  return r.library;
})();

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup() {
  const base = 44000 + Math.floor(Math.random() * 100) * 10;
  const ports = new RtpPortPool(base, base + 9, 1); // one shared socket carries every call
  // A prefix of its own: stores of one prefix in one process share their meetings.
  const store = createSessionStore({ prefix: `test-${crypto.randomUUID()}:` });
  cleanup.push(() => store.close());
  const registry = new CallRegistry();
  const moh = createMohSources();
  const lobby = new MixGroup<CallSession>(new ConferenceMixer({ mohSources: moh, mohEnabled: false }));
  const events = new DomainEvents(() => {});
  const bg = (p: Promise<unknown>) => void p.catch(() => {});
  let clock = 0;
  const logs: string[] = [];
  const controller = new MeetingController({
    store,
    nodeId: "tones",
    registry,
    lobby,
    moh,
    voice: new Voice(prompts),
    recording: new MeetingRecording({ store, ports, sipHost: "127.0.0.1", dir: "/tmp", ua: () => null, changed: () => {}, bg }),
    events,
    keypadInterdigitMs: 3000,
    now: () => clock,
    log: lineLog((l: string) => logs.push(l)),
    bg,
  });
  const sockets: RtpSocket[] = [];
  cleanup.push(() => {
    for (const s of sockets) s.close();
  });
  let n = 0;
  const attributes: Attributes = { ...DEFAULT_ATTRIBUTES, conference_rollcall_onenter: "on", conference_rollcall_onexit: "on" };
  const callFlow = BUILT_IN_CALL_FLOWS[0] as JoinDecision["callFlow"];
  const decision = {
    kind: "join",
    meetingKey: "room:R1",
    role: "participant",
    accountSid: "A1",
    meetingRoomSid: "R1",
    accessCode: "4321",
    callFlow,
    attributes,
  } as unknown as JoinDecision;

  /** A caller with a recorded name joins at `at` ms. */
  async function join(at: number): Promise<CallSession> {
    clock = at;
    n++;
    // The shared socket tells calls apart by their far end; no clock runs, so nothing is sent there.
    const far = 50000 + n;
    const rtp = await ports.open("127.0.0.1", () => {}, { expect: { address: "127.0.0.1", port: far } });
    sockets.push(rtp);
    const call = new CallSession(
      {
        from: `<sip:${n}@127.0.0.1>;tag=t${n}`,
        to: "<sip:15162065919@127.0.0.1>",
        displayName: "",
        callerNumber: `${n}`,
        sourceAddress: "127.0.0.1",
      },
      rtp,
      { codec: "PCMU", payloadType: 0, telephoneEventPt: 101, remoteAddress: "127.0.0.1", remotePort: far, send: true },
      new Date(),
      at,
      () => {},
      1,
      { callSid: `CA${n}`, handedFrom: { nodeId: "x", handoverId: `h${n}` }, name: new Int16Array(1600).fill(n) },
    );
    registry.add(call);
    call.enterLobby(lobby);
    await controller.join(call, decision);
    return call;
  }
  const meeting = () => [...controller.meetings.values()][0];
  /** Entry tones and names waiting in the meeting's overlay, and everything in it. */
  function overlay() {
    const m = meeting();
    if (!m) throw new Error("no meeting");
    return m.mixer.overlay;
  }
  return {
    join,
    controller,
    meeting,
    overlay,
    setClock: (t: number) => {
      clock = t;
    },
  };
}

/** How many 20 ms frames the overlay plays before it is silent (it is drained). */
function drainFrames(p: PromptPlayer): number {
  const frame = new Int16Array(320);
  let frames = 0;
  while (p.playing) {
    p.next(frame, 0);
    frames++;
  }
  return frames;
}

describe("join storms", () => {
  test("200 callers joining within a second queue one entry tone and one name, not 200", async () => {
    const s = await setup();
    for (let i = 0; i < 200; i++) await s.join(i * 5); // 200 per second
    expect(s.meeting()?.calls.size).toBe(200);
    const ms = drainFrames(s.overlay()) * 20;
    // One tone (270 ms) and one name with "has joined" at most: about 2 s, not 200 beeps (54 s, or 64 queued).
    expect(ms).toBeLessThan(3000);
    expect(s.meeting()?.announcements.skipped).toBeGreaterThan(390);
  }, 30_000);

  test("joins a second or more apart each get their tone and name; the storm's end lets them through again", async () => {
    const s = await setup();
    await s.join(0);
    await s.join(1000);
    const overlay = s.overlay();
    // The second caller is announced to the first: tone, name, "has joined".
    expect(overlay.queuedTotal).toBe(3);
    drainFrames(overlay);
    await s.join(2000);
    expect(overlay.queuedTotal).toBe(6);
    drainFrames(overlay);
    // A storm: four within a second, the fourth and later go unannounced...
    for (let i = 0; i < 10; i++) await s.join(3000 + i * 50);
    const duringStorm = overlay.queuedTotal;
    drainFrames(overlay);
    // ... until joins slow down again.
    await s.join(6000);
    expect(overlay.queuedTotal).toBeGreaterThan(duringStorm);
  }, 30_000);

  test("while an entry tone still waits in line, another is not queued behind it", () => {
    const p = new PromptPlayer();
    const a = new MeetingAnnouncements(p);
    p.enqueue(new Int16Array(16000)); // something long is playing
    a.joined(0, ENTRY_TONE, null);
    a.joined(1000, ENTRY_TONE, null); // the first tone has not begun: coalesced
    expect(p.queuedTotal).toBe(2);
    drainFrames(p);
    a.joined(2000, ENTRY_TONE, null);
    a.joined(2000, EXIT_TONE, null); // another kind waits beside it
    a.left(2000, EXIT_TONE, null);
    expect(p.queuedTotal).toBe(4);
  });

  test("a leave storm (the end of a big meeting) is coalesced alike", async () => {
    const s = await setup();
    const calls: CallSession[] = [];
    for (let i = 0; i < 30; i++) calls.push(await s.join(i * 1000)); // slow joins
    drainFrames(s.overlay());
    const before = s.overlay().queuedTotal;
    s.setClock(100_000);
    for (const c of calls.slice(0, 25)) await s.controller.hangup(c, "remote");
    // One exit tone and one name at most.
    expect(s.overlay().queuedTotal - before).toBeLessThanOrEqual(3);
  }, 30_000);
});
