import { afterEach, describe, expect, test } from "bun:test";
import type { udp } from "bun";
import type { RtpLatchOptions } from "@conf/media";
import { batchUdpAvailable } from "./batch-udp.ts";
import { RtpPortPool, type RtpSocket } from "./rtp-socket.ts";

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

async function peer(got: string[], name: string): Promise<udp.Socket<"buffer">> {
  const s = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(_s, buf) {
        got.push(`${name}:${buf.toString()}`);
      },
    },
  });
  opened.push(s);
  return s;
}

/** Pools of the running test: batched shared sockets are read only when drained, as the clock does once a tick. */
const pools: RtpPortPool[] = [];
afterEach(() => {
  pools.length = 0;
});
const drainAll = () => {
  for (const p of pools) p.receive();
};

async function until(ok: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  drainAll();
  while (!ok()) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(5);
    drainAll();
  }
}

/** Waits, then drains: what arrived meanwhile has reached the handlers. */
async function settle(ms: number): Promise<void> {
  await Bun.sleep(ms);
  drainAll();
}

const base = 38000 + Math.floor(Math.random() * 400) * 4;

/** An RTP packet carrying `text`, of one stream per sending socket (SSRC 1, sequence counting up). */
const seqs = new Map<unknown, number>();
function rtp(from: udp.Socket<"buffer">, text: string, port: number): void {
  const seq = (seqs.get(from) ?? 100) + 1;
  seqs.set(from, seq);
  const body = new TextEncoder().encode(text);
  const p = new Uint8Array(12 + body.length);
  p[0] = 0x80;
  p[2] = seq >> 8;
  p[3] = seq & 0xff;
  p[11] = 1;
  p.set(body, 12);
  from.send(p, port, "127.0.0.1");
}
const text = (buf: Uint8Array) => new TextDecoder().decode(buf.subarray(12));

// Every test once with Bun's sockets and once with batched shared sockets (RTP_BATCH_IO=1).
for (const batchIo of batchUdpAvailable() ? [false, true] : [false]) {
  const newPool = (min: number, max: number, shared = 0, latch: RtpLatchOptions = {}) => {
    const pool = new RtpPortPool(min, max, shared, latch, batchIo);
    pools.push(pool);
    return pool;
  };

  describe(`RtpPortPool${batchIo ? " (RTP_BATCH_IO=1)" : ""}`, () => {
    test("a socket per call: distinct even ports, packets from the SDP's source to their own handler", async () => {
      const pool = newPool(base, base + 99);
      const got: string[] = [];
      const p = await peer(got, "p");
      const a: string[] = [];
      const b: string[] = [];
      const sa = await pool.open("127.0.0.1", (buf) => a.push(text(buf)), { expect: { address: "127.0.0.1", port: p.port } });
      const sb = await pool.open("127.0.0.1", (buf) => b.push(text(buf)), { expect: { address: "127.0.0.1", port: p.port } });
      opened.push(sa, sb);
      expect(sa.port % 2).toBe(0);
      expect(sa.port).not.toBe(sb.port);
      rtp(p, "x", sa.port);
      rtp(p, "y", sb.port);
      await until(() => a.length === 1 && b.length === 1);
      expect(sa.latch.latched).toBe(true);
      sa.send(new TextEncoder().encode("back"), p.port, "127.0.0.1");
      await until(() => got.length === 1);
      expect(got).toEqual(["p:back"]);
    });

    test("ports are drawn at random from the range, not handed out in order", async () => {
      const pool = newPool(base, base + 399);
      const ports: number[] = [];
      for (let i = 0; i < 12; i++) {
        const s = await pool.open("127.0.0.1", () => {});
        opened.push(s);
        ports.push(s.port);
      }
      expect(new Set(ports).size).toBe(12);
      for (const p of ports) expect(p >= base && p <= base + 399 && p % 2 === 0).toBe(true);
      const steps = ports.slice(1).map((p, i) => p - (ports[i] as number));
      // In order, every step would be 2; at random from 200 ports, hardly any is.
      expect(steps.filter((d) => d === 2).length).toBeLessThan(4);
    });

    test("a socket per call: a stranger's packets never reach the call; a freed port is not given out again at once", async () => {
      const pool = newPool(base + 400, base + 405);
      const got: string[] = [];
      const caller = await peer(got, "c");
      const stranger = await peer(got, "s");
      const a: string[] = [];
      const sa = await pool.open("127.0.0.1", (buf) => a.push(text(buf)), {
        expect: { address: "127.0.0.1", port: caller.port },
      });
      for (let i = 0; i < 3; i++) stranger.send(new TextEncoder().encode(`junk${i}`), sa.port, "127.0.0.1");
      rtp(caller, "1", sa.port);
      await until(() => a.length === 1);
      rtp(stranger, "2", sa.port);
      rtp(caller, "3", sa.port);
      await until(() => a.length === 2);
      expect(a).toEqual(["1", "3"]);
      expect(sa.latch.foreign).toBe(4);
      const first = sa.port;
      sa.close();
      const next = await pool.open("127.0.0.1", () => {});
      opened.push(next);
      expect(next.port).not.toBe(first);
    });

    test("shared sockets: calls told apart by source, sends leave on flush", async () => {
      const pool = newPool(base + 100, base + 199, 1);
      const a: string[] = [];
      const b: string[] = [];
      const got: string[] = [];
      const pa = await peer(got, "a");
      const pb = await peer(got, "b");
      const sa = await pool.open("127.0.0.1", (buf) => a.push(text(buf)), { expect: { address: "127.0.0.1", port: pa.port } });
      const sb = await pool.open("127.0.0.1", (buf) => b.push(text(buf)), { expect: { address: "127.0.0.1", port: pb.port } });
      opened.push(sa, sb);
      expect(sa.port).toBe(sb.port);
      rtp(pb, "1", sb.port);
      rtp(pa, "2", sa.port);
      rtp(pb, "3", sb.port);
      await until(() => a.length + b.length === 3);
      expect(a).toEqual(["2"]);
      expect(b).toEqual(["1", "3"]);
      sa.send(new TextEncoder().encode("to-a"), pa.port, "127.0.0.1");
      sb.send(new TextEncoder().encode("to-b"), pb.port, "127.0.0.1");
      await settle(30);
      expect(got).toEqual([]); // queued until the tick's flush
      pool.flush();
      await until(() => got.length === 2);
      expect(got.sort()).toEqual(["a:to-a", "b:to-b"]);
    });

    test("shared sockets: a stranger's stream goes to the only call waiting, else nowhere (counted); closed calls get nothing", async () => {
      const pool = newPool(base + 200, base + 299, 1, { packets: 2, sdpGraceMs: 0 });
      const a: string[] = [];
      const b: string[] = [];
      const got: string[] = [];
      const natted = await peer(got, "n");
      const other = await peer(got, "o");
      // Says port 9 in its SDP, sends from elsewhere (NAT).
      const sa: RtpSocket = await pool.open("127.0.0.1", (buf) => a.push(text(buf)), {
        expect: { address: "127.0.0.1", port: 9 },
      });
      opened.push(sa);
      rtp(natted, "0", sa.port); // a stream latches on its second packet
      rtp(natted, "1", sa.port);
      await until(() => a.length === 1);
      // Latched: another source no longer reaches it.
      rtp(other, "2", sa.port);
      rtp(other, "2", sa.port);
      const sb = await pool.open("127.0.0.1", (buf) => b.push(text(buf)), { expect: { address: "127.0.0.1", port: 11 } });
      const sc = await pool.open("127.0.0.1", () => {}, { expect: { address: "127.0.0.1", port: 13 } });
      opened.push(sb, sc);
      expect(sb.port).toBe(sa.port);
      rtp(other, "3", sa.port); // two calls waiting, neither expects it: dropped
      rtp(other, "3", sa.port);
      rtp(natted, "4", sa.port);
      await until(() => a.length === 2);
      await settle(30);
      expect(a).toEqual(["1", "4"]);
      expect(b).toEqual([]);
      expect(pool.foreignDropped).toBe(4); // "2" twice (no call waiting), "3" twice (two waiting)
      sa.close();
      rtp(natted, "5", sa.port);
      await settle(30);
      expect(a).toEqual(["1", "4"]);
    });

    test("shared sockets: packets of a call that just left do not latch the only call waiting", async () => {
      const pool = newPool(base + 100, base + 199, 1, { packets: 2 });
      const got: string[] = [];
      const leaving = await peer(got, "l");
      const newcomer = await peer(got, "n");
      const leavingPort = leaving.port;
      const a: string[] = [];
      const sa = await pool.open("127.0.0.1", (buf) => a.push(text(buf)), {
        expect: { address: "127.0.0.1", port: leavingPort },
      });
      rtp(leaving, "1", sa.port);
      await until(() => a.length === 1);
      sa.close(); // hung up or moved to another node; its far end still sends a moment longer
      const b: string[] = [];
      // The new call's SDP names a private address: it waits for any continuing stream.
      const sb = await pool.open("127.0.0.1", (buf) => b.push(text(buf)), { expect: { address: "10.0.0.9", port: 4000 } });
      opened.push(sb);
      expect(sb.port).toBe(sa.port);
      for (let i = 0; i < 4; i++) rtp(leaving, "late", sb.port);
      await settle(30);
      rtp(newcomer, "mine", sb.port);
      rtp(newcomer, "mine", sb.port);
      await until(() => b.length === 1);
      expect(b).toEqual(["mine"]);
    });

    test.if(batchIo)("batched shared sockets: Bun does not read them; packets wait in the kernel until drained", async () => {
      const pool = new RtpPortPool(base + 100, base + 199, 1, {}, true);
      const got: string[] = [];
      const p = await peer(got, "p");
      const a: string[] = [];
      const sa = await pool.open("127.0.0.1", (buf) => a.push(text(buf)), { expect: { address: "127.0.0.1", port: p.port } });
      for (let i = 0; i < 3; i++) rtp(p, `${i}`, sa.port);
      await Bun.sleep(50);
      expect(a).toEqual([]);
      pool.receive();
      expect(a).toEqual(["0", "1", "2"]);
      pool.receive();
      expect(a.length).toBe(3);
    });

    test("close() frees the shared sockets' ports", async () => {
      const pool = newPool(base + 100, base + 199, 2);
      const s1 = await pool.open("127.0.0.1", () => {}, { expect: { address: "127.0.0.1", port: 7200 } });
      const s2 = await pool.open("127.0.0.1", () => {}, { expect: { address: "127.0.0.1", port: 7202 } });
      const ports = [s1.port, s2.port];
      pool.close();
      for (const port of ports) {
        const again = await Bun.udpSocket({ hostname: "127.0.0.1", port });
        opened.push(again);
        expect(again.port).toBe(port);
      }
    });

    test("shared sockets: calls from one far-end address and port never share a socket", async () => {
      const pool = newPool(base + 300, base + 399, 2);
      const from = { address: "127.0.0.1", port: 7000 };
      const s1 = await pool.open("127.0.0.1", () => {}, { expect: from });
      const s2 = await pool.open("127.0.0.1", () => {}, { expect: from });
      const s3 = await pool.open("127.0.0.1", () => {}, { expect: from });
      const s4 = await pool.open("127.0.0.1", () => {}, { expect: { address: "127.0.0.1", port: 7002 } });
      opened.push(s1, s2, s3, s4);
      expect(s1.port).not.toBe(s2.port);
      // Both shared sockets have a call from there: the third gets a socket of its own.
      expect([s1.port, s2.port]).not.toContain(s3.port);
      expect([s1.port, s2.port]).toContain(s4.port);
    });

    test("shared sockets: a far end whose call just left gets another socket, not the one it left", async () => {
      const pool = newPool(base + 300, base + 399, 2);
      const from = { address: "127.0.0.1", port: 7100 };
      const s1 = await pool.open("127.0.0.1", () => {}, { expect: from });
      const other = await pool.open("127.0.0.1", () => {}, { expect: { address: "127.0.0.1", port: 7102 } });
      opened.push(other);
      const left = s1.port;
      s1.close();
      // The far end may still map our port to the old call: the next call from it goes elsewhere.
      const s2 = await pool.open("127.0.0.1", () => {}, { expect: from });
      opened.push(s2);
      expect(s2.port).not.toBe(left);
    });
  });
}
