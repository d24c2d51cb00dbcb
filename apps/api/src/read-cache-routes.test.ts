/**
 * The read cache through the routes: what a client can observe. Every harness app has
 * its cache connected to an in-process bus and to its store's events, as a started
 * server has; writes "behind the API's back" (repositories, the store) stand for another
 * instance or the mixer.
 */
import { describe, expect, test } from "bun:test";
import { invalidationChannel } from "@conf/access-router";
import { createRepositories } from "@conf/db";
import { createBus } from "@conf/session-store";
import { createApp } from "./app.ts";
import { connectReadCache, createReadCache } from "./lib/read-cache.ts";
import { ADMIN_TOKEN, assignDid, eventually, forEachDatabase, forEachLivePlane, type Harness, RecordingBus } from "./testing.ts";

/** Sends a GET and says whether the cache answered it. */
async function get(h: Harness, path: string, auth?: string) {
  const before = h.readCache.stats.hits;
  const r = await h.json("GET", path, { auth });
  return { ...r, cached: h.readCache.stats.hits > before };
}

/**
 * GETs until the cache answers (the first read keeps the body; an event of an earlier
 * change still on its way may drop it once more); returns the cached body.
 */
async function warm(h: Harness, path: string, auth?: string) {
  for (let i = 0; i < 50; i++) {
    const r = await get(h, path, auth);
    expect(r.status).toBe(200);
    if (r.cached) return r.body;
    if (i > 0) await Bun.sleep(5);
  }
  throw new Error(`${path}: never answered from the cache`);
}

forEachDatabase((h) => {
  test("a hit answers the same status, bytes and headers as the read it keeps", async () => {
    await h().json("POST", "/conference/v2/meeting_rooms", { body: { name: "same bytes" } });
    const path = "/conference/v2/meeting_rooms?limit=2&order=name+desc&exclude_fields=attributes";
    const miss = await h().request("GET", path);
    const hit = await h().request("GET", path);
    expect(hit.status).toBe(miss.status);
    expect(await hit.text()).toBe(await miss.text());
    expect([...hit.headers.entries()].sort()).toEqual([...miss.headers.entries()].sort());
    expect(hit.headers.get("content-type")).toBe("application/json");
    expect(hit.headers.get("access-control-allow-origin")).toBe("*");
    // Errors are answered as before, and never kept.
    for (let i = 0; i < 2; i++) {
      const bad = await get(h(), "/conference/v2/meeting_rooms?limit=5000");
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].field).toBe("limit");
      expect(bad.cached).toBe(false);
    }
    const missing = await get(h(), "/conference/v2/meeting_rooms/00000000-0000-0000-0000-000000000000");
    expect(missing.status).toBe(404);
    expect((await get(h(), "/conference/v2/meeting_rooms/00000000-0000-0000-0000-000000000000")).cached).toBe(false);
  });

  test("meeting rooms: every write through the API shows in the very next GET", async () => {
    const list = "/conference/v2/meeting_rooms?limit=1000";
    const before = (await warm(h(), list)).total;
    const created = (await h().json("POST", "/conference/v2/meeting_rooms", { body: { name: "rw 1" } })).body;
    const one = `/conference/v2/meeting_rooms/${created.meeting_room_sid}`;
    expect((await get(h(), list)).body.total).toBe(before + 1);
    expect((await warm(h(), one)).name).toBe("rw 1");
    await warm(h(), list);
    await h().json("PATCH", one, { body: { name: "rw 2" } });
    expect((await get(h(), one)).body.name).toBe("rw 2");
    expect((await get(h(), list)).body.items.map((r: any) => r.name)).toContain("rw 2");
    await warm(h(), one);
    const put = await h().json("PUT", one, {
      body: { name: "rw 3", access_codes: [{ access_code: "700700", role: "host" }], attributes: {}, did_group_sid: null },
    });
    expect(put.status).toBe(200);
    expect((await get(h(), one)).body).toMatchObject({ name: "rw 3", access_codes: [{ access_code: "700700", role: "host" }] });
    await warm(h(), one);
    await warm(h(), list);
    expect((await h().request("DELETE", one)).status).toBe(204);
    expect((await get(h(), one)).status).toBe(404);
    expect((await get(h(), list)).body.total).toBe(before);
  });

  test("DID groups: every write through the API shows in the very next GET", async () => {
    const list = "/conference/v2/did_groups";
    const before = (await warm(h(), list)).total;
    const created = (await h().json("POST", list, { body: { name: "g 1" } })).body;
    const one = `/conference/v2/did_groups/${created.did_group_sid}`;
    expect((await get(h(), list)).body.total).toBe(before + 1);
    await warm(h(), one);
    await h().json("PATCH", one, { body: { name: "g 2" } });
    expect((await get(h(), one)).body.name).toBe("g 2");
    await warm(h(), one);
    expect((await h().json("PUT", one, { body: { name: "g 3", attributes: {}, call_flow_sid: null } })).status).toBe(200);
    expect((await get(h(), one)).body.name).toBe("g 3");
    await warm(h(), list);
    expect((await h().request("DELETE", one)).status).toBe(204);
    expect((await get(h(), list)).body.total).toBe(before);
  });

  test("DIDs: the operator's assignment and removal, PATCH and PUT show in the very next GET", async () => {
    const list = "/conference/v2/dids";
    const before = (await warm(h(), list)).total;
    const did = await assignDid(h(), h().a, "15162061111");
    expect((await get(h(), list)).body.total).toBe(before + 1);
    const one = `/conference/v2/dids/${did.did_sid}`;
    await warm(h(), one);
    await h().json("PATCH", one, { body: { attributes: { conference_language: "IT" } } });
    expect((await get(h(), one)).body.attributes).toEqual({ conference_language: "IT" });
    await warm(h(), one);
    expect(
      (await h().json("PUT", one, { body: { attributes: { conference_moh: "jazz" }, call_flow_sid: null, did_group_sid: null } }))
        .status,
    ).toBe(200);
    expect((await get(h(), one)).body.attributes).toEqual({ conference_moh: "jazz" });
    await warm(h(), list);
    const removed = await h().request("DELETE", `/core/v2/dids/${did.did_sid}`, { auth: `Bearer ${ADMIN_TOKEN}` });
    expect(removed.status).toBe(204);
    expect((await get(h(), list)).body.total).toBe(before);
    expect((await get(h(), one)).status).toBe(404);
  });

  test("accounts: PATCH and PUT show in the very next GET of the list, by SID and whoami", async () => {
    const { accountSid } = h().a;
    const paths = ["/conference/v2/accounts", `/conference/v2/accounts/${accountSid}`, "/conference/v2/accounts/whoami"];
    for (const p of paths) await warm(h(), p);
    await h().json("PATCH", `/conference/v2/accounts/${accountSid}`, { body: { name: "renamed once" } });
    expect((await get(h(), paths[0]!)).body.items[0].name).toBe("renamed once");
    expect((await get(h(), paths[1]!)).body.name).toBe("renamed once");
    expect((await get(h(), paths[2]!)).body.name).toBe("renamed once");
    for (const p of paths) await warm(h(), p);
    const current = (await get(h(), paths[1]!)).body;
    expect(
      (await h().json("PUT", `/conference/v2/accounts/${accountSid}`, { body: { ...current, name: "renamed twice" } })).status,
    ).toBe(200);
    expect((await get(h(), paths[2]!)).body.name).toBe("renamed twice");
  });

  test("a write that failed still leaves the next read fresh", async () => {
    const room = (
      await h().json("POST", "/conference/v2/meeting_rooms", {
        body: { access_codes: [{ access_code: "810001", role: "host" }] },
      })
    ).body;
    const other = (
      await h().json("POST", "/conference/v2/meeting_rooms", {
        body: { access_codes: [{ access_code: "810002", role: "host" }] },
      })
    ).body;
    const one = `/conference/v2/meeting_rooms/${other.meeting_room_sid}`;
    await warm(h(), one);
    const conflict = await h().json("PATCH", one, { body: { access_codes: [{ access_code: "810001", role: "host" }] } });
    expect(conflict.status).toBe(409);
    expect((await get(h(), one)).cached).toBe(false);
    expect(room.meeting_room_sid).not.toBe(other.meeting_room_sid);
  });

  test("an account never sees another account's cached page or object", async () => {
    const mine = (await h().json("POST", "/conference/v2/meeting_rooms", { body: { name: "only for a" } })).body;
    const list = "/conference/v2/meeting_rooms?limit=1000";
    const aPage = await warm(h(), list);
    expect(aPage.items.map((r: any) => r.name)).toContain("only for a");
    const bPage = await get(h(), list, h().b.auth);
    expect(bPage.cached).toBe(false);
    expect(bPage.body.items.every((r: any) => r.account_sid === h().b.accountSid)).toBe(true);
    const one = `/conference/v2/meeting_rooms/${mine.meeting_room_sid}`;
    await warm(h(), one);
    const theirs = await get(h(), one, h().b.auth);
    expect(theirs.status).toBe(404);
    expect((await get(h(), one, h().b.auth)).status).toBe(404);
    const whoA = await warm(h(), "/conference/v2/accounts/whoami");
    const whoB = (await get(h(), "/conference/v2/accounts/whoami", h().b.auth)).body;
    expect(whoA.account_sid).toBe(h().a.accountSid);
    expect(whoB.account_sid).toBe(h().b.accountSid);
  });

  test("another instance's write (its invalidation on the bus) drops this instance's pages", async () => {
    const repos = createRepositories(h().testDb.database);
    const { accountSid } = h().a;
    const room = (await h().json("POST", "/conference/v2/meeting_rooms", { body: { name: "elsewhere 1" } })).body;
    const one = `/conference/v2/meeting_rooms/${room.meeting_room_sid}`;
    await warm(h(), one);
    // A change nobody announced: this instance keeps answering what it read.
    await repos.meetingRooms.update(accountSid, room.meeting_room_sid, { name: "elsewhere 2" });
    expect((await get(h(), one)).body.name).toBe("elsewhere 1");
    // Its announcement, as another instance publishes it.
    await h().invalidations.publish(invalidationChannel, { kind: "account", accountSid });
    await waitForBody(h(), one, (b) => b.name === "elsewhere 2");

    // A second instance over the same database and bus: its write reaches this one.
    const otherCache = createReadCache();
    const stop = await connectReadCache(otherCache, { bus: h().invalidations });
    const other = createApp({
      database: h().testDb.database,
      adminToken: ADMIN_TOKEN,
      bus: new RecordingBus(h().invalidations),
      readCache: otherCache,
    });
    try {
      await warm(h(), one);
      const r = await other.request(`http://api.test${one}`, {
        method: "PATCH",
        headers: { Authorization: h().a.auth, "Content-Type": "application/json" },
        body: JSON.stringify({ name: "elsewhere 3" }),
      });
      expect(r.status).toBe(200);
      await waitForBody(h(), one, (b) => b.name === "elsewhere 3");
    } finally {
      await stop();
    }
  });

  test("with the bus down nothing is served from the cache", async () => {
    // An app of its own, whose bus the test can close.
    const bus = createBus({ prefix: `apitest-down:${crypto.randomUUID()}:` });
    const cache = createReadCache();
    await connectReadCache(cache, { bus });
    const app = createApp({ database: h().testDb.database, adminToken: ADMIN_TOKEN, bus, readCache: cache });
    const room = (await h().json("POST", "/conference/v2/meeting_rooms", { body: { name: "down 1" } })).body;
    const one = `http://api.test/conference/v2/meeting_rooms/${room.meeting_room_sid}`;
    const read = async () =>
      (await (await app.request(one, { headers: { Authorization: h().a.auth } })).json()) as { name: string };
    await read();
    await read();
    expect(cache.stats.hits).toBe(1);
    await bus.close();
    expect(cache.serving("config")).toBe(false);
    const repos = createRepositories(h().testDb.database);
    await repos.meetingRooms.update(h().a.accountSid, room.meeting_room_sid, { name: "down 2" });
    expect((await read()).name).toBe("down 2");
    expect((await read()).name).toBe("down 2");
    expect(cache.stats.hits).toBe(1);
  });
});

// Live objects, with a clock the test moves: durations tick only when it says so.
describe("live pages", () => {
  let now = Date.parse("2030-01-01T00:00:00.000Z");
  const clock = () => now;

  forEachLivePlane(
    (h) => {
      let callSid = "";
      let meetingSid = "";

      test("a session event of the account drops its /calls and /meetings pages", async () => {
        await assignDid(h(), h().a, "15162067515");
        await assignDid(h(), h().b, "15162067516");
        await h().json("POST", "/conference/v2/meeting_rooms", {
          body: { access_codes: [{ access_code: "445566", role: "host" }] },
        });
        await h().json("POST", "/conference/v2/meeting_rooms", {
          auth: h().b.auth,
          body: { access_codes: [{ access_code: "445567", role: "host" }] },
        });
        const joined = await h().dialIn("15162067515", "445566", { name: "first" });
        callSid = joined.call.call_sid;
        meetingSid = joined.meeting.meeting_sid;
        await eventually(() => h().readCache.serving("live"));
        // The join's event may still be on its way: wait until a page shows the call.
        await waitForBody(h(), "/conference/v2/calls?limit=10", (b) => b.total === 1);
        const calls = "/conference/v2/calls?limit=10";
        const meetings = "/conference/v2/meetings";
        const one = `/conference/v2/calls/${callSid}`;
        expect((await warm(h(), calls)).items[0].muted).toBe(false);
        expect((await warm(h(), meetings)).items[0].locked).toBe(false);
        expect((await warm(h(), one)).muted).toBe(false);

        // Changes the mixer makes, straight in the store; only their events can tell this instance.
        await h().store.updateCall(callSid, { muted: true });
        await waitForBody(h(), calls, (b) => b.items[0]?.muted === true);
        await waitForBody(h(), one, (b) => b.muted === true);
        await h().store.updateMeeting(meetingSid, { locked: true });
        await waitForBody(h(), meetings, (b) => b.items[0]?.locked === true);
        await warm(h(), calls);
        await h().dialIn("15162067515", "445566", { name: "second" });
        await waitForBody(h(), calls, (b) => b.total === 2);
        await waitForBody(h(), meetings, (b) => b.items[0]?.attendees.hosts === 2);

        // Another account's events leave these pages alone.
        await warm(h(), calls);
        await h().dialIn("15162067516", "445567");
        await Bun.sleep(30);
        expect((await get(h(), calls)).cached).toBe(true);
      });

      test("the API's own PATCH shows in the very next GET (before the event could)", async () => {
        const calls = "/conference/v2/calls?limit=10";
        await warm(h(), calls);
        await warm(h(), "/conference/v2/meetings");
        const r = await h().json("PATCH", `/conference/v2/calls/${callSid}`, { body: { name: "renamed" } });
        expect(r.status).toBe(200);
        expect((await get(h(), calls)).body.items.find((c: any) => c.call_sid === callSid).name).toBe("renamed");
        await warm(h(), "/conference/v2/meetings");
        const m = await h().json("PATCH", `/conference/v2/meetings/${meetingSid}`, { body: { participant_muted: "true" } });
        expect(m.status).toBe(200);
        expect((await get(h(), "/conference/v2/meetings")).body.items[0].participant_muted).toBe("true");
        await warm(h(), "/conference/v2/meetings");
        expect((await h().request("DELETE", `/conference/v2/meetings/${meetingSid}`)).status).toBe(204);
        const after = await get(h(), "/conference/v2/meetings");
        expect(after.body.count).toBe(0);
        expect((await get(h(), calls)).body.total).toBe(0);
      });

      test("a cached page lives until the first duration in it ticks, so it never shows an older duration", async () => {
        const joined = await h().dialIn("15162067515", "445566", { name: "ticking" });
        const created = Date.parse(joined.call.date_created);
        const one = `/conference/v2/calls/${joined.call.call_sid}`;
        const calls = "/conference/v2/calls?limit=10";
        await waitForBody(h(), calls, (b) => b.total === 1);
        now = created + 2500;
        expect((await warm(h(), one)).duration).toBe(2);
        expect((await warm(h(), calls)).items[0].duration).toBe(2);
        now = created + 2999;
        expect(await get(h(), one)).toMatchObject({ cached: true, body: { duration: 2 } });
        expect(await get(h(), calls)).toMatchObject({ cached: true });
        now = created + 3000;
        expect(await get(h(), one)).toMatchObject({ cached: false, body: { duration: 3 } });
        expect((await get(h(), calls)).body.items[0].duration).toBe(3);
        // With nothing to tick (an empty page), a second at most.
        await h().store.leave(joined.call.call_sid);
        await waitForBody(h(), calls, (b) => b.total === 0);
        await warm(h(), calls);
        now += 999;
        expect((await get(h(), calls)).cached).toBe(true);
        now += 1;
        expect((await get(h(), calls)).cached).toBe(false);
      });
    },
    { clock },
  );
});

/** GETs `path` until its body satisfies `check` (events arrive asynchronously). */
async function waitForBody(h: Harness, path: string, check: (body: any) => boolean): Promise<void> {
  const end = Date.now() + 3000;
  for (;;) {
    const r = await h.json("GET", path);
    if (check(r.body)) return;
    if (Date.now() > end) throw new Error(`${path}: not as expected in time: ${JSON.stringify(r.body)}`);
    await Bun.sleep(5);
  }
}
