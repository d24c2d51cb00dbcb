import { describe, expect, test } from "bun:test";
import {
  bodyText,
  canonicalHeaderName,
  formatVia,
  isSipUri,
  normalizeHeaderName,
  parseCSeq,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  salvageResponseHeaders,
  serializeMessage,
  serializeRequest,
  serializeResponse,
  splitList,
  uriUser,
} from "./message.ts";

const CRLF = "\r\n";
const msg = (...lines: string[]) => lines.join(CRLF);

const BASIC = msg(
  "INVITE sip:15162065919@127.0.0.1:5060 SIP/2.0",
  "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKabc;rport",
  "Max-Forwards: 70",
  'From: "Alice A" <sip:+15551230000@10.0.0.1>;tag=a1',
  "To: <sip:15162065919@127.0.0.1>",
  "Call-ID: c1@10.0.0.1",
  "CSeq: 1 INVITE",
  "Contact: <sip:alice@10.0.0.1:5062>",
  "Content-Type: application/sdp",
  "Content-Length: 4",
  "",
  "v=0\r\nEXTRA",
);

describe("parseUri", () => {
  const cases: { input: string; expected: Record<string, unknown> | string }[] = [
    {
      input: "sip:15162065919@example.com:5070;transport=udp;lr",
      expected: { scheme: "sip", user: "15162065919", host: "example.com", port: 5070 },
    },
    { input: "sips:Alice@EXAMPLE.com", expected: { scheme: "sips", user: "Alice", host: "example.com", port: null } },
    { input: "sip:127.0.0.1", expected: { scheme: "sip", user: null, host: "127.0.0.1", port: null } },
    { input: "sip:[2001:db8::1]:5060", expected: { scheme: "sip", host: "[2001:db8::1]", port: 5060 } },
    { input: "sip:alice:secret@host", expected: { user: "alice", password: "secret", host: "host" } },
    { input: "sip:host?subject=x&priority=urgent", expected: { host: "host", headers: "subject=x&priority=urgent" } },
    { input: "tel:+15551234567;phone-context=x", expected: { scheme: "tel", number: "+15551234567" } },
    { input: "urn:service:sos", expected: { scheme: "urn", opaque: "service:sos" } },
    { input: "<sip:a@b>", expected: "no URI scheme in '<sip:a@b>'" },
    { input: "sip:a@b c", expected: "illegal character in URI 'sip:a@b c'" },
    { input: "sip:a@host:99999", expected: "port out of range in 'host:99999'" },
    { input: "sip:a@ho_st", expected: "bad host 'ho_st'" },
    { input: "sip:a@host;;x", expected: "empty URI parameter" },
    { input: "sip:a b@host", expected: "illegal character in URI 'sip:a b@host'" },
    { input: "sip:a%zz@host", expected: "bad user part in 'sip:a%zz@host'" },
    { input: "sip:", expected: "bad host ''" },
  ];
  for (const c of cases) {
    test(c.input, () => {
      const r = parseUri(c.input);
      if (typeof c.expected === "string") {
        expect(r.ok ? "ok" : r.reason).toBe(c.expected);
      } else {
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.value).toMatchObject(c.expected);
      }
    });
  }
  test("params are lower-cased names with raw values", () => {
    const r = parseUri("sip:a@h;Transport=UDP;lr;maddr=239.1.1.1");
    if (!r.ok || !isSipUri(r.value)) throw new Error("parse");
    expect([...r.value.params]).toEqual([
      ["transport", "UDP"],
      ["lr", null],
      ["maddr", "239.1.1.1"],
    ]);
  });
  test("uriUser decodes escapes and reads tel numbers", () => {
    const a = parseUri("sip:%2B1555@h");
    const b = parseUri("tel:+1555;x=y");
    if (!a.ok || !b.ok) throw new Error("parse");
    expect(uriUser(a.value)).toBe("+1555");
    expect(uriUser(b.value)).toBe("+1555");
  });
});

describe("parseNameAddr", () => {
  const cases: { input: string; display?: string | null; uri?: string; tag?: string | null; error?: string }[] = [
    { input: '"Alice" <sip:alice@example.com>;tag=123', display: "Alice", uri: "sip:alice@example.com", tag: "123" },
    { input: "<sip:bob@example.com>", display: null, uri: "sip:bob@example.com", tag: null },
    { input: "sip:bob@example.com;tag=9", display: null, uri: "sip:bob@example.com", tag: "9" },
    { input: "Bob Smith <sip:bob@h>", display: "Bob Smith", uri: "sip:bob@h" },
    { input: '"Q \\"x\\" \\\\" <sip:q@h>', display: 'Q "x" \\', uri: "sip:q@h" },
    { input: "  <sip:x@h> ;  tag = abc ", uri: "sip:x@h", tag: "abc" },
    { input: '<sip:x@h>;p="a;b,c"', uri: "sip:x@h" },
    { input: "<sip:x@h;lr>;expires=60", uri: "sip:x@h;lr" },
    { input: '"unterminated <sip:x@h>', error: "unterminated quoted display name" },
    { input: "< sip:x@h>", error: "whitespace inside <>" },
    { input: "<sip:x@h", error: "missing '>'" },
    { input: "sip:x@h?subject=1", error: "URI with '?' or ',' must be enclosed in <>" },
    { input: "<sip:x@h>;;tag=1", error: "empty parameter" },
    { input: "<sip:x@h>;tag=", error: "empty value for parameter 'tag'" },
    { input: "<sip:x@h> garbage", error: "unexpected character 'g'" },
    { input: "Bad,Name <sip:x@h>", error: "bad display name 'Bad,Name'" },
  ];
  for (const c of cases) {
    test(c.input, () => {
      const r = parseNameAddr(c.input);
      if (c.error !== undefined) {
        expect(r.ok ? "ok" : r.reason).toBe(c.error);
        return;
      }
      if (!r.ok) throw new Error(r.reason);
      if (c.display !== undefined) expect(r.value.displayName).toBe(c.display);
      if (c.uri !== undefined) expect(r.value.uri.raw).toBe(c.uri);
      if (c.tag !== undefined) expect(r.value.tag).toBe(c.tag);
    });
  }
});

describe("parseVia", () => {
  test("all parts", () => {
    const r = parseVia("SIP / 2.0 / udp 10.0.0.1:5062 ;branch=z9hG4bKx ;received=1.2.3.4;rport=7000;ttl=1");
    if (!r.ok) throw new Error(r.reason);
    expect(r.value).toMatchObject({
      protocol: "SIP/2.0",
      transport: "UDP",
      host: "10.0.0.1",
      port: 5062,
      branch: "z9hG4bKx",
      received: "1.2.3.4",
      rport: 7000,
    });
    expect(formatVia(r.value)).toBe("SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKx;received=1.2.3.4;rport=7000;ttl=1");
  });
  test("rport without value, IPv6 sent-by", () => {
    const r = parseVia("SIP/2.0/UDP [2001:db8::9]:5060;rport;branch=z9hG4bKy");
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.rport).toBe(true);
    expect(r.value.host).toBe("[2001:db8::9]");
    expect(r.value.port).toBe(5060);
  });
  for (const bad of ["SIP/2.0 host", "SIP/2.0/UDP", "SIP/2.0/UDPhost", "SIP/2.0/UDP host;rport=x", "SIP/2.0/UDP host;;"]) {
    test(`rejects ${bad}`, () => expect(parseVia(bad).ok).toBe(false));
  }
});

describe("parseCSeq", () => {
  const cases: [string, { seq: number; method: string } | null][] = [
    ["1 INVITE", { seq: 1, method: "INVITE" }],
    ["0009  INVITE", { seq: 9, method: "INVITE" }],
    ["4294967295 BYE", { seq: 4294967295, method: "BYE" }],
    ["4294967296 BYE", null],
    ["-1 BYE", null],
    ["1", null],
    ["x INVITE", null],
  ];
  for (const [input, expected] of cases) {
    test(input, () => {
      const r = parseCSeq(input);
      expect(r.ok ? r.value : null).toEqual(expected);
    });
  }
});

describe("headers", () => {
  test("compact forms and case-insensitive names", () => {
    expect(normalizeHeaderName("V")).toBe("via");
    expect(normalizeHeaderName("i")).toBe("call-id");
    expect(normalizeHeaderName("CONTENT-length")).toBe("content-length");
    expect(canonicalHeaderName("call-id")).toBe("Call-ID");
    expect(canonicalHeaderName("l")).toBe("Content-Length");
    expect(canonicalHeaderName("record-route")).toBe("Record-Route");
    const m = parseMessage(
      msg(
        "OPTIONS sip:x@h SIP/2.0",
        "v: SIP/2.0/UDP a;branch=z9hG4bK1",
        "VIA: SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c;branch=z9hG4bK3",
        "f: <sip:a@h>;tag=1",
        "t: sip:b@h",
        "i: abc",
        "cseq: 2 OPTIONS",
        "k: timer, 100rel",
        "l: 0",
        "",
        "",
      ),
    );
    if (!m.ok) throw new Error(m.reason);
    expect(m.value.via.map((v) => v.host)).toEqual(["a", "b", "c"]);
    expect(m.value.headers.getAll("Supported")).toEqual(["timer", "100rel"]);
    expect(m.value.callId).toBe("abc");
  });
  test("splitList keeps commas in quotes and brackets", () => {
    expect(splitList('"a, b" <sip:x@h;p=1,2>, <sip:y@h>')).toEqual(['"a, b" <sip:x@h;p=1,2>', "<sip:y@h>"]);
  });
});

describe("parseMessage", () => {
  test("request with body by Content-Length; extra bytes discarded", () => {
    const r = parseMessage(BASIC);
    if (!r.ok || r.value.kind !== "request") throw new Error(r.ok ? "kind" : r.reason);
    const m = r.value;
    expect(m.method).toBe("INVITE");
    expect(uriUser(m.requestUri)).toBe("15162065919");
    expect(m.from.displayName).toBe("Alice A");
    expect(m.from.tag).toBe("a1");
    expect(m.to.tag).toBeNull();
    expect(m.via[0]?.rport).toBe(true);
    expect(bodyText(m)).toBe("v=0\r");
    expect(m.headers.get("content-type")).toBe("application/sdp");
  });
  test("header folding with tabs and bare LF line ends", () => {
    const r = parseMessage(
      "OPTIONS sip:x@h SIP/2.0\nVia: SIP/2.0/UDP a\n\t;branch=z9hG4bK1\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>\nCall-ID: x\nCSeq: 1\n  OPTIONS\n\n",
    );
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.via[0]?.branch).toBe("z9hG4bK1");
    expect(r.value.cseq.seq).toBe(1);
  });
  test("response with empty reason phrase", () => {
    const r = parseMessage(
      msg(
        "SIP/2.0 180",
        "Via: SIP/2.0/UDP a;branch=z9hG4bK1",
        "From: <sip:a@h>;tag=1",
        "To: <sip:b@h>;tag=2",
        "Call-ID: x",
        "CSeq: 1 INVITE",
        "",
        "",
      ),
    );
    if (!r.ok || r.value.kind !== "response") throw new Error("parse");
    expect(r.value.status).toBe(180);
    expect(r.value.reason).toBe("");
  });
  const bad: [string, string, string][] = [
    ["empty", "", "empty datagram"],
    ["only CRLF (keep-alive)", "\r\n\r\n", "empty datagram"],
    ["no blank line", "OPTIONS sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP a\r\n", "no empty line after the header section"],
    [
      "header without colon",
      msg("OPTIONS sip:x@h SIP/2.0", "Via SIP/2.0/UDP a", "", ""),
      "header line without name and colon: 'Via SIP/2.0/UDP a'",
    ],
    ["missing Via", msg("OPTIONS sip:x@h SIP/2.0", "CSeq: 1 OPTIONS", "", ""), "missing Via"],
    ["too short body", BASIC.replace("Content-Length: 4", "Content-Length: 40"), "body shorter than Content-Length"],
    ["status 99", msg("SIP/2.0 099 x", "", ""), "status code out of range: 99"],
    ["Max-Forwards 256", BASIC.replace("Max-Forwards: 70", "Max-Forwards: 256"), "bad Max-Forwards"],
    ["bad Content-Type", BASIC.replace("application/sdp", "sdp"), "bad Content-Type"],
  ];
  for (const [name, input, reason] of bad) {
    test(`rejects ${name}`, () => {
      const r = parseMessage(input);
      expect(r.ok ? "ok" : r.reason).toBe(reason);
    });
  }
  test("keep-alive is flagged", () => {
    const r = parseMessage("\r\n\r\n");
    expect(!r.ok && r.keepalive === true).toBe(true);
  });
  test("salvage gives the headers to answer a broken request", () => {
    const r = parseMessage(BASIC.replace("CSeq: 1 INVITE", "CSeq: 1 BYE"));
    if (r.ok || !r.salvage) throw new Error("expected salvage");
    const s = salvageResponseHeaders(r.salvage);
    expect(s?.cseq).toBe("1 BYE");
    expect(s?.topVia.branch).toBe("z9hG4bKabc");
    expect(s?.callId).toBe("c1@10.0.0.1");
  });
  test("salvage without a readable CSeq is null", () => {
    const r = parseMessage(BASIC.replace("CSeq: 1 INVITE", "CSeq: one INVITE"));
    if (r.ok || !r.salvage) throw new Error("expected salvage");
    expect(salvageResponseHeaders(r.salvage)).toBeNull();
  });
});

describe("serialize", () => {
  test("request round trip", () => {
    const bytes = serializeRequest(
      "BYE",
      "sip:a@127.0.0.1:5062",
      [
        ["via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1"],
        ["From", "<sip:b@h>;tag=x"],
        ["t", "<sip:a@h>;tag=y"],
        ["call-id", "c"],
        ["cseq", "2 BYE"],
        ["Content-Length", "999"],
      ],
      "hello",
    );
    const text = new TextDecoder().decode(bytes);
    expect(text).toContain("\r\nVia: SIP/2.0/UDP");
    expect(text).toContain("\r\nCall-ID: c\r\n");
    expect(text).toContain("\r\nTo: <sip:a@h>;tag=y\r\n");
    expect(text.endsWith("Content-Length: 5\r\n\r\nhello")).toBe(true);
    const r = parseMessage(bytes);
    if (!r.ok || r.value.kind !== "request") throw new Error("parse");
    expect(r.value.method).toBe("BYE");
    expect(bodyText(r.value)).toBe("hello");
    const again = parseMessage(serializeMessage(r.value));
    expect(again.ok && again.value.kind === "request" && again.value.cseq.seq === 2).toBe(true);
  });
  test("response start line", () => {
    const text = new TextDecoder().decode(serializeResponse(486, "Busy Here", []));
    expect(text).toBe("SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n");
  });
});
