import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseMessage } from "./message.ts";
import { RawPeer, sleep } from "./test-peer.ts";
import { SipUa } from "./ua.ts";

/**
 * The RFC 4475 messages sent to a live UAS (no onInvite handler, so INVITEs that
 * pass every check get 480): the final status each must get, or null for silence.
 * forceRport sends the answers back to our socket whatever the Via says. Each
 * message gets a fresh UA: some fixtures share branch and sent-by (unkscm/novelsc,
 * cparam01/cparam02), which makes them one transaction by RFC 3261 17.2.3.
 */
const EXPECTED: Record<string, number | null> = {
  // 3.1.1 valid (wsinv's To has a tag: a re-INVITE for a dialog we do not have)
  wsinv: 481,
  intmeth: 501,
  esc01: 480,
  escnull: 405,
  esc02: 501,
  lwsdisp: 200,
  longreq: 480,
  dblreq: 405,
  semiuri: 200,
  transports: 200,
  mpart01: 405,
  unreason: null,
  noreason: null,
  // 3.1.2 invalid
  badinv01: 400,
  clerr: 400,
  ncl: 400,
  scalar02: 400,
  scalarlg: null,
  quotbal: 400,
  ltgtruri: 400,
  lwsruri: 400,
  lwsstart: 400,
  trws: 400,
  escruri: 400,
  baddate: 400,
  regbadct: 400,
  badaspec: 400,
  baddn: 400,
  badvers: 505,
  mismatch01: 400,
  mismatch02: 400,
  bigcode: null,
  // 3.2 transaction layer
  badbranch: 200,
  // 3.3 application layer
  insuf: 400,
  unkscm: 416,
  novelsc: 416,
  unksm2: 405,
  bext01: 420,
  invut: 415,
  regaut01: 405,
  multi01: 400,
  mcl01: 400,
  bcast: null,
  zeromf: 200,
  cparam01: 405,
  cparam02: 405,
  regescrt: 405,
  sdp01: 406,
  // 3.4 backward compatibility
  inv2543: 480,
};

const dir = join(import.meta.dir, "fixtures", "rfc4475");
let ua: SipUa;
let peer: RawPeer;
const errors: unknown[] = [];

beforeAll(async () => {
  peer = await RawPeer.open();
});
beforeEach(async () => {
  ua = await SipUa.listen({
    host: "127.0.0.1",
    port: 0,
    forceRport: true,
    timers: { t1: 20 },
    handlers: { onError: (e) => void errors.push(e) },
  });
});
afterEach(() => ua.close());
afterAll(() => peer.close());

/** Text that identifies the answers to one fixture: its Call-ID, else its branch. */
function marker(text: string): string {
  const callId = /^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)/im.exec(text)?.[1];
  if (callId) return `Call-ID: ${callId}\r\n`;
  return `branch=${/branch\s*=\s*([^;\s,]+)/.exec(text)?.[1]}`;
}

/** Every datagram the peer got, parseable or not (our 400 to scalar02 echoes its 2**65 CSeq). */
function allReceived(): string[] {
  return [...peer.received.map((r) => r.raw), ...peer.garbage];
}

describe("RFC 4475 messages against the live UAS", () => {
  test("covers all 49 messages", () => expect(Object.keys(EXPECTED).length).toBe(49));

  for (const [name, status] of Object.entries(EXPECTED)) {
    test(`${name} -> ${status ?? "no answer"}`, async () => {
      const bytes = readFileSync(join(dir, `${name}.dat`));
      const mark = marker(bytes.toString("latin1"));
      const finals = () =>
        allReceived().filter((raw) => raw.includes(mark) && raw.startsWith("SIP/2.0 ") && !raw.startsWith("SIP/2.0 100 "));
      peer.send(bytes, ua.address.port);
      if (status === null) {
        await sleep(60);
        expect(allReceived().filter((raw) => raw.includes(mark))).toEqual([]);
        return;
      }
      const end = performance.now() + 2000;
      while (finals().length === 0 && performance.now() < end) await sleep(5);
      const first = finals()[0] ?? "";
      expect(first.slice(8, 11)).toBe(String(status));
      const sent = parseMessage(bytes);
      if (sent.ok) {
        const res = parseMessage(first);
        expect(res.ok && res.value.via[0]?.branch).toBe(sent.value.via[0]?.branch ?? null);
      }
    });
  }

  test("the stack is still alive and no handler error was raised", async () => {
    peer.send(
      [
        "OPTIONS sip:x@127.0.0.1 SIP/2.0",
        `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKalive;rport`,
        "From: <sip:a@127.0.0.1>;tag=1",
        "To: <sip:x@127.0.0.1>",
        "Call-ID: alive",
        "CSeq: 1 OPTIONS",
        "",
        "",
      ].join("\r\n"),
      ua.address.port,
    );
    await peer.waitResponse(200, "OPTIONS", "alive");
    expect(errors).toEqual([]);
  });
});
