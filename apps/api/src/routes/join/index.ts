/**
 * GET /join: a page that joins a meeting from the browser (not in the reference). It is
 * self-contained (its script is served from here, nothing from a CDN, no fonts), so it
 * works offline. The browser dials the number over SIP over WebSocket on the mixer and
 * sends its audio over WebRTC: the same admission as a phone (code prompt, tries, guess
 * limits, roles, lock). Public, like /docs: what it gives is a form; the code is checked
 * by the mixer's IVR.
 */
import { readFileSync } from "node:fs";
import { Hono } from "hono";

export interface JoinPageOptions {
  /** SIP_WS_PORT of the mixer; null: browser calls are off. */
  wsPort: number | null;
  /** SIP_WS_URL: where the page connects instead of ws://<page host>:<wsPort>. */
  wsUrl?: string;
}

export const JOIN_SCRIPT_PATH = "/join/join.js";
const SCRIPT = readFileSync(new URL("./join-client.js", import.meta.url), "utf8");
/** Longest number the form is prefilled with from ?number=. */
const MAX_NUMBER_LENGTH = 32;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

function page(number: string, ws: string): string {
  const keys = KEYS.map((k) => `<button type="button" data-key="${escapeHtml(k)}">${escapeHtml(k)}</button>`).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Join a meeting</title>
<style>
body { font: 16px/1.4 system-ui, sans-serif; max-width: 28rem; margin: 2rem auto; padding: 0 1rem; }
label { display: block; margin: 0.75rem 0 0.25rem; }
input { font: inherit; width: 100%; padding: 0.4rem; box-sizing: border-box; }
button { font: inherit; padding: 0.4rem 1rem; margin-top: 0.75rem; }
#keypad { display: grid; grid-template-columns: repeat(3, 4rem); gap: 0.4rem; margin-top: 1rem; }
#keypad button { margin: 0; }
#status { margin-top: 1rem; min-height: 1.4em; }
</style>
</head>
<body>
<h1>Join a meeting</h1>
<form id="join" data-ws="${escapeHtml(ws)}">
<label for="number">Number to dial</label>
<input id="number" name="number" inputmode="tel" autocomplete="off" required value="${escapeHtml(number)}">
<label for="access_code">Access code</label>
<input id="access_code" name="access_code" inputmode="numeric" autocomplete="off">
<button type="submit">Join</button>
<button type="button" id="hangup" hidden>Hang up</button>
</form>
<div id="status" role="status"></div>
<div id="keypad" hidden>${keys}</div>
<audio id="remote" autoplay></audio>
<script src="${JOIN_SCRIPT_PATH}"></script>
</body>
</html>
`;
}

/** The page's route and its script's. */
export function joinRoutes(opts: JoinPageOptions): Hono {
  const app = new Hono();
  app.get("/join", (c) => {
    const number = (c.req.query("number") ?? "").replace(/[^0-9+\-() .]/g, "").slice(0, MAX_NUMBER_LENGTH);
    let ws = opts.wsUrl ?? "";
    if (!ws && opts.wsPort !== null && opts.wsPort > 0) {
      const host = new URL(c.req.url).hostname;
      ws = `ws://${host.includes(":") ? `[${host}]` : host}:${opts.wsPort}/`;
    }
    return c.html(page(number, ws), 200, {
      // Only this server's script, and WebSockets to wherever SIP_WS_URL points.
      "Content-Security-Policy":
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:; base-uri 'none'; form-action 'none'",
      "Cache-Control": "no-store",
    });
  });
  app.get(JOIN_SCRIPT_PATH, (c) =>
    c.body(SCRIPT, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=300" }),
  );
  return app;
}
