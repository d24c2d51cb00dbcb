/**
 * SIP over WebSocket: real WebSocket clients on loopback against the server and its UA.
 * Requests are answered on the connection they came on, our BYE reaches the browser
 * there, a closed connection is reported, and the listener's limits hold.
 */
import { afterEach, expect, test } from "bun:test";
import type { Dialog } from "@conf/sip";
import { SipWsServer } from "./sip-ws.ts";

const servers: SipWsServer[] = [];
const sockets: WebSocket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
  for (const s of servers.splice(0)) s.stop();
});

function start(opts: Partial<Parameters<typeof SipWsServer.start>[0]> = {}): SipWsServer {
  const s = SipWsServer.start({ host: "127.0.0.1", port: 0, ua: {}, ...opts });
  servers.push(s);
  return s;
}

class Client {
  readonly messages: string[] = [];
  private waiters: { re: RegExp; resolve: (m: string) => void }[] = [];
  constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      const m = String(e.data);
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => (w.re.test(m) ? (w.resolve(m), false) : true));
    };
  }
  static async open(port: number, protocol: string | string[] = "sip"): Promise<Client> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, protocol);
    sockets.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("WebSocket refused"));
    });
    return new Client(ws);
  }
  next(re: RegExp, ms = 3000): Promise<string> {
    const seen = this.messages.find((m) => re.test(m));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no message like ${re}`)), ms);
      this.waiters.push({
        re,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      });
    });
  }
}

function request(method: string, callId: string, extra = "", body = ""): string {
  return [
    `${method} sip:15550001111@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/WS abcd.invalid;branch=z9hG4bK${crypto.randomUUID().slice(0, 8)};rport`,
    "Max-Forwards: 70",
    "From: <sip:web@abcd.invalid>;tag=ft1",
    "To: <sip:15550001111@127.0.0.1>",
    `Call-ID: ${callId}`,
    `CSeq: 1 ${method}`,
    "Contact: <sip:web@abcd.invalid;transport=ws>",
    extra,
    `Content-Length: ${new TextEncoder().encode(body).length}`,
    "",
    body,
  ]
    .filter((l, i, a) => l !== "" || i >= a.length - 2)
    .join("\r\n");
}

test("requests over a WebSocket are answered on it, with WS in our Contact; our BYE goes back on it; a close is reported", async () => {
  const closed: string[] = [];
  let dialog: Dialog | null = null;
  const srv = start({
    ua: {
      handlers: {
        onInvite: (call) => {
          expect(call.source.address).toBe("127.0.0.1");
          dialog = call.accept(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n",
          );
        },
      },
    },
    onClosed: (src) => closed.push(`${src.address}:${src.port}`),
  });
  const c = await Client.open(srv.port);
  c.ws.send(request("OPTIONS", "opt-1"));
  expect(await c.next(/^SIP\/2\.0 200/)).toContain("Call-ID: opt-1");

  const sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n";
  c.ws.send(request("INVITE", "inv-1", "Content-Type: application/sdp", sdp));
  const ok = await c.next(/^SIP\/2\.0 200 OK[\s\S]*CSeq: 1 INVITE/);
  expect(ok).toMatch(/Contact: <sip:[^>]*;transport=ws>/);
  const toTag = ok.match(/^To:.*tag=([^;\s]+)/m)?.[1];
  c.ws.send(request("ACK", "inv-1").replace("To: <sip:15550001111@127.0.0.1>", `To: <sip:15550001111@127.0.0.1>;tag=${toTag}`));
  await Bun.sleep(50);
  expect(dialog).not.toBeNull();
  void (dialog as unknown as Dialog).bye();
  const bye = await c.next(/^BYE /);
  expect(bye).toMatch(/^Via: SIP\/2\.0\/WS /m);
  c.ws.close();
  for (let i = 0; i < 50 && closed.length === 0; i++) await Bun.sleep(10);
  expect(closed).toHaveLength(1);
  expect(closed[0]).toStartWith("127.0.0.1:");
});

test("the listener wants the sip subprotocol and a WebSocket, and holds connections per source and message sizes", async () => {
  const srv = start({ limits: { connectionsPerSource: 2, maxMessageBytes: 2048 } });
  const plain = await fetch(`http://127.0.0.1:${srv.port}/`);
  expect(plain.status).toBe(426);
  let refused = false;
  try {
    await Client.open(srv.port, "chat");
  } catch {
    refused = true;
  }
  expect(refused).toBe(true);

  const a = await Client.open(srv.port);
  await Client.open(srv.port);
  let third = false;
  try {
    await Client.open(srv.port);
  } catch {
    third = true;
  }
  expect(third).toBe(true);
  expect(srv.connections).toBe(2);

  // Over the message size: the connection is closed (1009), nothing is parsed.
  const gone = new Promise<number>((resolve) => {
    a.ws.onclose = (e) => resolve(e.code);
  });
  a.ws.send(request("OPTIONS", "big", `X-Pad: ${"x".repeat(4000)}`));
  expect(await gone).toBe(1009);
  // A place is free again.
  for (let i = 0; i < 50 && srv.connections > 1; i++) await Bun.sleep(10);
  await Client.open(srv.port);
});

test("with SIP_WS_ORIGINS set, only pages of those origins may connect (another site's page gets 403)", async () => {
  const srv = start({ limits: { origins: ["https://conf.example.com"] } });
  const open = (origin: string | null) =>
    new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}`, {
        protocols: ["sip"],
        headers: origin === null ? {} : { Origin: origin },
      } as unknown as string[]);
      sockets.push(ws);
      ws.onopen = () => resolve(true);
      ws.onerror = () => resolve(false);
    });
  expect(await open("https://evil.example")).toBe(false);
  expect(await open(null)).toBe(false);
  expect(await open("https://conf.example.com")).toBe(true);
  const raw = await fetch(`http://127.0.0.1:${srv.port}/`, {
    headers: { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Protocol": "sip", Origin: "https://evil.example" },
  });
  expect(raw.status).toBe(403);
});
