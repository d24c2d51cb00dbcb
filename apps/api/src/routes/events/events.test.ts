import { afterAll, beforeAll, expect, test } from "bun:test";
import { assignDid, forEachLivePlane } from "../../testing.ts";

/** One parsed SSE event. */
interface Sse {
  id: string;
  event: string;
  data: any;
}

/**
 * A minimal SSE client over real HTTP: collects events and comments until closed.
 */
function openStream(url: string, auth: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const events: Sse[] = [];
  const comments: string[] = [];
  const res = fetch(url, { headers: { Authorization: auth, Accept: "text/event-stream", ...headers }, signal: abort.signal });
  const done = (async () => {
    const r = await res;
    if (r.status !== 200 || !r.body) return;
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const e: Partial<Sse> = {};
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) comments.push(line.slice(1).trim());
            else if (line.startsWith("id: ")) e.id = line.slice(4);
            else if (line.startsWith("event: ")) e.event = line.slice(7);
            else if (line.startsWith("data: ")) e.data = JSON.parse(line.slice(6));
          }
          if (e.id) events.push(e as Sse);
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    res,
    events,
    comments,
    async close() {
      abort.abort();
      await done;
    },
  };
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

forEachLivePlane(
  (h) => {
    let server: ReturnType<typeof Bun.serve>;
    let base = "";
    beforeAll(async () => {
      server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: h().app.fetch });
      base = `http://127.0.0.1:${server.port}/conference/v2/events`;
      await assignDid(h(), h().a, "15162065515");
      await assignDid(h(), h().b, "15162065516");
      await h().json("POST", "/conference/v2/meeting_rooms", {
        body: { access_codes: [{ access_code: "890671", role: "host" }] },
      });
      await h().json("POST", "/conference/v2/meeting_rooms", {
        auth: h().b.auth,
        body: { access_codes: [{ access_code: "111111", role: "host" }] },
      });
    });
    afterAll(() => server.stop(true));

    test("a client sees its account's events live, disconnects, and resumes with Last-Event-ID without a gap or a repeat", async () => {
      const s1 = openStream(base, h().a.auth);
      expect((await s1.res).headers.get("content-type")).toStartWith("text/event-stream");
      await until(() => s1.comments.includes("connected"), "connected");
      const first = await h().dialIn("15162065515", "890671", { name: "one" });
      await h().dialIn("15162065516", "111111"); // the other account's: never seen
      await until(() => s1.events.length >= 2, "two events");
      expect(s1.events.map((e) => e.event)).toEqual(["meeting.started", "call.joined"]);
      const joined = s1.events[1] as Sse;
      expect(joined.data).toMatchObject({
        event_id: joined.id,
        type: "call.joined",
        account_sid: h().a.accountSid,
        meeting_sid: first.meeting.meeting_sid,
        call_sid: first.call.call_sid,
        data: { call_sid: first.call.call_sid, name: "one" },
      });
      expect(joined.data.date_created).toMatch(/^\d{4}-/);
      const lastSeen = joined.id;
      await s1.close();

      // While no client listens: a mute through the API, a second caller, a leave.
      expect((await h().json("PATCH", `/conference/v2/calls/${first.call.call_sid}`, { body: { muted: true } })).status).toBe(
        200,
      );
      const second = await h().dialIn("15162065515", "890671", { name: "two" });
      await h().store.leave(second.call.call_sid);

      const s2 = openStream(base, h().a.auth, { "Last-Event-ID": lastSeen });
      await until(() => s2.events.length >= 3, "the missed events");
      expect(s2.events.map((e) => e.event)).toEqual(["call.updated", "call.joined", "call.left"]);
      expect(s2.events[0]?.data).toMatchObject({
        call_sid: first.call.call_sid,
        changes: { muted: true },
        data: { muted: true },
      });
      // Then the live ones.
      await h().store.leave(first.call.call_sid);
      await until(() => s2.events.length >= 5, "live events after the replay");
      expect(s2.events.slice(3).map((e) => e.event)).toEqual(["call.left", "meeting.ended"]);
      const ids = s2.events.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(s2.events.every((e) => e.data.account_sid === h().a.accountSid)).toBe(true);
      await s2.close();

      // From the start of the log: everything of the account, in order.
      const all = openStream(`${base}?type=meeting.started,meeting.ended`, h().a.auth);
      await until(() => all.events.length >= 2, "the filtered replay");
      expect(all.events.map((e) => e.event)).toEqual(["meeting.started", "meeting.ended"]);
      await all.close();
    });

    test("meeting_sid= keeps one meeting's events; bad type or Last-Event-ID is a 422; no credentials a 401", async () => {
      const a = await h().dialIn("15162065515", "890671");
      const s = openStream(`${base}?meeting_sid=${a.meeting.meeting_sid}&type=call.left`, h().a.auth);
      await until(() => s.comments.includes("connected"), "connected");
      await h().store.leave(a.call.call_sid);
      await until(() => s.events.length >= 1, "call.left");
      expect(s.events.map((e) => [e.event, e.data.meeting_sid])).toEqual([["call.left", a.meeting.meeting_sid]]);
      await s.close();
      const bad = await fetch(`${base}?type=call.joined,nope`, { headers: { Authorization: h().a.auth } });
      expect(bad.status).toBe(422);
      expect(((await bad.json()) as any).errors[0].field).toBe("type");
      const badId = await fetch(base, { headers: { Authorization: h().a.auth, "Last-Event-ID": "x'; DROP" } });
      expect(badId.status).toBe(422);
      expect((await fetch(base)).status).toBe(401);
    });

    test("streams per account are bounded (429), and a closed stream frees its place", async () => {
      const streams = [openStream(base, h().b.auth), openStream(base, h().b.auth)];
      for (const s of streams) expect((await s.res).status).toBe(200);
      const third = await fetch(base, { headers: { Authorization: h().b.auth } });
      expect(third.status).toBe(429);
      expect(third.headers.get("retry-after")).toBe("5");
      expect(((await third.json()) as any).errors[0].message).toContain("at most 2");
      // Another account is not affected.
      const other = openStream(base, h().a.auth);
      expect((await other.res).status).toBe(200);
      await other.close();
      await streams[0]?.close();
      let again: ReturnType<typeof openStream> | null = null;
      const end = Date.now() + 3000;
      for (;;) {
        const s = openStream(base, h().b.auth);
        if ((await s.res).status === 200) {
          again = s;
          break;
        }
        await s.close();
        if (Date.now() > end) throw new Error("the closed stream's place was never freed");
        await Bun.sleep(20);
      }
      await again.close();
      await streams[1]?.close();
    });

    test("a keep-alive comment comes while nothing happens", async () => {
      // The previous test's streams may still hold the account's two places for a moment.
      let s = openStream(base, h().b.auth);
      for (let tries = 0; (await s.res).status !== 200 && tries < 100; tries++) {
        await s.close();
        await Bun.sleep(20);
        s = openStream(base, h().b.auth);
      }
      expect((await s.res).status).toBe(200);
      await until(() => s.comments.includes("keep-alive"), "keep-alive", 10_000);
      await s.close();
    });
  },
  { appDeps: { eventStreams: { maxPerAccount: 2, keepAliveMs: 300 } } },
);
