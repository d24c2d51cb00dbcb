// Ported from the load generator's own UAC tests (src/sip/uac.test.ts, removed with that
// code): the same checks against the shared SipUa; where the shared stack behaves
// differently on purpose the comment says so.
import { afterEach, describe, expect, test } from "bun:test";
import type { udp } from "bun";
import { parseMessage, type OutgoingHeader, serializeRequest, serializeResponse, bodyText } from "@conf/sip";
import { CallerUa } from "./caller-ua.ts";

// The raw peers below read and write SIP with @conf/sip, seen through the small view
// these tests were written against (the load generator's own parser, now gone).

/** A message as the peers see it: header values by lower-case name, body as text. */
interface SipMessage {
  kind: "request" | "response";
  method?: string;
  uri?: string;
  status?: number;
  headers: Map<string, string[]>;
  body: string;
}

function parseSip(data: Uint8Array | string): SipMessage | null {
  const r = parseMessage(typeof data === "string" ? data : new Uint8Array(data));
  if (!r.ok) return r.salvage ? looseResponse(typeof data === "string" ? data : new TextDecoder().decode(data)) : null;
  const m = r.value;
  const headers = new Map<string, string[]>();
  for (const f of m.headers.fields) headers.set(f.name, [...(headers.get(f.name) ?? []), f.value]);
  const base = { headers, body: bodyText(m) };
  return m.kind === "request"
    ? { kind: "request", method: m.method, uri: m.uri, ...base }
    : { kind: "response", status: m.status, ...base };
}

/** A response the strict parser refuses (our 400 to a request without From/To/Call-ID lacks them too): status line and headers. */
function looseResponse(raw: string): SipMessage | null {
  const lines = raw.split("\r\n\r\n")[0]!.split("\r\n");
  const status = /^SIP\/2\.0 (\d{3}) /.exec(lines[0] ?? "");
  if (!status) return null;
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0)
      headers.set(line.slice(0, i).trim().toLowerCase(), [
        ...(headers.get(line.slice(0, i).trim().toLowerCase()) ?? []),
        line.slice(i + 1).trim(),
      ]);
  }
  return { kind: "response", status: Number(status[1]), headers, body: "" };
}

const header = (msg: SipMessage, name: string): string | undefined => msg.headers.get(name)?.[0];

function headerParam(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const afterUri = value.includes(">") ? value.slice(value.lastIndexOf(">")) : value;
  return new RegExp(`;\\s*${name}\\s*=\\s*([^;\\s,]+)`, "i").exec(afterUri)?.[1];
}

function uriOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /<([^>]*)>/.exec(value);
  return m ? m[1] : value.split(";")[0]?.trim();
}

function cseqOf(msg: SipMessage): { seq: number; method: string } | undefined {
  const m = /^(\d+)\s+(\S+)/.exec(header(msg, "cseq") ?? "");
  return m ? { seq: Number(m[1]), method: m[2]! } : undefined;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

function buildRequest(method: string, uri: string, headers: [string, string][], body = ""): string {
  return text(serializeRequest(method, uri, headers, body));
}

function buildResponse(
  req: SipMessage,
  status: number,
  reason: string,
  extra: [string, string][] = [],
  body = "",
  toTag?: string,
): string {
  const headers: OutgoingHeader[] = (req.headers.get("via") ?? []).map((v): OutgoingHeader => ["Via", v]);
  let to = header(req, "to") ?? "";
  if (toTag && !headerParam(to, "tag")) to += `;tag=${toTag}`;
  headers.push(
    ["From", header(req, "from") ?? ""],
    ["To", to],
    ["Call-ID", header(req, "call-id") ?? ""],
    ["CSeq", header(req, "cseq") ?? ""],
  );
  return text(serializeResponse(status, reason, [...headers, ...extra], body));
}

/** A tiny UAS on a raw Bun UDP socket; `behaviour` decides what to do per request. */
interface Uas {
  port: number;
  received: SipMessage[];
  socket: udp.Socket<"buffer">;
  lastFrom: { port: number; address: string };
  send(text: string): void;
  close(): void;
}

async function startUas(onRequest: (uas: Uas, msg: SipMessage) => void): Promise<Uas> {
  const uas = {
    received: [] as SipMessage[],
    lastFrom: { port: 0, address: "" },
  } as unknown as Uas;
  uas.socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(_s, data, port, address) {
        const msg = parseSip(data);
        if (!msg) return;
        uas.lastFrom = { port, address };
        uas.received.push(msg);
        onRequest(uas, msg);
      },
    },
  });
  uas.port = uas.socket.port;
  uas.send = (text) => uas.socket.send(text, uas.lastFrom.port, uas.lastFrom.address);
  uas.close = () => uas.socket.close();
  return uas;
}

const SDP_ANSWER =
  "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

function ok200(uas: Uas, req: SipMessage): string {
  return buildResponse(
    req,
    200,
    "OK",
    [
      ["Contact", `<sip:mixer@127.0.0.1:${uas.port};transport=udp>`],
      ["Content-Type", "application/sdp"],
    ],
    SDP_ANSWER,
    "uastag1",
  );
}

const closers: (() => void)[] = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("timed out waiting");
    await Bun.sleep(5);
  }
}

describe("CallerUa", () => {
  test("INVITE -> 100 -> 200 -> ACK, then the server's BYE gets 200", async () => {
    const uas = await startUas((u, msg) => {
      if (msg.method === "INVITE") {
        u.send(buildResponse(msg, 100, "Trying"));
        u.send(ok200(u, msg));
      }
    });
    const uac = await CallerUa.create({ t1Ms: 50 });
    closers.push(
      () => uas.close(),
      () => uac.close(),
    );

    const provisional: number[] = [];
    const out = await uac.invite({
      target: { host: "127.0.0.1", port: uas.port },
      toUser: "15162065919",
      fromUser: "19990000001",
      sdp: "v=0\r\n",
      onProvisional: (s) => provisional.push(s),
    });
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.status).toBe(200);
    expect(provisional).toEqual([100]);
    expect(out.answerSdp).toBe(SDP_ANSWER);
    expect(out.timings.firstProvisionalMs).not.toBeNull();
    expect(out.dialog.remoteTag).toBe("uastag1");

    const invite = uas.received[0]!;
    expect(invite.uri).toBe(`sip:15162065919@127.0.0.1:${uas.port}`);
    expect(uriOf(header(invite, "from"))).toBe("sip:19990000001@127.0.0.1");
    expect(header(invite, "content-type")).toBe("application/sdp");

    await until(() => uas.received.some((m) => m.method === "ACK"));
    const ack = uas.received.find((m) => m.method === "ACK")!;
    // 2xx ACK: to the Contact, To carries the tag, same CSeq number, a new branch.
    expect(ack.uri).toBe(`sip:mixer@127.0.0.1:${uas.port};transport=udp`);
    expect(headerParam(header(ack, "to"), "tag")).toBe("uastag1");
    // The shared UA starts each call's CSeq at a random number (RFC 3261 8.1.1.5).
    expect(cseqOf(ack)).toEqual({ seq: cseqOf(invite)!.seq, method: "ACK" });
    expect(headerParam(header(ack, "via"), "branch")).not.toBe(headerParam(header(invite, "via"), "branch"));
    expect(header(ack, "call-id")).toBe(header(invite, "call-id"));

    // The server hangs up.
    let byeSeen = false;
    uac.on(out.dialog, {
      onBye: () => {
        byeSeen = true;
      },
    });
    const byeSocket = await startNode();
    closers.push(() => byeSocket.close());
    const responses = byeSocket.received;
    const bye = buildRequest(`BYE`, uriOf(header(invite, "contact"))!, [
      ["Via", `SIP/2.0/UDP 127.0.0.1:${byeSocket.port};branch=z9hG4bKbye1`],
      ["From", header(ack, "to")!],
      ["To", header(invite, "from")!],
      ["Call-ID", header(invite, "call-id")!],
      ["CSeq", "7 BYE"],
    ]);
    byeSocket.sendTo(uac.port, bye);
    await until(() => responses.length > 0);
    expect(responses[0]!.status).toBe(200);
    expect(cseqOf(responses[0]!)).toEqual({ seq: 7, method: "BYE" });
    expect(byeSeen).toBe(true);
    expect(out.dialog.state).toBe("terminated");
    expect(uac.dialogCount).toBe(0);
  });

  test("our BYE is sent in the dialog and resolves with the 200", async () => {
    const uas = await startUas((u, msg) => {
      if (msg.method === "INVITE") u.send(ok200(u, msg));
      if (msg.method === "BYE") u.send(buildResponse(msg, 200, "OK"));
    });
    const uac = await CallerUa.create({ t1Ms: 50 });
    closers.push(
      () => uas.close(),
      () => uac.close(),
    );
    const out = await uac.invite({
      target: { host: "127.0.0.1", port: uas.port },
      toUser: "100",
      fromUser: "200",
      sdp: "",
    });
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(await uac.bye(out.dialog)).toBe(200);
    const bye = uas.received.find((m) => m.method === "BYE")!;
    expect(cseqOf(bye)).toEqual({ seq: cseqOf(uas.received[0]!)!.seq + 1, method: "BYE" });
    expect(headerParam(header(bye, "to"), "tag")).toBe("uastag1");
    expect(header(bye, "from")).toBe(header(uas.received[0]!, "from"));
    // A second BYE on a terminated dialog does not hit the wire.
    expect(await uac.bye(out.dialog)).toBe(481);
  });

  test("INVITE is retransmitted (timer A) until a response arrives", async () => {
    let invites = 0;
    const uas = await startUas((u, msg) => {
      if (msg.method === "INVITE" && ++invites === 3) u.send(ok200(u, msg));
    });
    const uac = await CallerUa.create({ t1Ms: 20 });
    closers.push(
      () => uas.close(),
      () => uac.close(),
    );
    const out = await uac.invite({ target: { host: "127.0.0.1", port: uas.port }, toUser: "1", fromUser: "2", sdp: "" });
    expect(out.ok).toBe(true);
    expect(out.timings.retransmissions).toBe(2);
    const branches = new Set(uas.received.filter((m) => m.method === "INVITE").map((m) => header(m, "via")));
    expect(branches.size).toBe(1);
  });

  test("a non-2xx final is ACKed in its transaction and reported", async () => {
    const uas = await startUas((u, msg) => {
      if (msg.method === "INVITE") u.send(buildResponse(msg, 486, "Busy Here", [], "", "busytag"));
    });
    const uac = await CallerUa.create({ t1Ms: 50 });
    closers.push(
      () => uas.close(),
      () => uac.close(),
    );
    const out = await uac.invite({ target: { host: "127.0.0.1", port: uas.port }, toUser: "1", fromUser: "2", sdp: "" });
    expect(out.ok).toBe(false);
    expect(out.status).toBe(486);
    await until(() => uas.received.some((m) => m.method === "ACK"));
    const invite = uas.received[0]!;
    const ack = uas.received.find((m) => m.method === "ACK")!;
    expect(ack.uri).toBe(invite.uri);
    expect(header(ack, "via")).toBe(header(invite, "via"));
    expect(headerParam(header(ack, "to"), "tag")).toBe("busytag");
  });

  test("a retransmitted 200 is ACKed again; no response at all ends with timer B", async () => {
    let saved: SipMessage | null = null;
    const uas = await startUas((u, msg) => {
      if (msg.method === "INVITE") {
        saved = msg;
        u.send(ok200(u, msg));
      }
    });
    const uac = await CallerUa.create({ t1Ms: 10 });
    closers.push(
      () => uas.close(),
      () => uac.close(),
    );
    const out = await uac.invite({ target: { host: "127.0.0.1", port: uas.port }, toUser: "1", fromUser: "2", sdp: "" });
    expect(out.ok).toBe(true);
    await until(() => uas.received.filter((m) => m.method === "ACK").length === 1);
    uas.send(ok200(uas, saved!));
    await until(() => uas.received.filter((m) => m.method === "ACK").length === 2);

    const silent = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    closers.push(() => silent.close());
    const t0 = performance.now();
    const lost = await uac.invite({ target: { host: "127.0.0.1", port: silent.port }, toUser: "1", fromUser: "2", sdp: "" });
    expect(lost.ok).toBe(false);
    expect(lost.status).toBe(408);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(64 * 10 - 5);
  });
});

/** A raw UDP socket playing the "second node" a call moves to: collects what it receives. */
async function startNode(): Promise<{
  port: number;
  received: SipMessage[];
  sendTo(port: number, text: string): void;
  close(): void;
}> {
  const received: SipMessage[] = [];
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(_s, d) {
        const m = parseSip(d);
        if (m) received.push(m);
      },
    },
  });
  return {
    port: socket.port,
    received,
    sendTo: (port, text) => void socket.send(text, port, "127.0.0.1"),
    close: () => socket.close(),
  };
}

const OFFER_2 =
  "v=0\r\no=mixer 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30002 RTP/AVP 0 101\r\n" +
  "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

describe("CallerUa re-INVITE and other in-dialog requests", () => {
  /** A confirmed dialog with a raw-socket UAS, and a second node to move it to. */
  async function established(t1Ms: number) {
    const uas = await startUas((u, msg) => {
      if (msg.method === "INVITE") u.send(ok200(u, msg));
    });
    const node = await startNode();
    const uac = await CallerUa.create({ t1Ms, t2Ms: 8 * t1Ms });
    closers.push(
      () => uas.close(),
      () => node.close(),
      () => uac.close(),
    );
    const out = await uac.invite({
      target: { host: "127.0.0.1", port: uas.port },
      toUser: "100",
      fromUser: "200",
      sdp: "v=0\r\n",
    });
    if (!out.ok) throw new Error("no dialog");
    const invite = uas.received[0]!;
    await until(() => uas.received.some((m) => m.method === "ACK"));
    /** An in-dialog request from the server side (From = our To with its tag, To = our From with ours). */
    const request = (
      method: string,
      seq: number,
      opts: { branch?: string; contact?: string; body?: string; toTag?: string; type?: string } = {},
    ) =>
      buildRequest(
        method,
        uriOf(header(invite, "contact"))!,
        [
          ["Via", `SIP/2.0/UDP 127.0.0.1:${node.port};branch=${opts.branch ?? `z9hG4bK${method}${seq}`};rport`],
          ["Max-Forwards", "70"],
          ["From", `<sip:100@127.0.0.1>;tag=uastag1`],
          ["To", opts.toTag === undefined ? header(invite, "from")! : `<sip:200@127.0.0.1>;tag=${opts.toTag}`],
          ["Call-ID", header(invite, "call-id")!],
          ["CSeq", `${seq} ${method}`],
          ...(opts.contact ? ([["Contact", opts.contact]] as [string, string][]) : []),
          ...(opts.body ? ([["Content-Type", opts.type ?? "application/sdp"]] as [string, string][]) : []),
        ],
        opts.body ?? "",
      );
    return { uas, node, uac, dialog: out.dialog, invite, request };
  }

  // Final responses only: the shared UAS sends 100 Trying to a re-INVITE before its answer.
  const responses = (node: { received: SipMessage[] }, seq: number, method = "INVITE") =>
    node.received.filter(
      (m) => m.kind === "response" && (m.status ?? 0) >= 200 && cseqOf(m)?.seq === seq && cseqOf(m)?.method === method,
    );

  test("a re-INVITE is answered 200 with SDP, retransmitted until the ACK, and moves the remote target", async () => {
    const { uas, node, uac, dialog, invite, request } = await established(20);
    const offers: string[] = [];
    uac.on(dialog, {
      onReinvite: (offer) => {
        offers.push(offer);
        return { sdp: "v=0\r\nanswer\r\n" };
      },
    });
    const reinvite = request("INVITE", 5, { contact: `<sip:mixer2@127.0.0.1:${node.port}>`, body: OFFER_2 });
    node.sendTo(uac.port, reinvite);
    await until(() => responses(node, 5).length >= 3, 1000);
    expect(offers).toEqual([OFFER_2]);
    const ok = responses(node, 5)[0]!;
    const req = parseSip(reinvite)!;
    expect(ok.status).toBe(200);
    // RFC 3261 8.2.6.2: Via, From, To (already tagged), Call-ID and CSeq copied; the
    // shared UAS fills in the rport the request asked for (RFC 3581).
    expect(ok.headers.get("via")).toEqual(
      req.headers.get("via")!.map((v) => v.replace(/;rport$/, `;rport=${node.port};received=127.0.0.1`)),
    );
    expect(header(ok, "from")).toBe(header(req, "from")!);
    expect(header(ok, "to")).toBe(header(req, "to")!);
    expect(header(ok, "call-id")).toBe(header(req, "call-id")!);
    expect(header(ok, "cseq")).toBe("5 INVITE");
    expect(uriOf(header(ok, "contact"))).toBe(uriOf(header(invite, "contact"))!);
    expect(header(ok, "content-type")).toBe("application/sdp");
    expect(ok.body).toBe("v=0\r\nanswer\r\n");
    // Timer G: the same 200 again, T1 then doubling.
    expect(responses(node, 5).every((m) => m.status === 200 && m.body === ok.body)).toBe(true);
    expect(uac.counters.answerRetransmissions).toBeGreaterThanOrEqual(2);
    // A retransmitted re-INVITE gets the 200 again without asking for a second answer.
    const before = responses(node, 5).length;
    node.sendTo(uac.port, reinvite);
    await until(() => responses(node, 5).length > before, 500);
    expect(offers).toHaveLength(1);
    // The ACK stops the retransmissions.
    node.sendTo(
      uac.port,
      buildRequest(`ACK`, uriOf(header(invite, "contact"))!, [
        ["Via", `SIP/2.0/UDP 127.0.0.1:${node.port};branch=z9hG4bKack5`],
        ["From", "<sip:100@127.0.0.1>;tag=uastag1"],
        ["To", header(invite, "from")!],
        ["Call-ID", header(invite, "call-id")!],
        ["CSeq", "5 ACK"],
      ]),
    );
    await Bun.sleep(30);
    const afterAck = responses(node, 5).length;
    await Bun.sleep(200);
    expect(responses(node, 5).length).toBe(afterAck);
    expect(uac.counters.reinvites).toBe(1);
    expect(uac.counters.answerAckTimeouts).toBe(0);
    // Our BYE goes to the new node's Contact, with our next CSeq.
    expect(dialog.remoteTarget).toBe(`sip:mixer2@127.0.0.1:${node.port}`);
    const bye = uac.bye(dialog);
    await until(() => node.received.some((m) => m.method === "BYE"), 1000);
    const b = node.received.find((m) => m.method === "BYE")!;
    expect(b.uri).toBe(`sip:mixer2@127.0.0.1:${node.port}`);
    expect(cseqOf(b)).toEqual({ seq: cseqOf(invite)!.seq + 1, method: "BYE" });
    expect(uas.received.some((m) => m.method === "BYE")).toBe(false);
    node.sendTo(uac.port, buildResponse(b, 200, "OK"));
    expect(await bye).toBe(200);
  });

  test("a refused re-INVITE keeps the target; without an ACK the 200 is given up after 64*T1 and the call hung up", async () => {
    const { node, uac, dialog, request, uas } = await established(5);
    const target = dialog.remoteTarget;
    let calls = 0;
    uac.on(dialog, { onReinvite: () => (++calls === 1 ? { status: 488, reason: "Not Acceptable Here" } : { sdp: "v=0\r\n" }) });
    node.sendTo(uac.port, request("INVITE", 3, { contact: `<sip:b@127.0.0.1:${uas.port}>`, body: OFFER_2 }));
    await until(() => responses(node, 3).length > 0, 500);
    expect(responses(node, 3)[0]!.status).toBe(488);
    expect(dialog.remoteTarget).toBe(target);
    expect(uac.counters.reinvitesRefused).toBe(1);
    node.sendTo(uac.port, request("INVITE", 4, { contact: `<sip:a@127.0.0.1:${node.port}>`, body: OFFER_2 }));
    await until(() => uac.counters.answerAckTimeouts === 1, 2000);
    const n = responses(node, 4).length;
    // 5, 10, 20, 40, 40, ... ms over 320 ms: about 10 transmissions, then silence.
    expect(n).toBeGreaterThanOrEqual(6);
    expect(n).toBeLessThanOrEqual(14);
    await Bun.sleep(60);
    expect(responses(node, 4).length).toBe(n);
    // The shared UAS ends a session whose 2xx was never ACKed (RFC 3261 13.3.1.4): BYE to the new target.
    expect(dialog.state).toBe("terminated");
    expect(dialog.remoteTarget).toBe(`sip:a@127.0.0.1:${node.port}`);
    await until(() => node.received.some((m) => m.method === "BYE"), 1000);
    expect(uac.counters.reinvites).toBe(1);
  });

  test("out-of-order, foreign, offerless and unhandled re-INVITEs; OPTIONS, INFO, other methods, garbage", async () => {
    const { node, uac, dialog, request } = await established(20);
    const statusOf = async (text: string, seq: number, method: string) => {
      node.sendTo(uac.port, text);
      await until(() => responses(node, seq, method).length > 0, 500);
      return responses(node, seq, method)[0]!.status;
    };
    // No onReinvite: refused, session unchanged.
    expect(await statusOf(request("INVITE", 10, { body: OFFER_2 }), 10, "INVITE")).toBe(488);
    uac.on(dialog, {
      onReinvite: () => {
        throw new Error("listener bug");
      },
    });
    expect(await statusOf(request("INVITE", 11, { body: OFFER_2 }), 11, "INVITE")).toBe(500);
    uac.on(dialog, { onReinvite: () => ({ sdp: "v=0\r\n" }) });
    // Lower CSeq than the peer's last request: out of order (RFC 3261 12.2.2).
    expect(await statusOf(request("INVITE", 9, { body: OFFER_2, branch: "z9hG4bKold" }), 9, "INVITE")).toBe(500);
    // Wrong To tag: not this dialog.
    expect(await statusOf(request("INVITE", 12, { body: OFFER_2, toTag: "nottag" }), 12, "INVITE")).toBe(481);
    // No offer in the re-INVITE: not supported.
    expect(await statusOf(request("INVITE", 13), 13, "INVITE")).toBe(488);
    expect(await statusOf(request("OPTIONS", 14), 14, "OPTIONS")).toBe(200);
    expect(await statusOf(request("INFO", 15, { body: "Signal=5\r\n", type: "application/dtmf-relay" }), 15, "INFO")).toBe(200);
    // The shared UAS names the methods it knows but does not implement (405 with Allow).
    expect(await statusOf(request("UPDATE", 16), 16, "UPDATE")).toBe(405);
    expect(await statusOf(request("MESSAGE", 17), 17, "MESSAGE")).toBe(405);
    // With rport: the shared UAS answers a Via without it at the port the Via names (RFC 3261 18.2.2).
    const missing = buildRequest("INFO", "sip:x@127.0.0.1", [
      ["Via", "SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx;rport"],
      ["CSeq", "18 INFO"],
    ]);
    expect(await statusOf(missing, 18, "INFO")).toBe(400);
    const otherCall = request("INFO", 19).replace(/Call-ID: .*/, "Call-ID: nosuchcall");
    expect(await statusOf(otherCall, 19, "INFO")).toBe(481);
    // Garbage of all kinds: counted, never thrown.
    for (const g of [
      "\r\n\r\n",
      "garbage",
      "INVITE\r\n\r\n",
      "INVITE sip:x SIP/2.0\r\nCSeq: x\r\n\r\n",
      "SIP/2.0 200 OK\r\n\r\n",
      "\u0000\u00ff\u0001 \r\n\r\n",
      "ACK sip:x SIP/2.0\r\nCall-ID: q\r\nCSeq: 1 ACK\r\n\r\n",
    ]) {
      node.sendTo(uac.port, g);
    }
    await Bun.sleep(50);
    expect(uac.counters.handlerErrors).toBe(0);
    // Still working: a good re-INVITE after all that.
    expect(await statusOf(request("INVITE", 20, { body: OFFER_2 }), 20, "INVITE")).toBe(200);
    expect(dialog.state).toBe("confirmed");
    // Unknown methods get 501; an INFO body it cannot read gets 415.
    expect(await statusOf(request("FROB", 21), 21, "FROB")).toBe(501);
    expect(await statusOf(request("INFO", 22, { body: "Signal=5\r\n" }), 22, "INFO")).toBe(415);
  });
});

describe("parseSip", () => {
  test("compact names, folding, multiple Via, body by Content-Length", () => {
    const text =
      "SIP/2.0 200 OK\r\n" +
      "v: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n" +
      "f: <sip:a@b>;tag=1\r\n" +
      't: "x, y" <sip:c@d>\r\n  ;tag=2\r\n' +
      "i: abc\r\nCSeq: 1 INVITE\r\nl: 4\r\n\r\nbodyEXTRA";
    const m = parseSip(text)!;
    expect(m.status).toBe(200);
    expect(m.headers.get("via")).toHaveLength(2);
    expect(headerParam(header(m, "to"), "tag")).toBe("2");
    expect(header(m, "call-id")).toBe("abc");
    expect(m.body).toBe("body");
    expect(parseSip("garbage")).toBeNull();
    expect(parseSip("HELLO\r\n\r\n")).toBeNull();
  });
});
