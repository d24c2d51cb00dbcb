/**
 * Debian's chromium driven over the DevTools protocol (puppeteer-core, through a pipe: no
 * debugging port), with the same flags as the other browser tests and a fresh profile.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser } from "puppeteer-core";
import { CHROMIUM_FLAGS } from "./netns.ts";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export interface TestBrowser {
  readonly browser: Browser;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Starts a headless chromium with only our flags (none of puppeteer's defaults) and an empty profile. */
export async function launchChromium(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "conf-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    pipe: true,
    ignoreDefaultArgs: true,
    args: [...CHROMIUM_FLAGS.split(" "), `--user-data-dir=${profile}`, "about:blank"],
    timeout: 30_000,
  });
  return {
    browser,
    async close() {
      try {
        await browser.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
