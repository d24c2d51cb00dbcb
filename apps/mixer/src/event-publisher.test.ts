import { afterAll, expect, test } from "bun:test";
import { createSessionStore } from "@conf/session-store";
import { DomainEvents } from "./domain-events.ts";
import { publishNodeEvents } from "./event-publisher.ts";

const store = createSessionStore({ prefix: `evpub-${crypto.randomUUID().slice(0, 8)}:` });
afterAll(() => store.close());

/** A host's call joined into an ad-hoc meeting of a new account, as node-1. */
async function joinHost(meeting: number) {
  const account = crypto.randomUUID();
  const joined = await store.join({
    meetingKey: `${account}:adhoc:${meeting}`,
    accountSid: account,
    meetingRoomSid: null,
    nodeId: "node-1",
    call: {
      access_code: "1",
      codecs: "PCMU",
      number_src: "<sip:a@h>",
      number_dst: "<sip:b@h>",
      name: "",
      direction: "In",
      role: "host",
    },
  });
  if (!joined.ok) throw new Error("join refused");
  return { account, joined };
}

test("talker changes that hold reach the store's public event log with the call as data; flickers do not", async () => {
  const { account, joined } = await joinHost(1);
  const meetingSid = joined.meeting.meeting_sid;
  const callSid = joined.call.call_sid;
  const events = new DomainEvents();
  const errors: unknown[] = [];
  let clock = 0;
  const stop = publishNodeEvents(
    events,
    new Map([[meetingSid, { accountSid: account }]]),
    new Map(),
    store,
    (e) => errors.push(e),
    {
      holdMs: 300,
      checkMs: 5,
      now: () => clock,
    },
  );
  const talkerEvents = async () =>
    (await store.eventLog.readAfter(account, null, 100))
      .map((e) => JSON.parse(e.json) as { type: string; call_sid: string; meeting_sid: string; data: { call_sid: string } })
      .filter((e) => e.type.startsWith("talker."));
  // A flicker: talking for 100 ms, then not. Nothing is reported.
  events.emit({ type: "talker.started", meetingSid, callSid });
  clock = 100;
  events.emit({ type: "talker.stopped", meetingSid, callSid });
  clock = 1000;
  await Bun.sleep(30);
  expect(await talkerEvents()).toEqual([]);
  // Talking that holds is reported once, and so is the silence that follows.
  events.emit({ type: "talker.started", meetingSid, callSid });
  clock = 1400;
  await Bun.sleep(30);
  events.emit({ type: "talker.stopped", meetingSid, callSid });
  clock = 1800;
  // A meeting the node does not know is not recorded.
  events.emit({ type: "talker.started", meetingSid: "elsewhere", callSid: "other" });
  clock = 2500;
  let logged = await talkerEvents();
  for (let i = 0; i < 50 && logged.length < 2; i++) {
    await Bun.sleep(10);
    logged = await talkerEvents();
  }
  expect(logged.map((e) => e.type)).toEqual(["talker.started", "talker.stopped"]);
  expect(logged[0]).toMatchObject({ call_sid: callSid, meeting_sid: meetingSid });
  expect(logged[0]?.data.call_sid).toBe(callSid);
  expect(errors).toEqual([]);
  stop();
});

test("a talker who hangs up: its talker.stopped is logged before the store's call.left and meeting.ended", async () => {
  const { account, joined } = await joinHost(2);
  const { meeting_sid: meetingSid, call_sid: callSid } = { ...joined.call, meeting_sid: joined.meeting.meeting_sid };
  const events = new DomainEvents();
  const errors: unknown[] = [];
  let clock = 0;
  // The node's registry: the call is out of it by the time call.left is told.
  const calls = new Map([[callSid, { toApi: () => joined.call }]]);
  const stop = publishNodeEvents(events, new Map([[meetingSid, { accountSid: account }]]), calls, store, (e) => errors.push(e), {
    holdMs: 300,
    checkMs: 5,
    now: () => clock,
  });
  events.emit({ type: "talker.started", meetingSid, callSid });
  clock = 400;
  const types = async () => (await store.eventLog.readAfter(account, null, 100)).map((e) => e.type);
  for (let i = 0; i < 50 && !(await types()).includes("talker.started"); i++) await Bun.sleep(10);
  // What the node's hang-up does: out of the registry, call.left told, then the store's leave.
  calls.delete(callSid);
  events.emit({ type: "call.left", callSid, meetingSid, reason: "remote", call: joined.call });
  await store.leave(callSid);
  let logged: string[] = [];
  for (let i = 0; i < 50 && logged.length < 5; i++) {
    await Bun.sleep(10);
    logged = await types();
  }
  expect(logged).toEqual(["meeting.started", "call.joined", "talker.started", "talker.stopped", "call.left", "meeting.ended"]);
  expect(errors).toEqual([]);
  stop();
});
