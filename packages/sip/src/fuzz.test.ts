import { describe, expect, test } from "bun:test";
import { RawPeer } from "./test-peer.ts";
import { SipUa } from "./ua.ts";
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseMessage, parseNameAddr, parseUri, parseVia, salvageResponseHeaders, serializeMessage } from "./message.ts";

const dir = join(import.meta.dir, "fixtures", "rfc4475");
const seeds = readdirSync(dir)
  .filter((f) => f.endsWith(".dat"))
  .map((f) => new Uint8Array(readFileSync(join(dir, f))));

/** Parses and, on failure, exercises the salvage path too; must never throw. */
function parseAll(bytes: Uint8Array): void {
  const r = parseMessage(bytes);
  if (!r.ok) {
    // parseMessage catches its own exceptions as a last resort; the fuzzer must see none.
    if (r.reason.startsWith("internal parser error")) throw new Error(r.reason);
    if (r.salvage) salvageResponseHeaders(r.salvage);
    return;
  }
  // What parses must serialize and parse again to the same core fields.
  const again = parseMessage(serializeMessage(r.value));
  if (!again.ok) throw new Error(`re-parse failed: ${again.reason}`);
  if (again.value.callId !== r.value.callId || again.value.cseq.seq !== r.value.cseq.seq) {
    throw new Error("round trip changed the message");
  }
}

/** Byte-level mutations of a real message: flips, deletions, insertions, truncation. */
const mutated = fc
  .record({
    seed: fc.integer({ min: 0, max: seeds.length - 1 }),
    edits: fc.array(
      fc.record({
        at: fc.nat(),
        kind: fc.constantFrom("flip", "delete", "insert", "truncate", "dup"),
        byte: fc.constantFrom(0x00, 0x0a, 0x0d, 0x20, 0x22, 0x2c, 0x3a, 0x3b, 0x3c, 0x3e, 0x40, 0x5c, 0xff, 0x25),
        len: fc.integer({ min: 1, max: 40 }),
      }),
      { minLength: 1, maxLength: 8 },
    ),
  })
  .map(({ seed, edits }) => {
    let b = Array.from(seeds[seed] as Uint8Array);
    for (const e of edits) {
      const at = b.length === 0 ? 0 : e.at % b.length;
      if (e.kind === "flip") b[at] = e.byte;
      else if (e.kind === "delete") b.splice(at, e.len);
      else if (e.kind === "insert") b.splice(at, 0, e.byte);
      else if (e.kind === "truncate") b = b.slice(0, at);
      else b.splice(at, 0, ...b.slice(at, at + e.len));
    }
    return new Uint8Array(b);
  });

/** Line-level recombination of header lines from different messages. */
const spliced = fc
  .array(fc.integer({ min: 0, max: seeds.length - 1 }), { minLength: 1, maxLength: 4 })
  .chain((idx) =>
    fc.shuffledSubarray(
      idx.flatMap((i) => new TextDecoder().decode(seeds[i]).split("\r\n")),
      { minLength: 1 },
    ),
  )
  .map((lines) => `${lines.join("\r\n")}\r\n\r\n`);

describe("parser fuzz", () => {
  test("random bytes never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => parseAll(b)),
      { numRuns: 2000 },
    );
  });
  test("random strings never throw", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), (s) => parseAll(new TextEncoder().encode(s))),
      {
        numRuns: 2000,
      },
    );
  });
  test("mutated torture messages never throw", () => {
    fc.assert(
      fc.property(mutated, (b) => parseAll(b)),
      { numRuns: 4000 },
    );
  });
  test("recombined header lines never throw", () => {
    fc.assert(
      fc.property(spliced, (s) => parseAll(new TextEncoder().encode(s))),
      { numRuns: 1500 },
    );
  });
  test("header sub-parsers never throw on any string", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        parseUri(s);
        parseNameAddr(s);
        parseVia(s);
        expect(true).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("UA fuzz", () => {
  test("mutated and recombined datagrams never make the UA core throw or stop answering", async () => {
    const sink = await RawPeer.open();
    const errors: unknown[] = [];
    const ua = await SipUa.listen({
      host: "127.0.0.1",
      port: 0,
      forceRport: true,
      timers: { t1: 5 },
      answerTimeoutMs: 50,
      handlers: {
        onError: (e) => void errors.push(e),
        onInvite: (c) => {
          if (c.callId.length % 2 === 0) c.accept("v=0\r\n");
          else c.ringing();
        },
        onReinvite: () => ({ status: 488 }),
      },
    });
    try {
      const src = { address: "127.0.0.1", port: sink.port };
      fc.assert(
        fc.property(
          fc.oneof(
            mutated,
            spliced.map((t) => new TextEncoder().encode(t)),
          ),
          (b) => {
            ua.receive(b, src);
          },
        ),
        { numRuns: 1500 },
      );
      expect(errors).toEqual([]);
      // The burst of answers may have overrun the sink's buffer: ask like a UAC would, retransmitting.
      await Bun.sleep(100);
      let alive = false;
      for (let i = 0; i < 5 && !alive; i++) {
        ua.receive(
          new TextEncoder().encode(
            `OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${sink.port};branch=z9hG4bKfuzzok${i}\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:x@h>\r\nCall-ID: fuzz-alive\r\nCSeq: 1 OPTIONS\r\n\r\n`,
          ),
          src,
        );
        alive = await sink.waitResponse(200, "OPTIONS", "fuzz-alive", 300).then(
          () => true,
          () => false,
        );
      }
      expect(alive).toBe(true);
    } finally {
      ua.close();
      sink.close();
    }
  });
});
