/**
 * The console page as the server sends it: its headers (a CSP of this origin only), its
 * files, and what its script must never do (keep credentials anywhere but in memory, or
 * put data into the DOM as HTML). The page at work in a browser: test/console.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestDatabase, TEST_DATABASE_HOOK_TIMEOUT_MS, type TestDatabase } from "@conf/db/testing";
import { createApp } from "../app.ts";
import { ADMIN_TOKEN } from "../testing.ts";
import { CONSOLE_CSP, consoleRoutes } from "./console.ts";

const routes = consoleRoutes();
const get = (path: string) => routes.request(`http://api.test${path}`);

describe("GET /console", () => {
  test("an HTML page with a CSP that allows this origin only, and no caching", async () => {
    const r = await get("/console");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = r.headers.get("content-security-policy") ?? "";
    expect(csp).toBe(CONSOLE_CSP);
    const directives = Object.fromEntries(
      csp.split(";").map((d) => {
        const [name = "", ...values] = d.trim().split(/\s+/);
        return [name, values];
      }),
    );
    expect(directives["default-src"]).toEqual(["'none'"]);
    expect(directives["script-src"]).toEqual(["'self'"]);
    expect(directives["style-src"]).toEqual(["'self'"]);
    expect(directives["connect-src"]).toEqual(["'self'"]);
    expect(directives["form-action"]).toEqual(["'none'"]);
    expect(directives["frame-ancestors"]).toEqual(["'none'"]);
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("referrer-policy")).toBe("no-referrer");
  });

  test("the sign-in form: login and password inputs and a submit button, posted nowhere but by the script", async () => {
    const html = await (await get("/console")).text();
    expect(html).toMatch(/<input name="login"[^>]*>/);
    expect(html).toMatch(/<input name="password" type="password"[^>]*>/);
    expect(html).toMatch(/<button type="submit">/);
    // No action: with the script blocked, form-action 'none' stops the submit (a GET would put the password in the URL).
    expect(html).toMatch(/<form id="sign-in" method="post"/);
    expect(html).not.toMatch(/action=/);
  });

  test("everything the page loads comes from this server: no other origin, no inline script or style", async () => {
    const html = await (await get("/console")).text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    expect(refs.sort()).toEqual(["/console/console.css", "/console/console.js", "/console/console.svg"]);
    expect(html).not.toMatch(/https?:|\/\//);
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    for (const path of ["/console/console.js", "/console/console.css", "/console/console.svg"]) {
      const r = await get(path);
      expect(r.status).toBe(200);
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      // An SVG names its XML namespace by URL; nothing is fetched from it.
      expect((await r.text()).replace('xmlns="http://www.w3.org/2000/svg"', "")).not.toMatch(/https?:\/\//);
    }
    expect((await get("/console/console.js")).headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect((await get("/console/console.css")).headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await get("/console/console.svg")).headers.get("content-type")).toBe("image/svg+xml");
  });

  test("the script keeps no credentials outside its memory and writes no HTML", async () => {
    const js = await (await get("/console/console.js")).text();
    for (const banned of [
      "localStorage",
      "sessionStorage",
      "indexedDB",
      "document.cookie",
      "innerHTML",
      "outerHTML",
      "insertAdjacentHTML",
      "document.write",
      "eval(",
      "new Function",
      "EventSource",
    ]) {
      expect(js.includes(banned), banned).toBe(false);
    }
    // Every request leaves without the browser's own credentials (cookies, its login dialog).
    const fetches = js.match(/\bfetch\(/g)?.length ?? 0;
    expect(fetches).toBe(2);
    expect(js.match(/credentials: "omit"/g)?.length).toBe(fetches);
  });
});

describe("the console in the app", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ kind: "pglite" });
  }, TEST_DATABASE_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await db.drop();
  });

  test("served without credentials, beside the API", async () => {
    const app = createApp({ database: db.database, adminToken: ADMIN_TOKEN, log: false });
    const page = await app.request("http://api.test/console");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    expect((await app.request("http://api.test/console/console.js")).status).toBe(200);
    expect((await app.request("http://api.test/console/nothing")).status).toBe(404);
    // The API behind it still wants the account's credentials.
    expect((await app.request("http://api.test/conference/v2/calls")).status).toBe(401);
  });
});
