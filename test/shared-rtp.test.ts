/**
 * End to end with shared RTP sockets (RTP_SHARED_SOCKETS=1): two real callers on one
 * local RTP port are told apart by their source, and each hears the other, not itself.
 * RTP_SHARED_SOCKETS and RTP_BATCH_IO in this test's environment reach the service, e.g.
 * `RTP_BATCH_IO=1 RTP_SHARED_SOCKETS=4 bun test test/shared-rtp.test.ts` for batched sockets.
 */
import { beforeAll, expect, test } from "bun:test";
import type { Baresip } from "./lib/baresip.ts";
import { callBed, QUIET_ATTRIBUTES } from "./lib/call-bed.ts";
import { eventually } from "./lib/service.ts";
import { levelsAtEnd } from "./lib/spectrum.ts";

const NUMBER = "15162065922";
const bed = callBed({
  number: NUMBER,
  ports: { from: 51000, blocks: 50 },
  env: { RTP_SHARED_SOCKETS: process.env.RTP_SHARED_SOCKETS ?? "1", RTP_BATCH_IO: process.env.RTP_BATCH_IO ?? "0" },
});
const callers: Baresip[] = [];

beforeAll(async () => {
  await bed.acct.account.req("POST", "/conference/v2/meeting_rooms", {
    access_codes: [
      { access_code: "6661", role: "host" },
      { access_code: "6662", role: "participant" },
    ],
    attributes: QUIET_ATTRIBUTES,
  });
  for (const [i, hz] of [440, 1000].entries()) {
    callers.push(await bed.caller(hz, `400${i}`));
  }
}, 60_000);

test(`two callers on shared RTP sockets${process.env.RTP_BATCH_IO === "1" ? " (RTP_BATCH_IO=1)" : ""} hear each other, not themselves`, async () => {
  const [host, part] = callers as [Baresip, Baresip];
  for (const [c, code] of [
    [host, "6661"],
    [part, "6662"],
  ] as const) {
    await bed.dialIn(c, code);
  }
  await eventually(
    async () => {
      const r = await bed.acct.account.req<{ items: { meeting_sid: string | null }[] }>("GET", "/conference/v2/calls");
      return r.body.items.filter((c) => c.meeting_sid !== null).length === 2;
    },
    15_000,
    "two calls",
  );
  await Bun.sleep(3000);
  const m = await bed.acct.account.req<{ items: { meeting_sid: string }[] }>("GET", "/conference/v2/meetings");
  await bed.acct.account.req("DELETE", `/conference/v2/meetings/${m.body.items[0]!.meeting_sid}`);
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
