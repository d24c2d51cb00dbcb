/**
 * End to end with shared RTP sockets (RTP_SHARED_SOCKETS=1): two real callers on one
 * local RTP port are told apart by their source, and each hears the other, not itself.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Baresip } from "./lib/baresip.ts";
import { eventually, freeSipPort, type Provisioned, provision, type Service, startService } from "./lib/service.ts";
import { levelsAtEnd } from "./lib/spectrum.ts";

const NUMBER = "15162065922";
let svc: Service;
let acct: Provisioned;
const callers: Baresip[] = [];

beforeAll(async () => {
  const base = 51000 + Math.floor(Math.random() * 50) * 40;
  svc = await startService({ rtpPortMin: base + 2000, rtpPortMax: base + 2999, env: { RTP_SHARED_SOCKETS: "1" } });
  acct = await provision(svc, NUMBER);
  await acct.account.req("POST", "/conference/v2/meeting_rooms", {
    access_codes: [
      { access_code: "6661", role: "host" },
      { access_code: "6662", role: "participant" },
    ],
    attributes: {
      conference_greeting_enabled: "off",
      conference_entrytones: "off",
      conference_exittones: "off",
      conference_moh_enabled: "off",
      call_announceparticipantcount: "",
    },
  });
  for (const [i, hz] of [440, 1000].entries()) {
    callers.push(new Baresip({ sipPort: await freeSipPort(), rtpPortBase: base + i * 10, toneHz: hz, user: `400${i}` }));
  }
}, 60_000);

afterAll(async () => {
  for (const c of callers) await c.stop();
  await svc?.stop();
  for (const c of callers) c.cleanup();
}, 30_000);

test("two callers on one shared RTP socket hear each other, not themselves", async () => {
  const [host, part] = callers as [Baresip, Baresip];
  for (const [c, code] of [
    [host, "6661#"],
    [part, "6662#"],
  ] as const) {
    c.dial(`sip:${NUMBER}@127.0.0.1:${svc.sipPort}`, 60);
    await c.waitFor(/Call established/, 10_000);
    c.sendDigits(code);
  }
  await eventually(async () => {
    const r = await acct.account.req<{ items: unknown[] }>("GET", "/conference/v2/calls");
    return r.body.items.length === 2;
  }, 15_000, "two calls");
  await Bun.sleep(3000);
  const m = await acct.account.req<{ items: { meeting_sid: string }[] }>("GET", "/conference/v2/meetings");
  await acct.account.req("DELETE", `/conference/v2/meetings/${m.body.items[0]!.meeting_sid}`);
  for (const c of callers) await c.waitFor(/terminat|closed/i, 10_000);
  for (const c of callers) await c.stop();
  const byHost = levelsAtEnd(host.recording(), [440, 1000], 1.5);
  const byPart = levelsAtEnd(part.recording(), [440, 1000], 1.5);
  const report = JSON.stringify({ byHost, byPart });
  expect(byHost[1000]!, report).toBeGreaterThan(-35);
  expect(byHost[440]!, report).toBeLessThan(-50);
  expect(byPart[440]!, report).toBeGreaterThan(-35);
  expect(byPart[1000]!, report).toBeLessThan(-50);
}, 60_000);
