import { describe, expect, test } from "bun:test";
import { SipMessageCounts } from "./message-counts.ts";
import { SipUa } from "./ua.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("SipMessageCounts", () => {
  const cases: { name: string; sent: string; key: string; kind: "requests" | "responses" }[] = [
    { name: "request by method", sent: "INVITE sip:a@b SIP/2.0\r\n", key: "INVITE", kind: "requests" },
    { name: "unknown method is other", sent: "FROB sip:a@b SIP/2.0\r\n", key: "other", kind: "requests" },
    { name: "overlong method is other", sent: `${"X".repeat(40)} sip:a@b SIP/2.0\r\n`, key: "other", kind: "requests" },
    { name: "response by code", sent: "SIP/2.0 486 Busy Here\r\n", key: "486", kind: "responses" },
    { name: "unreadable code is other", sent: "SIP/2.0 4x6 Busy Here\r\n", key: "other", kind: "responses" },
    { name: "code out of range is other", sent: "SIP/2.0 999 What\r\n", key: "other", kind: "responses" },
  ];
  for (const c of cases) {
    test(`sent: ${c.name}`, () => {
      const counts = new SipMessageCounts(["INVITE", "BYE"]);
      counts.sent(bytes(c.sent));
      expect(Object.fromEntries(counts[c.kind].sent)).toEqual({ [c.key]: 1 });
    });
  }

  test("received methods outside the list share one key, so a flood of names cannot grow the map", () => {
    const counts = new SipMessageCounts(["INVITE"]);
    for (let i = 0; i < 1000; i++) counts.requestReceived(`M${i}`);
    counts.requestReceived("INVITE");
    counts.responseReceived(200);
    counts.responseReceived(1000);
    expect(Object.fromEntries(counts.requests.received)).toEqual({ other: 1000, INVITE: 1 });
    expect(Object.fromEntries(counts.responses.received)).toEqual({ "200": 1, other: 1 });
  });
});

describe("SipUa counts what crosses its socket", () => {
  test("an OPTIONS in and its 200 out, an unknown method in and its answer out", async () => {
    const ua = await SipUa.listen({ host: "127.0.0.1", port: 0 });
    const peer = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      const request = (method: string, branch: string) =>
        `${method} sip:conf@127.0.0.1:${ua.address.port} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK${branch};rport\r\n` +
        "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:conf@127.0.0.1>\r\n" +
        `Call-ID: ${branch}@test\r\nCSeq: 1 ${method}\r\nContent-Length: 0\r\n\r\n`;
      peer.send(request("OPTIONS", "opt1"), ua.address.port, "127.0.0.1");
      peer.send(request("FROBNICATE", "frob1"), ua.address.port, "127.0.0.1");
      const deadline = Date.now() + 5000;
      while ((ua.messages.responses.sent.size < 2 || ua.messages.requests.received.size < 2) && Date.now() < deadline) {
        await Bun.sleep(10);
      }
      expect(Object.fromEntries(ua.messages.requests.received)).toEqual({ OPTIONS: 1, other: 1 });
      expect(ua.messages.responses.sent.get("200")).toBe(1);
      expect([...ua.messages.responses.sent.keys()].sort()).toEqual(["200", "501"].sort());
    } finally {
      peer.close();
      ua.close();
    }
  });
});
