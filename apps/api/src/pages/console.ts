/**
 * `GET /console`: the host console, a page that signs in with the account's login and
 * password (kept in the page's memory only), lists the live meetings and their calls, and
 * mutes, holds, drops, locks and ends through the API. Everything it needs is served from
 * here (`/console/console.{js,css,svg}`); its CSP allows nothing else.
 * Not in the reference.
 */
import { readFileSync } from "node:fs";
import { Hono } from "hono";
import type { AppEnv } from "../lib/context.ts";

/** Where the page is. */
export const CONSOLE_PATH = "/console";

/**
 * The page's Content-Security-Policy: scripts, styles and requests to this origin only, no
 * inline code, no plugins, no framing, no form posts (the script signs in itself), no <base>.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers of every console response: no sniffing, no referrer, no framing. */
const COMMON = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
} as const;

const read = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), "utf8");

/** The page's files, read once when the module loads (a missing one fails at start, not per request). */
const FILES = {
  html: read("console.html"),
  js: read("console.js"),
  css: read("console.css"),
  svg: read("console.svg"),
};

/**
 * The console's routes, mounted at the root of the app (public: the page holds no secret;
 * its requests to /conference/v2 carry the account's credentials).
 * @example app.route("/", consoleRoutes());
 */
export function consoleRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(CONSOLE_PATH, (c) =>
    c.body(FILES.html, 200, {
      ...COMMON,
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": CONSOLE_CSP,
      "Cache-Control": "no-store",
    }),
  );
  app.get(`${CONSOLE_PATH}/console.js`, (c) =>
    c.body(FILES.js, 200, { ...COMMON, "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache" }),
  );
  app.get(`${CONSOLE_PATH}/console.css`, (c) =>
    c.body(FILES.css, 200, { ...COMMON, "Content-Type": "text/css; charset=utf-8", "Cache-Control": "no-cache" }),
  );
  app.get(`${CONSOLE_PATH}/console.svg`, (c) =>
    c.body(FILES.svg, 200, { ...COMMON, "Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=86400" }),
  );
  return app;
}
