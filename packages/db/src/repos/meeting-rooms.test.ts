import { expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { accessCodes } from "../schema/index.ts";
import { describeEachDatabase } from "../test-suite.ts";
import { must, newAccount } from "../testing.ts";
import { fieldExpression } from "./common.ts";
import type { AccessCodeObject } from "./meeting-rooms.ts";

const SAMPLE_CODES: AccessCodeObject[] = [
  { access_code: "890671", role: "host" },
  { access_code: "265423", role: "listener" },
  { access_code: "143623", role: "participant" },
];

describeEachDatabase("meeting rooms", (suite) => {
  test("create the reference's sample; codes keep their order; exact shape", async () => {
    const { accountSid } = await newAccount(suite.repos);
    const r = must(await suite.repos.meetingRooms.create(accountSid, { name: "My meeting room", access_codes: SAMPLE_CODES }));
    expect(Object.keys(r)).toEqual(["access_codes", "account_sid", "attributes", "did_group_sid", "meeting_room_sid", "name"]);
    expect(r).toMatchObject({
      access_codes: SAMPLE_CODES,
      account_sid: accountSid,
      attributes: {},
      did_group_sid: null,
      name: "My meeting room",
    });
    for (const c of r.access_codes) expect(Object.keys(c)).toEqual(["access_code", "role"]);
    expect(must(await suite.repos.meetingRooms.get(accountSid, r.meeting_room_sid))).toEqual(r);
    const empty = must(await suite.repos.meetingRooms.create(accountSid, {}));
    expect(empty).toMatchObject({ access_codes: [], name: "N/A", attributes: {}, did_group_sid: null });
  });

  test("a code used by another room of the account is a conflict naming the room", async () => {
    const { accountSid } = await newAccount(suite.repos);
    const first = must(
      await suite.repos.meetingRooms.create(accountSid, { access_codes: [{ access_code: "1234", role: "host" }] }),
    );
    const r = await suite.repos.meetingRooms.create(accountSid, {
      name: "second",
      access_codes: [
        { access_code: "5555", role: "host" },
        { access_code: "1234", role: "participant" },
      ],
    });
    expect(!r.ok && r.error).toMatchObject({ kind: "conflict", field: "access_codes" });
    expect(!r.ok && r.error.errors?.[0]?.referenceSid).toBe(first.meeting_room_sid);
    expect(!r.ok && r.error.message).toContain("1234");
    // Nothing of the failed create is left behind.
    const l = await suite.repos.meetingRooms.list({ accountSid, limit: 10, offset: 0 });
    expect(l.total).toBe(1);
    // The same code in another account is fine.
    const other = await newAccount(suite.repos);
    expect(
      (await suite.repos.meetingRooms.create(other.accountSid, { access_codes: [{ access_code: "1234", role: "host" }] })).ok,
    ).toBe(true);
  });

  test("a code repeated within one request is invalid, bad codes and roles too", async () => {
    const { accountSid } = await newAccount(suite.repos);
    const dup = await suite.repos.meetingRooms.create(accountSid, {
      access_codes: [
        { access_code: "42", role: "host" },
        { access_code: "42", role: "listener" },
      ],
    });
    expect(!dup.ok && dup.error).toMatchObject({ kind: "invalid", field: "access_codes" });
    const cases: unknown[] = [
      "nope",
      [{ access_code: "", role: "host" }],
      [{ access_code: "12#", role: "host" }],
      [{ access_code: "12", role: "admin" }],
      [{ access_code: 12, role: "host" }],
      [{ access_code: "12", role: "host", extra: 1 }],
      [null],
    ];
    for (const access_codes of cases) {
      const r = await suite.repos.meetingRooms.create(accountSid, { access_codes: access_codes as AccessCodeObject[] });
      expect(!r.ok && r.error.kind).toBe("invalid");
      expect(!r.ok && r.error.field).toBe("access_codes");
    }
  });

  test("the database enforces unique codes per account even bypassing the repository", async () => {
    const { accountSid } = await newAccount(suite.repos);
    const a = must(await suite.repos.meetingRooms.create(accountSid, { access_codes: [{ access_code: "777", role: "host" }] }));
    const b = must(await suite.repos.meetingRooms.create(accountSid, {}));
    const insert =
      (room: string, code: string, account = accountSid) =>
      async () =>
        await suite.database.db
          .insert(accessCodes)
          .values({ meetingRoomSid: room, accountSid: account, accessCode: code, role: "host", position: 5 });
    await expect(insert(b.meeting_room_sid, "777")()).rejects.toThrow();
    // account_sid must be the room's own account: no sneaking the code in under another account.
    const other = await newAccount(suite.repos);
    await expect(insert(a.meeting_room_sid, "999", other.accountSid)()).rejects.toThrow();
    // roles are checked too
    await expect(
      (async () =>
        await suite.database.db.execute(
          sql`insert into access_codes values (${b.meeting_room_sid}, ${accountSid}, '1', 'boss', 0)`,
        ))(),
    ).rejects.toThrow();
    await insert(b.meeting_room_sid, "778")();
    expect(must(await suite.repos.meetingRooms.get(accountSid, b.meeting_room_sid)).access_codes).toEqual([
      { access_code: "778", role: "host" },
    ]);
  });

  test("update replaces access codes whole in one transaction; a conflict changes nothing", async () => {
    const { accountSid } = await newAccount(suite.repos);
    const a = must(await suite.repos.meetingRooms.create(accountSid, { name: "a", access_codes: SAMPLE_CODES }));
    const b = must(
      await suite.repos.meetingRooms.create(accountSid, { name: "b", access_codes: [{ access_code: "1", role: "host" }] }),
    );
    // Moving a code from a room to itself is fine (the old set is deleted first).
    const same = must(
      await suite.repos.meetingRooms.update(accountSid, a.meeting_room_sid, { access_codes: [...SAMPLE_CODES].reverse() }),
    );
    expect(same.access_codes).toEqual([...SAMPLE_CODES].reverse());
    const clash = await suite.repos.meetingRooms.update(accountSid, b.meeting_room_sid, {
      name: "renamed",
      access_codes: [
        { access_code: "2", role: "host" },
        { access_code: "890671", role: "participant" },
      ],
    });
    expect(!clash.ok && clash.error).toMatchObject({ kind: "conflict", field: "access_codes" });
    expect(!clash.ok && clash.error.errors?.[0]?.referenceSid).toBe(a.meeting_room_sid);
    expect(must(await suite.repos.meetingRooms.get(accountSid, b.meeting_room_sid))).toEqual(b);
    const renamed = must(await suite.repos.meetingRooms.update(accountSid, b.meeting_room_sid, { name: "Updated meeting room" }));
    expect(renamed).toEqual({ ...b, name: "Updated meeting room" });
    const cleared = must(await suite.repos.meetingRooms.update(accountSid, b.meeting_room_sid, { access_codes: [] }));
    expect(cleared.access_codes).toEqual([]);
    // Freed codes can be reused by another room.
    must(await suite.repos.meetingRooms.update(accountSid, a.meeting_room_sid, { access_codes: [] }));
    const reuse = must(await suite.repos.meetingRooms.update(accountSid, b.meeting_room_sid, { access_codes: SAMPLE_CODES }));
    expect(reuse.access_codes).toEqual(SAMPLE_CODES);
  });

  test("attributes: PATCH merge rules, replace mode, PUT defaults, validation", async () => {
    const { accountSid } = await newAccount(suite.repos);
    const g = must(await suite.repos.didGroups.create(accountSid, {}));
    const r = must(
      await suite.repos.meetingRooms.create(accountSid, {
        did_group_sid: g.did_group_sid,
        attributes: { conference_start_how: "moderator" },
        access_codes: [{ access_code: "31", role: "host" }],
      }),
    );
    let u = must(
      await suite.repos.meetingRooms.update(accountSid, r.meeting_room_sid, { attributes: { conference_stop_how: "last" } }),
    );
    expect(u.attributes).toEqual({ conference_start_how: "moderator", conference_stop_how: "last" });
    u = must(
      await suite.repos.meetingRooms.update(accountSid, r.meeting_room_sid, { attributes: { conference_start_how: null } }),
    );
    expect(u.attributes).toEqual({ conference_stop_how: "last" });
    u = must(
      await suite.repos.meetingRooms.update(
        accountSid,
        r.meeting_room_sid,
        { attributes: { conference_moh: "beep" } },
        { nestedObjects: "replace" },
      ),
    );
    expect(u.attributes).toEqual({ conference_moh: "beep" });
    const bad = await suite.repos.meetingRooms.update(accountSid, r.meeting_room_sid, {
      name: 5 as unknown as string,
      attributes: { conference_moh: "" },
    });
    expect(!bad.ok && bad.error.errors?.map((e) => e.field)).toEqual(["name", "attributes.conference_moh"]);
    const put = must(await suite.repos.meetingRooms.replace(accountSid, r.meeting_room_sid, { name: "only name" }));
    expect(put).toMatchObject({ name: "only name", attributes: {}, did_group_sid: null, access_codes: [] });
  });

  test("DID group references: own group only; deleting the group nulls it", async () => {
    const mine = await newAccount(suite.repos);
    const theirs = await newAccount(suite.repos);
    const myGroup = must(await suite.repos.didGroups.create(mine.accountSid, {}));
    const theirGroup = must(await suite.repos.didGroups.create(theirs.accountSid, {}));
    const cross = await suite.repos.meetingRooms.create(mine.accountSid, { did_group_sid: theirGroup.did_group_sid });
    expect(!cross.ok && cross.error).toMatchObject({ kind: "invalid", field: "did_group_sid" });
    const r = must(await suite.repos.meetingRooms.create(mine.accountSid, { did_group_sid: myGroup.did_group_sid }));
    await expect(
      (async () =>
        await suite.database.db.execute(
          sql`update meeting_rooms set did_group_sid = ${theirGroup.did_group_sid} where meeting_room_sid = ${r.meeting_room_sid}`,
        ))(),
    ).rejects.toThrow();
    must(await suite.repos.didGroups.delete(mine.accountSid, myGroup.did_group_sid));
    expect(must(await suite.repos.meetingRooms.get(mine.accountSid, r.meeting_room_sid)).did_group_sid).toBeNull();
  });

  test("list: scoped, filters on fields and attributes, paging; delete cascades codes; isolation", async () => {
    const { accountSid } = await newAccount(suite.repos);
    const other = await newAccount(suite.repos);
    must(await suite.repos.meetingRooms.create(other.accountSid, { name: "theirs" }));
    const x = must(
      await suite.repos.meetingRooms.create(accountSid, {
        name: "x",
        attributes: { conference_language: "DE" },
        access_codes: [{ access_code: "10", role: "host" }],
      }),
    );
    const y = must(
      await suite.repos.meetingRooms.create(accountSid, { name: "y", access_codes: [{ access_code: "20", role: "listener" }] }),
    );
    const f = suite.repos.meetingRooms.fields;
    const all = await suite.repos.meetingRooms.list({ accountSid, orderBy: [sql`${f.name} desc`], limit: 10, offset: 0 });
    expect(all).toEqual({ items: [y, x], total: 2 });
    const de = await suite.repos.meetingRooms.list({
      accountSid,
      where: sql`${fieldExpression(f, "attributes.conference_language")} = ${"DE"}`,
      limit: 10,
      offset: 0,
    });
    expect(de).toEqual({ items: [x], total: 1 });
    expect(await suite.repos.meetingRooms.list({ accountSid, limit: 1, offset: 1, orderBy: [sql`${f.name}`] })).toEqual({
      items: [y],
      total: 2,
    });
    expect(fieldExpression(f, "nope")).toBeUndefined();
    expect((await suite.repos.meetingRooms.get(other.accountSid, x.meeting_room_sid)).ok).toBe(false);
    expect((await suite.repos.meetingRooms.delete(other.accountSid, x.meeting_room_sid)).ok).toBe(false);
    expect((await suite.repos.meetingRooms.update(other.accountSid, x.meeting_room_sid, { name: "stolen" })).ok).toBe(false);
    expect((await suite.repos.meetingRooms.delete(accountSid, x.meeting_room_sid)).ok).toBe(true);
    const left = await suite.database.db
      .select()
      .from(accessCodes)
      .where(sql`${accessCodes.meetingRoomSid} = ${x.meeting_room_sid}`);
    expect(left).toEqual([]);
    // The deleted room's code is free again.
    expect(
      (
        await suite.repos.meetingRooms.update(accountSid, y.meeting_room_sid, {
          access_codes: [{ access_code: "10", role: "host" }],
        })
      ).ok,
    ).toBe(true);
  });

  test("list pages: creation order by default, codes in their order, totals of empty pages, order kept across pages", async () => {
    const { accountSid } = await newAccount(suite.repos);
    const rooms: Awaited<ReturnType<typeof suite.repos.meetingRooms.list>>["items"] = [];
    for (let i = 0; i < 5; i++) {
      // Rooms created in one millisecond would tie on date_created and fall back to their random SIDs.
      await Bun.sleep(2);
      rooms.push(
        must(
          await suite.repos.meetingRooms.create(accountSid, {
            name: `room ${(i * 3) % 5}`,
            attributes: { conference_moh: "jazz", conference_language: "DE", conference_entrytones: "off" },
            access_codes: [
              { access_code: `*${900 + i}*`, role: "listener" },
              { access_code: `${800 + i}`, role: "host" },
            ],
          }),
        ),
      );
    }
    const list = (o: { limit: number; offset: number; orderBy?: ReturnType<typeof sql>[] }) =>
      suite.repos.meetingRooms.list({ accountSid, ...o });
    expect(await list({ limit: 10, offset: 0 })).toEqual({ items: rooms, total: 5 });
    for (const r of (await list({ limit: 10, offset: 0 })).items) {
      expect(Object.keys(r.attributes)).toEqual(Object.keys(r.attributes).sort());
      expect(r.access_codes.map((c) => c.role)).toEqual(["listener", "host"]);
    }
    expect(await list({ limit: 2, offset: 2 })).toEqual({ items: rooms.slice(2, 4), total: 5 });
    expect(await list({ limit: 2, offset: 4 })).toEqual({ items: rooms.slice(4), total: 5 });
    // Past the end and limit 0: no rows to carry the count, still the exact total.
    expect(await list({ limit: 10, offset: 5 })).toEqual({ items: [], total: 5 });
    expect(await list({ limit: 10, offset: 50 })).toEqual({ items: [], total: 5 });
    expect(await list({ limit: 0, offset: 0 })).toEqual({ items: [], total: 5 });
    const f = suite.repos.meetingRooms.fields;
    const byName = [...rooms].sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
    const pages = [];
    for (let offset = 0; offset < 5; offset += 2)
      pages.push(...(await list({ limit: 2, offset, orderBy: [sql`${f.name} desc`] })).items);
    expect(pages).toEqual(byName);
    const empty = await newAccount(suite.repos);
    expect(await suite.repos.meetingRooms.list({ accountSid: empty.accountSid, limit: 10, offset: 0 })).toEqual({
      items: [],
      total: 0,
    });
    expect(await suite.repos.meetingRooms.list({ accountSid: empty.accountSid, limit: 10, offset: 10 })).toEqual({
      items: [],
      total: 0,
    });
  });

  test("concurrent creates with the same code: exactly one wins", async () => {
    const { accountSid } = await newAccount(suite.repos);
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        suite.repos.meetingRooms.create(accountSid, { name: `r${i}`, access_codes: [{ access_code: "4242", role: "host" }] }),
      ),
    );
    expect(results.filter((r) => r.ok).length).toBe(1);
    for (const r of results.filter((r) => !r.ok)) expect(!r.ok && r.error.kind).toBe("conflict");
  });
});
