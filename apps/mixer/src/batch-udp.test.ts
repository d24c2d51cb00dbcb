import { afterEach, describe, expect, test } from "bun:test";
import type { udp } from "bun";
import { BatchUdpSocket, batchUdpAvailable, parseIpv4, RECEIVE_BATCH, SLOT_BYTES } from "./batch-udp.ts";

const open: { close(): void }[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

async function bunSocket(host = "127.0.0.1", onData?: (buf: Buffer, port: number, address: string) => void) {
  const s = await Bun.udpSocket({ hostname: host, socket: { data: (_s, buf, port, address) => onData?.(buf, port, address) } });
  open.push(s);
  return s;
}

function batchSocket(): BatchUdpSocket {
  // Port 0: the kernel picks; read it back from a Bun socket is not possible, so bind a fixed free one.
  for (let i = 0; i < 50; i++) {
    const port = 30000 + Math.floor(Math.random() * 5000);
    try {
      const s = BatchUdpSocket.open("127.0.0.1", port);
      open.push(s);
      return s;
    } catch {
      // taken: another
    }
  }
  throw new Error("no free port");
}

/** Drains until `want` datagrams were read or the budget runs out (they cross loopback asynchronously). */
async function drain(s: BatchUdpSocket, want: number) {
  const got: { bytes: number[]; port: number; address: string; addr: number }[] = [];
  let truncated = 0;
  for (let tries = 0; tries < 200 && got.length + truncated < want; tries++) {
    const n = s.receive();
    for (let i = 0; i < n; i++) {
      const len = s.length(i);
      if (len < 0) {
        truncated++;
        continue;
      }
      got.push({ bytes: [...s.packet(i, len)], port: s.sourcePort(i), address: s.sourceName(i), addr: s.sourceAddress(i) });
    }
    if (n === 0) await Bun.sleep(5);
  }
  return { got, truncated };
}

describe.skipIf(!batchUdpAvailable())("BatchUdpSocket", () => {
  test("parseIpv4 reads dotted quads and refuses the rest", () => {
    expect(parseIpv4("127.0.0.1")).toBe(0x7f000001);
    expect(parseIpv4("255.255.255.255")).toBe(0xffffffff);
    for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "::1", "a.b.c.d", "1.2.3.4 ", "1234.1.1.1"])
      expect(parseIpv4(bad)).toBe(-1);
  });

  test("reads many datagrams from several sources in batches, each with its source and exact length", async () => {
    const s = batchSocket();
    const a = await bunSocket("127.0.0.1");
    const b = await bunSocket("127.0.0.2");
    const count = 3 * RECEIVE_BATCH + 7;
    for (let i = 0; i < count; i++) {
      const from = i % 2 === 0 ? a : b;
      from.send(new Uint8Array(12 + (i % 50)).fill(i & 255), s.port, "127.0.0.1");
    }
    const { got } = await drain(s, count);
    expect(got.length).toBe(count);
    for (let i = 0; i < count; i++) {
      const g = got[i]!;
      expect(g.bytes.length).toBe(12 + (i % 50));
      expect(g.bytes.every((x) => x === (i & 255))).toBe(true);
      const from = i % 2 === 0 ? a : b;
      expect(g.port).toBe(from.port);
      expect(g.address).toBe(i % 2 === 0 ? "127.0.0.1" : "127.0.0.2");
      expect(g.addr).toBe(i % 2 === 0 ? 0x7f000001 : 0x7f000002);
    }
  });

  test("nothing waiting: receive returns 0 at once (EAGAIN), again and again", () => {
    const s = batchSocket();
    for (let i = 0; i < 5; i++) expect(s.receive()).toBe(0);
  });

  test("a datagram longer than a slot is reported cut and counted, the next one still reads", async () => {
    const s = batchSocket();
    const a = await bunSocket();
    a.send(new Uint8Array(SLOT_BYTES + 100).fill(1), s.port, "127.0.0.1");
    a.send(new Uint8Array(20).fill(2), s.port, "127.0.0.1");
    const { got, truncated } = await drain(s, 2);
    expect(truncated).toBe(1);
    expect(s.truncated).toBe(1);
    expect(got.length).toBe(1);
    expect(got[0]!.bytes).toEqual(new Array(20).fill(2));
  });

  test("sends queued datagrams in one flush to several destinations; refuses a non-IPv4 one", async () => {
    const s = batchSocket();
    const received: { data: number[]; port: number }[] = [];
    const sinks: udp.Socket<"buffer">[] = [];
    for (let i = 0; i < 3; i++) sinks.push(await bunSocket("127.0.0.1", (buf, port) => received.push({ data: [...buf], port })));
    const payloads = Array.from({ length: 300 }, (_, i) => new Uint8Array(30).fill(i & 255));
    for (let i = 0; i < payloads.length; i++) expect(s.queue(payloads[i]!, sinks[i % 3]!.port, "127.0.0.1")).toBe(true);
    expect(s.queue(payloads[0]!, sinks[0]!.port, "::1")).toBe(false);
    expect(s.queue(payloads[0]!, 0, "127.0.0.1")).toBe(false);
    // 300 is more than one sendmmsg's batch: the queue flushed itself once already.
    s.flush();
    for (let i = 0; i < 100 && received.length < 300; i++) await Bun.sleep(5);
    expect(received.length).toBe(300);
    expect(received.every((r) => r.port === s.port)).toBe(true);
    const firsts = received.map((r) => r.data[0]).sort((x, y) => x! - y!);
    expect(firsts).toEqual(payloads.map((_, i) => i & 255).sort((x, y) => x - y));
  });

  test("a view into a larger buffer sends exactly its own bytes", async () => {
    const s = batchSocket();
    const received: number[][] = [];
    const sink = await bunSocket("127.0.0.1", (buf) => received.push([...buf]));
    const big = new Uint8Array(4096);
    for (let i = 0; i < big.length; i++) big[i] = i & 255;
    expect(s.queue(big.subarray(1000, 1030), sink.port, "127.0.0.1")).toBe(true);
    s.flush();
    for (let i = 0; i < 100 && received.length < 1; i++) await Bun.sleep(5);
    expect(received).toEqual([[...big.subarray(1000, 1030)]]);
  });

  test("a taken port throws (the pool then tries another)", () => {
    const s = batchSocket();
    expect(() => BatchUdpSocket.open("127.0.0.1", s.port)).toThrow(/bind/);
    expect(() => BatchUdpSocket.open("::1", 30000)).toThrow(/IPv4/);
  });

  test("after close, receive and queue do nothing", () => {
    const s = batchSocket();
    s.close();
    s.close();
    expect(s.receive()).toBe(0);
    expect(s.queue(new Uint8Array(4), 1000, "127.0.0.1")).toBe(false);
  });
});
