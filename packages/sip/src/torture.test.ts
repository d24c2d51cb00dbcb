import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isSipUri, parseMessage, type SipRequest, type SipResponse, uriUser } from "./message.ts";

const dir = join(import.meta.dir, "fixtures", "rfc4475");
const load = (name: string) => readFileSync(join(dir, `${name}.dat`));

function request(name: string): SipRequest {
  const r = parseMessage(load(name));
  if (!r.ok) throw new Error(`${name}: ${r.reason}`);
  if (r.value.kind !== "request") throw new Error(`${name}: not a request`);
  return r.value;
}
function response(name: string): SipResponse {
  const r = parseMessage(load(name));
  if (!r.ok) throw new Error(`${name}: ${r.reason}`);
  if (r.value.kind !== "response") throw new Error(`${name}: not a response`);
  return r.value;
}

/** RFC 4475 3.1.1 valid messages, 3.2, 3.3 and 3.4: all must parse. */
const VALID = [
  "wsinv",
  "intmeth",
  "esc01",
  "escnull",
  "esc02",
  "lwsdisp",
  "longreq",
  "dblreq",
  "semiuri",
  "transports",
  "mpart01",
  "unreason",
  "noreason",
  "badbranch",
  "unkscm",
  "novelsc",
  "unksm2",
  "bext01",
  "invut",
  "regaut01",
  "bcast",
  "zeromf",
  "cparam01",
  "cparam02",
  "regescrt",
  "sdp01",
  "inv2543",
];

/** RFC 4475 invalid messages with the reason our parser must give and the status to answer. */
const INVALID: { name: string; reason: string; status: 400 | 505; salvage: boolean }[] = [
  { name: "badinv01", reason: "Via: empty parameter", status: 400, salvage: true },
  { name: "clerr", reason: "body shorter than Content-Length", status: 400, salvage: true },
  { name: "ncl", reason: "bad Content-Length", status: 400, salvage: true },
  { name: "scalar02", reason: "CSeq number too large", status: 400, salvage: true },
  { name: "scalarlg", reason: "CSeq number too large", status: 400, salvage: true },
  { name: "quotbal", reason: "To: unterminated quoted display name", status: 400, salvage: true },
  { name: "ltgtruri", reason: "Request-URI: no URI scheme in '<sip:user@example.com>'", status: 400, salvage: true },
  { name: "lwsruri", reason: "request line must be 'Method SP Request-URI SP SIP-Version'", status: 400, salvage: true },
  { name: "lwsstart", reason: "request line must be 'Method SP Request-URI SP SIP-Version'", status: 400, salvage: true },
  { name: "trws", reason: "request line must be 'Method SP Request-URI SP SIP-Version'", status: 400, salvage: true },
  { name: "escruri", reason: "Request-URI must not contain headers", status: 400, salvage: true },
  { name: "baddate", reason: "bad Date (RFC 1123 form in GMT required)", status: 400, salvage: true },
  { name: "regbadct", reason: "Contact: URI with '?' or ',' must be enclosed in <>", status: 400, salvage: true },
  { name: "badaspec", reason: "To: whitespace inside <>", status: 400, salvage: true },
  { name: "baddn", reason: "From: bad display name 'Bell, Alexander'", status: 400, salvage: true },
  { name: "badvers", reason: "unsupported SIP version 7.0", status: 505, salvage: true },
  { name: "mismatch01", reason: "CSeq method does not match the request method", status: 400, salvage: true },
  { name: "mismatch02", reason: "CSeq method does not match the request method", status: 400, salvage: true },
  { name: "bigcode", reason: "bad status code '4294967301'", status: 400, salvage: false },
  { name: "insuf", reason: "missing or bad Call-ID", status: 400, salvage: true },
  { name: "multi01", reason: "more than one Call-ID header", status: 400, salvage: true },
  { name: "mcl01", reason: "more than one Content-Length header", status: 400, salvage: true },
];

describe("RFC 4475 torture messages", () => {
  test("every fixture is classified", () => {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith(".dat"))
      .map((f) => f.slice(0, -4))
      .sort();
    expect(files.length).toBe(49);
    expect([...VALID, ...INVALID.map((i) => i.name)].sort()).toEqual(files);
  });

  for (const name of VALID) {
    test(`${name} parses`, () => {
      const r = parseMessage(load(name));
      expect(r.ok ? "ok" : r.reason).toBe("ok");
    });
  }

  for (const c of INVALID) {
    test(`${c.name} is rejected: ${c.reason}`, () => {
      const r = parseMessage(load(c.name));
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.reason).toBe(c.reason);
      expect(r.status).toBe(c.status);
      expect(r.salvage !== null).toBe(c.salvage);
    });
  }

  test("wsinv: folding, compact forms, comma-separated Via, escapes in quoted strings", () => {
    const m = request("wsinv");
    expect(m.method).toBe("INVITE");
    expect(m.uri).toBe("sip:vivekg@chair-dnrc.example.com;unknownparam");
    expect(m.to.tag).toBe("1918181833n");
    expect(m.from.displayName).toBe('J Rosenberg \\"');
    expect(m.from.tag).toBe("98asjd8");
    expect(m.maxForwards).toBe(68);
    expect(m.cseq).toEqual({ seq: 9, method: "INVITE" });
    expect(m.via.map((v) => [v.transport, v.host, v.branch])).toEqual([
      ["UDP", "192.0.2.2", "390skdjuw"],
      ["TCP", "spindle.example.com", "z9hG4bK9ikj8"],
      ["UDP", "192.168.255.111", "z9hG4bK30239"],
    ]);
    expect(m.headers.get("NewFangledHeader")).toBe("newfangled value continued newfangled value");
    expect(m.headers.get("subject")).toBe("");
    const contact = m.contacts[0];
    if (contact === undefined || contact === "*") throw new Error("no contact");
    expect(contact.displayName).toBe('Quoted string ""');
    expect(contact.params.get("newparam")).toBe("newvalue");
    expect(contact.params.get("secondparam")).toBeNull();
    expect(contact.params.get("q")).toBe("0.33");
    expect(m.route.length).toBe(1);
    expect(m.contentType).toBe("application/sdp");
    expect(m.body.length).toBe(150);
  });

  test("intmeth: unusual but legal characters everywhere", () => {
    const m = request("intmeth");
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    if (!isSipUri(m.requestUri)) throw new Error("not sip");
    expect(m.requestUri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(m.requestUri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(m.to.displayName).toBe("BEL:\x07 NUL:\x00 DEL:\x7f");
    expect(m.from.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(m.from.tag).toBe("_token~1'+`*%!-.");
    expect(m.callId).toBe("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    expect(m.maxForwards).toBe(255);
  });

  test("esc01 / escnull: escapes are kept raw and decoded on request", () => {
    const m = request("esc01");
    expect(uriUser(m.requestUri)).toBe("sips:user@example.com");
    expect(uriUser(m.to.uri)).toBe("user");
    expect(request("escnull").contacts.length).toBe(2);
  });

  test("dblreq: bytes after Content-Length are discarded", () => {
    const m = request("dblreq");
    expect(m.method).toBe("REGISTER");
    expect(m.body.length).toBe(0);
    expect(m.callId).toBe("dblreq.0ha0isndaksdj99sdfafnl3lk233412");
  });

  test("semiuri: ';' in the user part", () => {
    const m = request("semiuri");
    if (!isSipUri(m.requestUri)) throw new Error("not sip");
    expect(m.requestUri.user).toBe("user;par=u%40example.net");
    expect(m.requestUri.host).toBe("example.com");
    expect(m.headers.getAll("accept").length).toBe(6);
  });

  test("transports: five Via header lines", () => {
    expect(request("transports").via.map((v) => v.transport)).toEqual(["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
  });

  test("longreq: long values and many Via", () => {
    const m = request("longreq");
    expect(m.via.length).toBe(34);
    if (!isSipUri(m.to.uri)) throw new Error("not sip");
    expect(m.to.uri.port).toBe(6000);
  });

  test("unreason / noreason: UTF-8 and empty reason phrases", () => {
    expect(response("unreason").reason.startsWith("= 2**3 * 5**2 но")).toBe(true);
    expect(response("noreason").reason).toBe("");
    expect(response("noreason").status).toBe(100);
  });

  test("inv2543: RFC 2543 request without branch, Max-Forwards or Content-Length", () => {
    const m = request("inv2543");
    expect(m.via[0]?.branch).toBeNull();
    expect(m.maxForwards).toBeNull();
    expect(m.from.tag).toBeNull();
    expect(m.body.length).toBe(105);
  });

  test("unkscm / novelsc / unksm2: other URI schemes stay opaque", () => {
    expect(request("unkscm").requestUri.scheme).toBe("nobodyknowsthisscheme");
    expect(request("novelsc").requestUri.scheme).toBe("soap.beep");
    const m = request("unksm2");
    expect(m.to.uri.scheme).toBe("isbn");
    expect(m.from.uri.scheme).toBe("http");
  });

  test("mpart01: binary multipart body kept byte for byte", () => {
    const m = request("mpart01");
    expect(m.contentType).toBe("multipart/mixed");
    expect(m.body.length).toBe(553);
    expect(m.via[0]?.rport).toBe(true);
  });
});
