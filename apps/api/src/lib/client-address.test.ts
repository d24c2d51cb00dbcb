import { expect, test } from "bun:test";
import { Hono } from "hono";
import { clientAddress } from "./client-address.ts";

async function addressOf(trustProxy: boolean, headers: Record<string, string>, peer: string | null): Promise<string> {
  const app = new Hono();
  app.get("/", (c) => c.text(clientAddress(c, trustProxy)));
  const env = peer === null ? undefined : { requestIP: () => ({ address: peer }) };
  return (await app.request("http://api.test/", { headers }, env)).text();
}

test("the TCP peer, unless trusting a proxy that appended X-Forwarded-For", async () => {
  const xff = { "X-Forwarded-For": "1.2.3.4, 203.0.113.9" };
  expect(await addressOf(false, xff, "127.0.0.5")).toBe("127.0.0.5");
  expect(await addressOf(true, xff, "127.0.0.5")).toBe("203.0.113.9");
  // What the client wrote before the proxy's entry is never used; junk falls back to the peer.
  expect(await addressOf(true, { "X-Forwarded-For": "1.2.3.4, not-an-ip" }, "127.0.0.5")).toBe("127.0.0.5");
  expect(await addressOf(true, {}, "127.0.0.5")).toBe("127.0.0.5");
  expect(await addressOf(false, {}, null)).toBe("unknown");
});
