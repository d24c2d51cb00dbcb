/**
 * End to end: the host console (GET /console) in a real browser (Debian's chromium over
 * puppeteer-core) against the real service, with two real phones (baresip) in one meeting.
 * What the page shows is checked against the API; what the page does is checked in the
 * API and at the phones. Every request the page makes must go to the service itself.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { HTTPRequest, Page } from "puppeteer-core";
import { launchChromium, type TestBrowser } from "./lib/browser.ts";
import { callBed } from "./lib/call-bed.ts";
import type { Baresip } from "./lib/baresip.ts";
import { eventually } from "./lib/service.ts";

const NUMBER = "15162065931";
const HOST_CODE = "7101";
const PART_CODE = "7102";

const bed = callBed({ number: NUMBER, ports: { from: 14000, blocks: 25 }, quietAccount: true });

type Call = { call_sid: string; meeting_sid: string; role: string; muted: boolean; on_hold: boolean };
type Meeting = { meeting_sid: string; locked: boolean };

let tb: TestBrowser;
let page: Page;
let origin = "";
let login = "";
let password = "";
let meetingSid = "";
let hostSid = "";
let partSid = "";
let partPhone: Baresip;
let hostPhone: Baresip;
/** Every URL the console's pages asked for, and what the browser logged as errors. */
const requested: string[] = [];
const consoleErrors: string[] = [];

const api = <T>(method: string, path: string, body?: unknown) => bed.acct.account.req<T>(method, `/conference/v2${path}`, body);

async function calls(): Promise<Call[]> {
  return (await api<{ items: Call[] }>("GET", "/calls")).body.items;
}

/** A page of the browser that records its requests and errors. */
async function consolePage(intercept?: (r: HTTPRequest) => void): Promise<Page> {
  const p = await tb.browser.newPage();
  p.on("request", (r) => requested.push(r.url()));
  p.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  p.on("pageerror", (e) => consoleErrors.push(String(e)));
  p.on("response", (r) => {
    if (r.status() >= 400) consoleErrors.push(`${r.status()} ${r.url()}`);
  });
  if (intercept) {
    await p.setRequestInterception(true);
    p.on("request", intercept);
  }
  await p.goto(`${origin}/console`, { waitUntil: "load" });
  return p;
}

async function signIn(p: Page, pass: string): Promise<void> {
  await p.locator('input[name="login"]').fill(login);
  await p.locator('input[name="password"]').fill(pass);
  await p.locator('button[type="submit"]').click();
}

/** Waits until `expr` (evaluated in the page) is truthy. */
async function pageShows(p: Page, expr: string, timeout = 10_000): Promise<void> {
  await p.waitForFunction(expr, { timeout, polling: 100 });
}

const row = (sid: string) => `document.querySelector('[data-call-sid="${sid}"]')`;

beforeAll(async () => {
  origin = new URL(bed.svc.api).origin;
  // The account's own login and password (what its owner types), as provisioning made them.
  const basic = bed.acct.account.authorization.replace(/^Basic /, "");
  [login, password] = Buffer.from(basic, "base64").toString("utf8").split(":") as [string, string];
  const room = await api("POST", "/meeting_rooms", {
    name: "console",
    access_codes: [
      { access_code: HOST_CODE, role: "host" },
      { access_code: PART_CODE, role: "participant" },
    ],
  });
  expect(room.status).toBe(200);
  hostPhone = await bed.caller(0, "4001");
  partPhone = await bed.caller(0, "4002");
  await bed.dialIn(hostPhone, HOST_CODE);
  await bed.dialIn(partPhone, PART_CODE);
  const both = await eventually(
    async () => {
      // Callers at the code prompt are listed too (meeting_sid null): wait for both to join.
      const l = await calls();
      return l.length === 2 && l.every((c) => c.meeting_sid) ? l : null;
    },
    20_000,
    "both phones in the meeting",
  );
  hostSid = both.find((c) => c.role === "host")!.call_sid;
  partSid = both.find((c) => c.role === "participant")!.call_sid;
  meetingSid = both[0]!.meeting_sid;
  expect(both[1]!.meeting_sid).toBe(meetingSid);
  tb = await launchChromium();
  page = await consolePage();
}, 90_000);

afterAll(async () => {
  await tb?.close();
}, 30_000);

describe("the host console", () => {
  test("a wrong password shows an error and keeps the sign-in form", async () => {
    await signIn(page, `${password}-wrong`);
    await pageShows(page, `!document.getElementById("error").hidden`);
    const error = String(await page.evaluate(`document.getElementById("error").textContent`));
    expect(error).toContain("wrong login or password");
    expect(await page.evaluate(`document.getElementById("sign-in").hidden`)).toBe(false);
    expect(await page.evaluate(`document.getElementById("console").hidden`)).toBe(true);
  }, 20_000);

  test("signed in, it shows the meeting and exactly the calls GET /calls lists; nothing is stored in the browser", async () => {
    await signIn(page, password);
    await pageShows(page, `document.querySelectorAll("[data-call-sid]").length === 2`);
    const shownMeetings = await page.evaluate(
      `[...document.querySelectorAll("[data-meeting-sid]")].map((e) => e.dataset.meetingSid)`,
    );
    expect(shownMeetings).toEqual([meetingSid]);
    const shownCalls = (await page.evaluate(
      `[...document.querySelectorAll('[data-meeting-sid] [data-call-sid]')].map((e) => e.dataset.callSid)`,
    )) as string[];
    expect(shownCalls.sort()).toEqual((await calls()).map((c) => c.call_sid).sort());
    // Each row has the five controls, each meeting its three.
    const actions = await page.evaluate(
      `[...${row(partSid)}.querySelectorAll("button[data-action]")].map((b) => b.dataset.action)`,
    );
    expect(actions).toEqual(["mute", "unmute", "hold", "unhold", "drop"]);
    const meetingActions = await page.evaluate(
      `[...document.querySelectorAll('[data-meeting-sid="${meetingSid}"] button[data-action]')].map((b) => b.dataset.action).filter((a) => ["lock","unlock","end"].includes(a))`,
    );
    expect(meetingActions).toEqual(["lock", "unlock", "end"]);
    // The error of the failed sign-in is gone; the event stream is up.
    expect(await page.evaluate(`document.getElementById("error").hidden`)).toBe(true);
    await pageShows(page, `document.getElementById("status").textContent.includes("live")`);
    // The credentials are in the script's memory only.
    expect(await page.evaluate("localStorage.length")).toBe(0);
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    expect(await page.evaluate("document.cookie")).toBe("");
    expect(await page.evaluate(`document.querySelector('input[name="password"]').value`)).toBe("");
    expect(page.url()).toBe(`${origin}/console`);
    // Marks this document: a reload would lose it.
    await page.evaluate("window.__sameDocument = true");
  }, 30_000);

  test("mute and unmute from the page reach the call; a change made through the API shows on the page without a reload", async () => {
    await page.locator(`[data-call-sid="${partSid}"] button[data-action="mute"]`).click();
    await eventually(async () => (await api<Call>("GET", `/calls/${partSid}`)).body.muted === true, 10_000, "muted");
    await pageShows(page, `${row(partSid)}.dataset.muted === "true"`);
    expect((await api<Call>("GET", `/calls/${hostSid}`)).body.muted).toBe(false);
    await page.locator(`[data-call-sid="${partSid}"] button[data-action="unmute"]:not([disabled])`).click();
    await eventually(async () => (await api<Call>("GET", `/calls/${partSid}`)).body.muted === false, 10_000, "unmuted");
    await pageShows(page, `${row(partSid)}.dataset.muted === "false"`);
    // From elsewhere: the event stream brings it.
    expect((await api("PATCH", `/calls/${hostSid}`, { muted: true })).status).toBe(200);
    await pageShows(page, `${row(hostSid)}.dataset.muted === "true"`);
    expect((await api("PATCH", `/calls/${hostSid}`, { muted: false })).status).toBe(200);
    await pageShows(page, `${row(hostSid)}.dataset.muted === "false"`);
    expect(await page.evaluate("window.__sameDocument")).toBe(true);
  }, 30_000);

  test("hold and unhold from the page", async () => {
    await page.locator(`[data-call-sid="${partSid}"] button[data-action="hold"]`).click();
    await eventually(async () => (await api<Call>("GET", `/calls/${partSid}`)).body.on_hold === true, 10_000, "held");
    await pageShows(page, `${row(partSid)}.dataset.onHold === "true"`);
    await page.locator(`[data-call-sid="${partSid}"] button[data-action="unhold"]:not([disabled])`).click();
    await eventually(async () => (await api<Call>("GET", `/calls/${partSid}`)).body.on_hold === false, 10_000, "released");
    await pageShows(page, `${row(partSid)}.dataset.onHold === "false"`);
  }, 30_000);

  test("lock and unlock the meeting from the page", async () => {
    const m = `document.querySelector('[data-meeting-sid="${meetingSid}"]')`;
    await page.locator(`[data-meeting-sid="${meetingSid}"] button[data-action="lock"]`).click();
    await eventually(async () => (await api<Meeting>("GET", `/meetings/${meetingSid}`)).body.locked === true, 10_000, "locked");
    await pageShows(page, `${m}.dataset.locked === "true"`);
    await page.locator(`[data-meeting-sid="${meetingSid}"] button[data-action="unlock"]:not([disabled])`).click();
    await eventually(
      async () => (await api<Meeting>("GET", `/meetings/${meetingSid}`)).body.locked === false,
      10_000,
      "unlocked",
    );
    await pageShows(page, `${m}.dataset.locked === "false"`);
  }, 30_000);

  test("with the event stream refused, the page polls and still follows changes", async () => {
    const polling = await consolePage((r) => {
      if (new URL(r.url()).pathname === "/conference/v2/events") void r.abort("connectionrefused");
      else void r.continue();
    });
    try {
      await signIn(polling, password);
      await pageShows(polling, `document.querySelectorAll("[data-call-sid]").length === 2`);
      await pageShows(polling, `document.getElementById("status").textContent.includes("polling")`);
      expect((await api("PATCH", `/calls/${hostSid}`, { on_hold: true })).status).toBe(200);
      await pageShows(polling, `${row(hostSid)}.dataset.onHold === "true"`);
      expect((await api("PATCH", `/calls/${hostSid}`, { on_hold: false })).status).toBe(200);
      await pageShows(polling, `${row(hostSid)}.dataset.onHold === "false"`);
    } finally {
      await polling.close();
    }
  }, 30_000);

  test("when the stream ends, the page opens it again with Last-Event-ID", async () => {
    const id = `${Date.now() - 60_000}-0`;
    const sent: (string | undefined)[] = [];
    const p = await consolePage((r) => {
      if (new URL(r.url()).pathname === "/conference/v2/events") {
        sent.push(r.headers()["last-event-id"]);
        // The first stream: one event, then the server "goes away".
        if (sent.length === 1) {
          void r.respond({
            status: 200,
            contentType: "text/event-stream",
            body: `retry: 200\nid: ${id}\nevent: call.updated\ndata: {}\n\n`,
          });
          return;
        }
      }
      void r.continue();
    });
    try {
      await signIn(p, password);
      await eventually(async () => sent.length >= 2, 10_000, "a second stream");
      expect(sent[0]).toBeUndefined();
      expect(sent[1]).toBe(id);
      await pageShows(p, `document.getElementById("status").textContent.includes("live")`);
      await pageShows(p, `document.querySelectorAll("[data-call-sid]").length === 2`);
    } finally {
      await p.close();
    }
  }, 30_000);

  test("drop hangs the phone up and its row goes away without a reload", async () => {
    const from = partPhone.output.length;
    await page.locator(`[data-call-sid="${partSid}"] button[data-action="drop"]`).click();
    await partPhone.waitFor(/terminat|closed/i, 10_000, from);
    await eventually(async () => !(await calls()).some((c) => c.call_sid === partSid), 10_000, "call gone from /calls");
    await pageShows(page, `${row(partSid)} === null`);
    expect(await page.evaluate(`${row(hostSid)} !== null`)).toBe(true);
    expect(await page.evaluate("window.__sameDocument")).toBe(true);
    expect(await page.evaluate(`document.getElementById("error").hidden`)).toBe(true);
  }, 30_000);

  test("end hangs up the rest and the meeting goes away without a reload", async () => {
    const from = hostPhone.output.length;
    await page.locator(`[data-meeting-sid="${meetingSid}"] button[data-action="end"]`).click();
    await hostPhone.waitFor(/terminat|closed/i, 10_000, from);
    await eventually(async () => (await api<{ count: number }>("GET", "/meetings")).body.count === 0, 10_000, "no meetings");
    await pageShows(page, `document.querySelector("[data-meeting-sid]") === null`);
    expect(await page.evaluate(`document.getElementById("empty").hidden`)).toBe(false);
    expect(await page.evaluate("window.__sameDocument")).toBe(true);
    expect(await page.evaluate(`document.getElementById("error").hidden`)).toBe(true);
  }, 30_000);

  test("the page asked nothing of any other origin, and the browser logged no errors but the refused sign-in and stream", () => {
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((u) => new URL(u).origin !== origin)).toEqual([]);
    // The wrong password's 401 and the refused stream are logged by the browser; nothing else (no CSP violation, no 404).
    const unexpected = consoleErrors.filter(
      (e) => !/^401 .*\/conference\/v2\/accounts\/whoami$|status of 401|ERR_CONNECTION_REFUSED|net::ERR_FAILED/.test(e),
    );
    expect(unexpected).toEqual([]);
  });
});
