import { afterAll, expect, test } from "bun:test";
import { lineLog } from "@conf/log";
import { createSessionStore, type SessionStore } from "@conf/session-store";
import { DomainEvents } from "./domain-events.ts";
import { LobbyRecords } from "./lobby-records.ts";

const store = createSessionStore({ prefix: `lobbyrec-${crypto.randomUUID().slice(0, 8)}:` });
afterAll(() => store.close());

function setup(s: Pick<SessionStore, "enter" | "leaveLobby"> = store) {
  const events = new DomainEvents();
  const lines: string[] = [];
  const failures: unknown[] = [];
  const records = new LobbyRecords({
    store: s,
    nodeId: "node-1",
    events,
    log: lineLog((l) => lines.push(l)),
    bg: (p) => void p.catch((e) => failures.push(e)),
  });
  return { events, records, lines, failures };
}

function entered(events: DomainEvents, accountSid: string, callSid: string, dateCreated = new Date()) {
  events.emit({
    type: "call.entered",
    callSid,
    accountSid,
    numberSrc: "<sip:15550001@127.0.0.1>",
    numberDst: "<sip:15550002@127.0.0.1>",
    name: "Pat",
    codecs: "PCMU",
    dateCreated,
  });
}

const logged = async (account: string) =>
  (await store.eventLog.readAfter(account, null, 50)).map((e) => JSON.parse(e.json) as Record<string, unknown>);

test("an answered caller is in the store with no meeting, and call.entered carries the Call GET returns", async () => {
  const account = crypto.randomUUID();
  const { events, records, failures } = setup();
  const at = new Date(Date.now() - 1000);
  entered(events, account, "entered-1", at);
  await records.ready("entered-1");
  const call = await store.getCall("entered-1");
  expect(call).toMatchObject({
    call_sid: "entered-1",
    account_sid: account,
    meeting_sid: null,
    meeting_room_sid: null,
    date_joined: null,
    role: null,
    name: "Pat",
    codecs: "PCMU",
    date_created: at.toISOString(),
  });
  expect((await store.getCallInfo("entered-1"))?.nodeId).toBe("node-1");
  await Bun.sleep(20);
  const [e] = await logged(account);
  expect(e).toMatchObject({ type: "call.entered", call_sid: "entered-1", meeting_sid: null, data: call as object });
  // It leaves from the prompt: no record, and call.left with no meeting.
  events.emit({ type: "call.left", callSid: "entered-1", meetingSid: null, reason: "remote" });
  await records.close();
  expect(await store.getCall("entered-1")).toBeNull();
  await Bun.sleep(20);
  expect((await logged(account)).map((x) => [x.type, x.meeting_sid])).toEqual([
    ["call.entered", null],
    ["call.left", null],
  ]);
  expect(failures).toEqual([]);
});

test("a caller that leaves while its record is still being written leaves none behind", async () => {
  const account = crypto.randomUUID();
  // A store that answers the write late: the removal must wait for it.
  let release = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const slow: Pick<SessionStore, "enter" | "leaveLobby"> = {
    enter: async (input) => {
      await gate;
      return store.enter(input);
    },
    leaveLobby: (sid) => store.leaveLobby(sid),
  };
  const { events, records } = setup(slow);
  entered(events, account, "quick-1");
  events.emit({ type: "call.left", callSid: "quick-1", meetingSid: null, reason: "cancelled" });
  release();
  await records.close();
  expect(await store.getCall("quick-1")).toBeNull();
  expect(await store.listCalls(account)).toEqual([]);
});

test("a joined caller's leave is not the lobby's; a failing store is logged once, never thrown", async () => {
  const account = crypto.randomUUID();
  const { events, records } = setup();
  entered(events, account, "joins-1");
  await records.ready("joins-1");
  events.emit({ type: "call.left", callSid: "joins-1", meetingSid: "some-meeting", reason: "remote" });
  await Bun.sleep(10);
  expect((await store.getCall("joins-1"))?.call_sid).toBe("joins-1");
  events.emit({ type: "call.left", callSid: "joins-1", meetingSid: null, reason: "remote" });
  await records.close();

  const failing: Pick<SessionStore, "enter" | "leaveLobby"> = {
    enter: async () => {
      throw new Error("store down");
    },
    leaveLobby: async () => {
      throw new Error("store down");
    },
  };
  const f = setup(failing);
  entered(f.events, account, "down-1");
  entered(f.events, account, "down-2");
  await f.records.ready("down-1");
  f.events.emit({ type: "call.left", callSid: "down-1", meetingSid: null, reason: "remote" });
  await f.records.close();
  expect(f.failures).toEqual([]);
  expect(f.lines.filter((l) => l.includes("store down")).length).toBe(1);
});

test("after the store lost its data, the callers still at the prompt are entered again; joined and gone ones are not", async () => {
  const account = crypto.randomUUID();
  const { events, records } = setup();
  const sids = ["wait-1", "wait-2", "joined-1", "gone-1"];
  for (const sid of sids) entered(events, account, sid);
  for (const sid of sids) await records.ready(sid);
  events.emit({ type: "call.joined", callSid: "joined-1", meetingSid: "m", call: {} as never });
  events.emit({ type: "call.left", callSid: "gone-1", meetingSid: null, reason: "hangup" });
  await Bun.sleep(20);
  // The records are lost (as when Redis restarts empty).
  for (const sid of sids) await store.leaveLobby(sid);
  for (const sid of sids) expect(await store.getCall(sid)).toBeNull();
  expect(await records.restore()).toBe(2);
  expect(await store.getCall("wait-1")).toMatchObject({ call_sid: "wait-1", account_sid: account, meeting_sid: null });
  expect(await store.getCall("wait-2")).toMatchObject({ call_sid: "wait-2", meeting_sid: null });
  expect(await store.getCall("joined-1")).toBeNull();
  expect(await store.getCall("gone-1")).toBeNull();
  // Still there: entering them again writes nothing more.
  expect(await records.restore()).toBe(0);
  for (const sid of ["wait-1", "wait-2"]) await store.leaveLobby(sid);
});
