import { afterAll, expect, test } from "bun:test";
import { createSessionStore } from "@conf/session-store";
import { DomainEvents } from "./domain-events.ts";
import { publishNodeEvents } from "./event-publisher.ts";

const store = createSessionStore({ prefix: `evpub-${crypto.randomUUID().slice(0, 8)}:` });
afterAll(() => store.close());

test("talker changes of a joined call reach the store's public event log, with the call as data", async () => {
  const account = crypto.randomUUID();
  const joined = await store.join({
    meetingKey: `${account}:adhoc:1`,
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
  const events = new DomainEvents();
  const errors: unknown[] = [];
  const stop = publishNodeEvents(
    events,
    new Map([[joined.meeting.meeting_sid, { accountSid: account }]]),
    new Map(),
    store,
    (e) => errors.push(e),
  );
  events.emit({ type: "talker.started", meetingSid: joined.meeting.meeting_sid, callSid: joined.call.call_sid });
  events.emit({ type: "talker.stopped", meetingSid: joined.meeting.meeting_sid, callSid: joined.call.call_sid });
  // A meeting the node does not know is not recorded.
  events.emit({ type: "talker.started", meetingSid: "elsewhere", callSid: joined.call.call_sid });
  let logged: { type: string; call_sid: string | null; meeting_sid: string | null; data: unknown }[] = [];
  for (let i = 0; i < 50 && logged.filter((e) => e.type.startsWith("talker.")).length < 2; i++) {
    await Bun.sleep(10);
    logged = (await store.eventLog.readAfter(account, null, 100)).map((e) => JSON.parse(e.json));
  }
  const talker = logged.filter((e) => e.type.startsWith("talker."));
  expect(talker.map((e) => e.type)).toEqual(["talker.started", "talker.stopped"]);
  expect(talker[0]).toMatchObject({ call_sid: joined.call.call_sid, meeting_sid: joined.meeting.meeting_sid });
  expect((talker[0]?.data as { call_sid: string } | undefined)?.call_sid).toBe(joined.call.call_sid);
  expect(errors).toEqual([]);
  stop();
});

test("a call answered at the access-code prompt is logged as call.entered, with no meeting yet", async () => {
  const account = crypto.randomUUID();
  const events = new DomainEvents();
  const errors: unknown[] = [];
  const stop = publishNodeEvents(events, new Map(), new Map(), store, (e) => errors.push(e));
  const at = new Date(Date.now() - 1000);
  events.emit({
    type: "call.entered",
    callSid: "call-entered-1",
    accountSid: account,
    numberSrc: "<sip:15550001@127.0.0.1>",
    numberDst: "<sip:15550002@127.0.0.1>",
    codecs: "PCMU",
    dateCreated: at,
  });
  let logged: {
    type: string;
    call_sid: string;
    meeting_sid: string | null;
    date_created: string;
    data: Record<string, unknown>;
  }[] = [];
  for (let i = 0; i < 50 && logged.length === 0; i++) {
    await Bun.sleep(10);
    logged = (await store.eventLog.readAfter(account, null, 10)).map((e) => JSON.parse(e.json));
  }
  expect(logged.map((e) => e.type)).toEqual(["call.entered"]);
  expect(logged[0]).toMatchObject({ call_sid: "call-entered-1", meeting_sid: null, date_created: at.toISOString() });
  expect(logged[0]?.data).toMatchObject({
    account_sid: account,
    meeting_sid: null,
    number_src: "<sip:15550001@127.0.0.1>",
    codecs: "PCMU",
  });
  expect(errors).toEqual([]);
  stop();
});
