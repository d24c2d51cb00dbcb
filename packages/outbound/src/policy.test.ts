import { describe, expect, test } from "bun:test";
import {
  checkHost,
  checkResolved,
  checkSipAddress,
  checkUrl,
  parseOutboundPolicy,
  STRICT_POLICY,
  sipAddressHost,
} from "./policy.ts";

function policy(input: Parameters<typeof parseOutboundPolicy>[0]) {
  const p = parseOutboundPolicy(input);
  if (!p.ok) throw new Error(p.error);
  return p.value;
}

describe("checkSipAddress (recording_addr)", () => {
  const own = policy({ ownHosts: ["198.51.100.4", "sip.conf.example", "0.0.0.0"] });
  const cases: { addr: string; error: string | null }[] = [
    { addr: "15162065121@8.8.4.4", error: null },
    { addr: "rec@recorder.example.com:5080", error: null },
    { addr: "sip:rec@[2606:4700::1111]:5060", error: null },
    { addr: "x@127.0.0.1:5099", error: "names a loopback address" },
    { addr: "x@127.1", error: "names a loopback address" },
    { addr: "x@2130706433", error: "names a loopback address" },
    { addr: "x@localhost:5060", error: "names a loopback address" },
    { addr: "x@a.localhost", error: "names a loopback address" },
    { addr: "15162065121@10.1.10.190", error: "names a private address" },
    { addr: "x@100.64.0.9", error: "names a shared (CGNAT) address" },
    { addr: "x@[fd00::5]", error: "names a private (unique local) address" },
    { addr: "x@169.254.169.254", error: "names a link-local address" },
    { addr: "x@0.0.0.0", error: "names an unspecified address" },
    { addr: "x@224.0.0.5", error: "names a multicast address" },
    { addr: "x@[::ffff:192.168.0.1]", error: "names a private address" },
    { addr: "x@198.51.100.4:5060", error: "names this service's own address" },
    { addr: "x@SIP.conf.example.", error: "names this service's own address" },
    { addr: "x@recorder", error: "names a host without a domain (a local name)" },
    { addr: "x@", error: "names no host" },
  ];
  for (const c of cases) {
    test(c.addr, () => {
      const r = checkSipAddress(c.addr, own);
      if (c.error === null) expect(r.ok).toBe(true);
      else expect(r).toEqual({ ok: false, error: c.error });
    });
  }
});

describe("policy switches", () => {
  test("OUTBOUND_ALLOW_PRIVATE lifts every class, own addresses included", () => {
    const p = policy({ allowPrivate: true, ownHosts: ["127.0.0.1"] });
    for (const h of ["127.0.0.1", "10.0.0.1", "fd00::1", "localhost"]) expect(checkHost(h, p).ok).toBe(true);
  });
  test("the allowlist takes hosts, addresses and CIDRs", () => {
    const p = policy({ allowlist: " 10.1.10.190 , 192.168.0.0/16, rec.lan.example, fd00::/8" });
    for (const h of ["10.1.10.190", "192.168.44.1", "rec.lan.example", "REC.lan.example.", "fd00::9"])
      expect(checkHost(h, p).ok).toBe(true);
    for (const h of ["10.1.10.191", "127.0.0.1", "fe80::1"]) expect(checkHost(h, p).ok).toBe(false);
  });
  test("a bad allowlist entry is named", () => {
    expect(parseOutboundPolicy({ allowlist: "10.0.0.0/33" })).toEqual({
      ok: false,
      error: '"10.0.0.0/33" is not a CIDR such as 10.0.0.0/8',
    });
    expect(parseOutboundPolicy({ allowlist: "a b" })).toEqual({
      ok: false,
      error: '"a b" is not a host name, an address or a CIDR',
    });
  });
});

describe("checkResolved (send time)", () => {
  test("a public name resolving to a private address is refused", () => {
    expect(checkResolved("rec.example.com", ["93.184.216.34"], STRICT_POLICY)).toEqual({ ok: true, value: true });
    expect(checkResolved("rec.example.com", ["93.184.216.34", "10.0.0.7"], STRICT_POLICY)).toEqual({
      ok: false,
      error: "rec.example.com resolves to a private address",
    });
    expect(checkResolved("rec.example.com", [], STRICT_POLICY).ok).toBe(false);
  });
  test("an allowlisted name may resolve anywhere", () => {
    expect(checkResolved("rec.lan.example", ["10.0.0.7"], policy({ allowlist: "rec.lan.example" })).ok).toBe(true);
  });
});

describe("checkUrl (webhooks)", () => {
  const cases: { url: string; error: string | null }[] = [
    { url: "https://hooks.example.com/x", error: null },
    { url: "http://169.254.169.254/latest/meta-data", error: "names a link-local address" },
    { url: "http://2130706433/", error: "names a loopback address" },
    { url: "http://0x7f.1:8080/", error: "names a loopback address" },
    { url: "http://[::1]/", error: "names a loopback address" },
    { url: "ftp://hooks.example.com/", error: "must be an http or https URL" },
    { url: "http://u:p@hooks.example.com/", error: "must not carry credentials" },
    { url: "not a url", error: "is not a URL" },
  ];
  for (const c of cases) {
    test(c.url, () => {
      const r = checkUrl(c.url, STRICT_POLICY);
      if (c.error === null) expect(r.ok).toBe(true);
      else expect(r).toEqual({ ok: false, error: c.error });
    });
  }
});

test("sipAddressHost", () => {
  expect(sipAddressHost("sip:rec@[::1]:5099")).toBe("::1");
  expect(sipAddressHost("15162065121@10.1.10.190")).toBe("10.1.10.190");
  expect(sipAddressHost("host.example:5060")).toBe("host.example");
  expect(sipAddressHost("a@b@c.example;transport=tcp")).toBe("c.example");
});
