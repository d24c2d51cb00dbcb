import { afterEach, describe, expect, test } from "bun:test";
import type { udp } from "bun";
import { buildRequest, buildResponse, cseqOf, header, headerParam, parseSip, uriOf, type SipMessage } from "./message.ts";
import { SipUac } from "./uac.ts";

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

const SDP_ANSWER = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

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

describe("SipUac", () => {
  test("INVITE -> 100 -> 200 -> ACK, then the server's BYE gets 200", async () => {
    const uas = await startUas((u, msg) => {
      if (msg.method === "INVITE") {
        u.send(buildResponse(msg, 100, "Trying"));
        u.send(ok200(u, msg));
      }
    });
    const uac = await SipUac.create({ t1Ms: 50 });
    closers.push(() => uas.close(), () => uac.close());

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
    expect(cseqOf(ack)).toEqual({ seq: 1, method: "ACK" });
    expect(headerParam(header(ack, "via"), "branch")).not.toBe(headerParam(header(invite, "via"), "branch"));
    expect(header(ack, "call-id")).toBe(header(invite, "call-id"));

    // The server hangs up.
    let byeSeen = false;
    out.dialog.onBye = () => {
      byeSeen = true;
    };
    const responses: SipMessage[] = [];
    const byeSocket = await Bun.udpSocket({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(_s, d) {
          const m = parseSip(d);
          if (m) responses.push(m);
        },
      },
    });
    closers.push(() => byeSocket.close());
    const bye = buildRequest(`BYE`, uriOf(header(invite, "contact"))!, [
      ["Via", `SIP/2.0/UDP 127.0.0.1:${byeSocket.port};branch=z9hG4bKbye1`],
      ["From", header(ack, "to")!],
      ["To", header(invite, "from")!],
      ["Call-ID", header(invite, "call-id")!],
      ["CSeq", "7 BYE"],
    ]);
    byeSocket.send(bye, uac.port, "127.0.0.1");
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
    const uac = await SipUac.create({ t1Ms: 50 });
    closers.push(() => uas.close(), () => uac.close());
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
    expect(cseqOf(bye)).toEqual({ seq: 2, method: "BYE" });
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
    const uac = await SipUac.create({ t1Ms: 20 });
    closers.push(() => uas.close(), () => uac.close());
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
    const uac = await SipUac.create({ t1Ms: 50 });
    closers.push(() => uas.close(), () => uac.close());
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
    const uac = await SipUac.create({ t1Ms: 10 });
    closers.push(() => uas.close(), () => uac.close());
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

describe("parseSip", () => {
  test("compact names, folding, multiple Via, body by Content-Length", () => {
    const text =
      "SIP/2.0 200 OK\r\n" +
      "v: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n" +
      "f: <sip:a@b>;tag=1\r\n" +
      "t: \"x, y\" <sip:c@d>\r\n  ;tag=2\r\n" +
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
