import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { createRepositories } from "@conf/db";
import { createDeliveryQueue } from "@conf/session-store";
import { parseEnv } from "../../lib/env.ts";
import { startWebhookDispatcher, type WebhookDispatcher } from "../../lib/webhook-dispatcher.ts";
import { type OutboundPolicy, parseOutboundPolicy } from "@conf/outbound";
import { assignDid, forEachLivePlane, TEST_REDIS_URL } from "../../testing.ts";

// The routes' policy follows OUTBOUND_ALLOW_PRIVATE as parsed from an environment the
// test switches: first without the variable, then with it (the receiver is on 127.0.0.1).
let vars: Record<string, string> = {};
const policyOf = (): OutboundPolicy => {
  const env = parseEnv(vars);
  if (!env.ok) throw new Error(env.error);
  const p = parseOutboundPolicy({ allowPrivate: env.value.OUTBOUND_ALLOW_PRIVATE, allowlist: env.value.OUTBOUND_ALLOWLIST });
  if (!p.ok) throw new Error(p.error);
  return p.value;
};
const policy: OutboundPolicy = {
  get allowPrivate() {
    return policyOf().allowPrivate;
  },
  get allowlist() {
    return policyOf().allowlist;
  },
  get own() {
    return policyOf().own;
  },
};

interface Receipt {
  body: string;
  signature: string | null;
  at: number;
}

forEachLivePlane(
  (h) => {
    const receipts: Receipt[] = [];
    let answers: number[] = [];
    let receiver: ReturnType<typeof Bun.serve>;
    let dispatcher: WebhookDispatcher;
    let closeQueue: () => Promise<void>;

    beforeAll(async () => {
      receiver = Bun.serve({
        port: 0,
        hostname: "127.0.0.1",
        async fetch(req) {
          receipts.push({ body: await req.text(), signature: req.headers.get("conference-signature"), at: Date.now() });
          return new Response("", { status: answers.shift() ?? 200 });
        },
      });
      const prefix = `whtest:${crypto.randomUUID()}:`;
      const q = createDeliveryQueue({ redisUrl: h().store.kind === "redis" ? TEST_REDIS_URL : undefined, prefix });
      closeQueue = q.close;
      const repos = createRepositories(h().testDb.database);
      dispatcher = startWebhookDispatcher({
        log: h().store.eventLog,
        queue: q.queue,
        webhooksOf: (a) => repos.webhooks.ofAccount(a),
        policy,
        retryBaseMs: 100,
        pollMs: 20,
        cacheTtlMs: 0,
        timeoutMs: 2000,
        onError: () => {},
      });
      await assignDid(h(), h().a, "15162065515");
      await h().json("POST", "/conference/v2/meeting_rooms", {
        body: { access_codes: [{ access_code: "890671", role: "host" }] },
      });
    });
    afterAll(async () => {
      await dispatcher.close();
      await closeQueue();
      receiver.stop(true);
    });

    test("a URL on a loopback, private or link-local address is refused (422) without OUTBOUND_ALLOW_PRIVATE", async () => {
      vars = {};
      for (const url of [
        "http://127.0.0.1:9/x",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "http://localhost/",
        "http://2130706433/",
      ]) {
        const r = await h().json("POST", "/conference/v2/webhooks", { body: { url } });
        expect({ url, status: r.status, field: r.body.errors?.[0]?.field }).toEqual({ url, status: 422, field: "url" });
      }
      for (const body of [
        { url: "ftp://hooks.example.com/" },
        { url: "https://u:p@hooks.example.com/" },
        { url: "https://hooks.example.com/", types: ["nope"] },
        { url: "https://hooks.example.com/", types: [] },
        {},
      ]) {
        expect((await h().json("POST", "/conference/v2/webhooks", { body })).status).toBe(422);
      }
      expect((await h().json("GET", "/conference/v2/webhooks")).body.items).toEqual([]);
    });

    test("create answers the secret once; list, get (no secret), 404 for another account, delete", async () => {
      vars = {};
      const r = await h().json("POST", "/conference/v2/webhooks", { body: { url: "https://hooks.example.com/conf" } });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        account_sid: h().a.accountSid,
        date_created: expect.stringMatching(/^\d{4}-/),
        secret: expect.stringMatching(/^[0-9a-f]{64}$/),
        types: null,
        url: "https://hooks.example.com/conf",
        webhook_sid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      const { secret, ...shown } = r.body;
      const p = `/conference/v2/webhooks/${r.body.webhook_sid}`;
      expect((await h().json("GET", p)).body).toEqual(shown);
      const list = await h().json("GET", "/conference/v2/webhooks?limit=1");
      expect(list.body).toMatchObject({ count: 1, has_more: false, items: [shown], limit: 1, offset: 0, total: 1 });
      expect((await h().json("GET", p, { auth: h().b.auth })).status).toBe(404);
      expect((await h().request("DELETE", p, { auth: h().b.auth })).status).toBe(404);
      expect((await h().request("DELETE", p)).status).toBe(204);
      expect((await h().json("GET", p)).status).toBe(404);
    });

    test("each event is POSTed signed; a failed first delivery is retried and arrives with a valid signature", async () => {
      vars = { OUTBOUND_ALLOW_PRIVATE: "1" };
      const created = await h().json("POST", "/conference/v2/webhooks", {
        body: { url: `http://127.0.0.1:${receiver.port}/hook`, types: ["call.joined"] },
      });
      expect(created.status).toBe(200);
      receipts.length = 0;
      answers = [500];
      const joined = await h().dialIn("15162065515", "890671", { name: "hooked" });
      const end = Date.now() + 10_000;
      while (receipts.length < 2 && Date.now() < end) await Bun.sleep(20);
      expect(receipts.length).toBe(2);
      const [first, second] = receipts as [Receipt, Receipt];
      expect(second.body).toBe(first.body);
      expect(second.at - first.at).toBeGreaterThanOrEqual(90);
      const event = JSON.parse(second.body);
      expect(event).toMatchObject({
        type: "call.joined",
        account_sid: h().a.accountSid,
        call_sid: joined.call.call_sid,
        meeting_sid: joined.meeting.meeting_sid,
        data: { call_sid: joined.call.call_sid, name: "hooked" },
      });
      expect(event.event_id).toMatch(/^\d+-\d+$/);
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(second.signature ?? "");
      expect(m).not.toBeNull();
      const expected = createHmac("sha256", created.body.secret).update(`${m?.[1]}.${second.body}`).digest("hex");
      expect(m?.[2]).toBe(expected);
      expect(Math.abs(Number(m?.[1]) - Date.now() / 1000)).toBeLessThan(30);
      // Only call.joined was asked for: meeting.started was not sent; nothing more comes.
      await h().store.leave(joined.call.call_sid);
      await Bun.sleep(300);
      expect(receipts.length).toBe(2);
      await h().request("DELETE", `/conference/v2/webhooks/${created.body.webhook_sid}`);
    });
  },
  { appDeps: { webhooks: { policy, maxPerAccount: 3 } } },
);
