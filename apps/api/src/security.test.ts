/**
 * Hostile input through the whole app (in-process): each case was a 500 or an
 * unbounded cost before, and now gets a bounded 4xx in the reference's shape.
 */
import { beforeAll, expect, test } from "bun:test";
import { assignDid, basicHeader, forEachLivePlane } from "./testing.ts";

const bad = (field: string | null, message: string) => ({ message: "bad request", errors: [{ field, message, reference_sid: null }] });

forEachLivePlane((h) => {
  let callSid = "";

  beforeAll(async () => {
    await assignDid(h(), h().a, "15162065901");
    await h().json("POST", "/conference/v2/meeting_rooms", { body: { name: "Sec", access_codes: [{ access_code: "901901", role: "host" }] } });
    callSid = (await h().dialIn("15162065901", "901901", { name: "a".repeat(255) })).call.call_sid;
  }, 60_000);

  // A: a backtracking like took 8.9 s on this call.
  test("like on a 255-character call name with an adversarial pattern answers at once", async () => {
    const start = performance.now();
    const r = await h().json("GET", `/conference/v2/calls?filter=${encodeURIComponent('name like "%a%a%a%a%a%a%a%b"')}`);
    expect(r.status).toBe(200);
    expect(r.body.count).toBe(0);
    expect(performance.now() - start).toBeLessThan(2000);
    const hit = await h().json("GET", `/conference/v2/calls?filter=${encodeURIComponent('name like "%a%a%a%a%a%a%a%a"')}`);
    expect(hit.body.items.map((c: { call_sid: string }) => c.call_sid)).toEqual([callSid]);
  });

  test("a like pattern over the limit is a 400 naming the filter", async () => {
    const r = await h().json("GET", `/conference/v2/calls?filter=${encodeURIComponent(`name like "${"%".repeat(257)}"`)}`);
    expect(r).toMatchObject({ status: 400, body: bad("filter", 'the like pattern of "name" is longer than 256 characters') });
  });

  // B: `date_created like "%"` was a 500 (text ~~ timestamptz) on config lists.
  test("like on a date matches its ISO text, on config and live lists", async () => {
    for (const path of ["/conference/v2/accounts", "/conference/v2/calls"]) {
      const all = await h().json("GET", `${path}?filter=${encodeURIComponent('date_created like "%"')}`);
      expect(all.status).toBe(200);
      expect(all.body.count).toBe(1);
      const year = new Date().getUTCFullYear();
      expect((await h().json("GET", `${path}?filter=${encodeURIComponent(`date_created like "${year}-%Z"`)}`)).body.count).toBe(1);
      expect((await h().json("GET", `${path}?filter=${encodeURIComponent('date_created like "1999%"')}`)).body.count).toBe(0);
    }
  });
});
