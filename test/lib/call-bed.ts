/**
 * One running service for a whole end-to-end test file with baresip callers of its own
 * choosing (user names and codes fixed by the file). `callBed` registers the beforeAll that
 * starts the service and the afterAll that stops the callers and the service, so a file
 * only adds its rooms (in its own beforeAll, which runs after this one). For files that
 * want one room per test and tone checks by the moment, see meeting-harness.ts.
 */
import { afterAll, beforeAll } from "bun:test";
import { Baresip, type CallerOptions } from "./baresip.ts";
import { freeSipPort, type Provisioned, provision, type Service, startService } from "./service.ts";

/** Attributes that leave a meeting quiet: no greeting, tones, music or count announcements that would blur the spectra. */
export const QUIET_ATTRIBUTES = {
  conference_entrytones: "off",
  conference_exittones: "off",
  conference_moh_enabled: "off",
  call_announceparticipantcount: "",
  conference_greeting_enabled: "off",
} as const;

export interface CallBedOptions {
  /** The DID the callers dial. */
  number: string;
  /**
   * Where this file's ports start, and how many blocks of 40 to pick one from at random:
   * callers take RTP ports from the block's start (ten each), the service from 2000 above it.
   * Each file has its own range, so files run one after the other do not meet ports a
   * previous file's processes may still hold.
   */
  ports: { from: number; blocks: number };
  /** More environment for the service. */
  env?: Record<string, string>;
  /** PATCH the account with QUIET_ATTRIBUTES (files that set them per room leave this off). */
  quietAccount?: boolean;
}

export interface CallBed {
  readonly svc: Service;
  readonly acct: Provisioned;
  /** The SIP URI callers dial: the number at the service. */
  readonly uri: string;
  /**
   * A new caller sending a tone of `toneHz` (0: silence); stopped and cleaned up after all
   * tests. `more` picks its codecs and its tone's WAV format (default PCMU, 8000 Hz mono).
   */
  caller(toneHz: number, user: string, more?: Pick<CallerOptions, "codecs" | "sampleRate" | "channels">): Promise<Baresip>;
  /** Dials the number, waits until the call is established and keys `code` followed by `#`. */
  dialIn(c: Baresip, code: string): Promise<void>;
}

export function callBed(opts: CallBedOptions): CallBed {
  const callers: Baresip[] = [];
  let svc: Service | undefined;
  let acct: Provisioned | undefined;
  let rtpBase = 0;

  beforeAll(async () => {
    rtpBase = opts.ports.from + Math.floor(Math.random() * opts.ports.blocks) * 40;
    svc = await startService({ rtpPortMin: rtpBase + 2000, rtpPortMax: rtpBase + 2999, ...(opts.env ? { env: opts.env } : {}) });
    acct = await provision(svc, opts.number);
    if (opts.quietAccount) {
      await acct.account.req("PATCH", `/conference/v2/accounts/${acct.accountSid}`, { attributes: QUIET_ATTRIBUTES });
    }
  }, 60_000);

  afterAll(async () => {
    for (const c of callers) await c.stop();
    await svc?.stop();
    for (const c of callers) c.cleanup();
  }, 30_000);

  const bed: CallBed = {
    get svc(): Service {
      if (!svc) throw new Error("the service is not started (callBed's beforeAll has not run)");
      return svc;
    },
    get acct(): Provisioned {
      if (!acct) throw new Error("no account (callBed's beforeAll has not run)");
      return acct;
    },
    get uri(): string {
      return `sip:${opts.number}@127.0.0.1:${bed.svc.sipPort}`;
    },
    async caller(toneHz, user, more) {
      const c = new Baresip({ sipPort: await freeSipPort(), rtpPortBase: rtpBase, toneHz, user, ...more });
      rtpBase += 10;
      callers.push(c);
      return c;
    },
    async dialIn(c, code) {
      c.dial(bed.uri, 60);
      await c.waitFor(/Call established/, 10_000);
      c.sendDigits(`${code}#`);
    },
  };
  return bed;
}
