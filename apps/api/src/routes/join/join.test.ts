import { expect, test } from "bun:test";
import { JOIN_SCRIPT_PATH, joinRoutes } from "./index.ts";

test("GET /join: a form with number (prefilled from ?number=, escaped) and access_code, the WebSocket on the page's host", async () => {
  const app = joinRoutes({ wsPort: 5066 });
  const res = await app.request('http://conf.example:3000/join?number=%2B1%20555"><script>0123');
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/html");
  expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
  const html = await res.text();
  expect(html).toContain('name="number"');
  expect(html).toContain('name="access_code"');
  expect(html).toContain('type="submit"');
  // Only what a number may hold survives: nothing of the markup.
  expect(html).toContain('value="+1 5550123"');
  expect(html).not.toContain("<script>0");
  expect(html).toContain('data-ws="ws://conf.example:5066/"');
  expect(html).toContain(`<script src="${JOIN_SCRIPT_PATH}"></script>`);
  // Nothing from anywhere else.
  expect(html).not.toMatch(/(src|href)="https?:/);
});

test("the page's script is served from here; SIP_WS_URL wins; with browser calls off the page says so", async () => {
  const script = await joinRoutes({ wsPort: 5066 }).request(`http://x${JOIN_SCRIPT_PATH}`);
  expect(script.status).toBe(200);
  expect(script.headers.get("content-type")).toContain("javascript");
  expect(await script.text()).toContain("insertDTMF");
  const viaUrl = await (await joinRoutes({ wsPort: 5066, wsUrl: "wss://sip.example/ws" }).request("http://x/join")).text();
  expect(viaUrl).toContain('data-ws="wss://sip.example/ws"');
  const off = await (await joinRoutes({ wsPort: null }).request("http://x/join")).text();
  expect(off).toContain('data-ws=""');
});
