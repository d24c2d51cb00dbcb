import { afterEach, describe, expect, test } from "bun:test";
import type { udp } from "bun";
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

async function until(ok: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(5);
  }
}

const base = 38000 + Math.floor(Math.random() * 400) * 4;

describe("RtpPortPool", () => {
  test("a socket per call: distinct even ports, packets to their own handler", async () => {
    const pool = new RtpPortPool(base, base + 99);
    const a: string[] = [];
    const b: string[] = [];
    const sa = await pool.open("127.0.0.1", (buf) => a.push(buf.toString()));
    const sb = await pool.open("127.0.0.1", (buf) => b.push(buf.toString()));
    opened.push(sa, sb);
    expect(sa.port % 2).toBe(0);
    expect(sa.port).not.toBe(sb.port);
    const got: string[] = [];
    const p = await peer(got, "p");
    p.send("x", sa.port, "127.0.0.1");
    p.send("y", sb.port, "127.0.0.1");
    await until(() => a.length === 1 && b.length === 1);
    sa.send(new TextEncoder().encode("back"), p.port, "127.0.0.1");
    await until(() => got.length === 1);
    expect(got).toEqual(["p:back"]);
  });

  test("shared sockets: calls told apart by source, sends leave on flush", async () => {
    const pool = new RtpPortPool(base + 100, base + 199, 1);
    const a: string[] = [];
    const b: string[] = [];
    const got: string[] = [];
    const pa = await peer(got, "a");
    const pb = await peer(got, "b");
    const sa = await pool.open("127.0.0.1", (buf) => a.push(buf.toString()), { expect: { address: "127.0.0.1", port: pa.port } });
    const sb = await pool.open("127.0.0.1", (buf) => b.push(buf.toString()), { expect: { address: "127.0.0.1", port: pb.port } });
    opened.push(sa, sb);
    expect(sa.port).toBe(sb.port);
    pb.send("1", sb.port, "127.0.0.1");
    pa.send("2", sa.port, "127.0.0.1");
    pb.send("3", sb.port, "127.0.0.1");
    await until(() => a.length + b.length === 3);
    expect(a).toEqual(["2"]);
    expect(b).toEqual(["1", "3"]);
    sa.send(new TextEncoder().encode("to-a"), pa.port, "127.0.0.1");
    sb.send(new TextEncoder().encode("to-b"), pb.port, "127.0.0.1");
    await Bun.sleep(30);
    expect(got).toEqual([]); // queued until the tick's flush
    pool.flush();
    await until(() => got.length === 2);
    expect(got.sort()).toEqual(["a:to-a", "b:to-b"]);
  });

  test("shared sockets: a stranger goes to the only call waiting, else nowhere; closed calls get nothing", async () => {
    const pool = new RtpPortPool(base + 200, base + 299, 1);
    const a: string[] = [];
    const b: string[] = [];
    const got: string[] = [];
    const natted = await peer(got, "n");
    const other = await peer(got, "o");
    // Says port 9 in its SDP, sends from elsewhere (NAT).
    const sa: RtpSocket = await pool.open("127.0.0.1", (buf) => a.push(buf.toString()), { expect: { address: "127.0.0.1", port: 9 } });
    opened.push(sa);
    natted.send("1", sa.port, "127.0.0.1");
    await until(() => a.length === 1);
    // Latched: another source no longer reaches it.
    other.send("2", sa.port, "127.0.0.1");
    const sb = await pool.open("127.0.0.1", (buf) => b.push(buf.toString()), { expect: { address: "127.0.0.1", port: 11 } });
    const sc = await pool.open("127.0.0.1", () => {}, { expect: { address: "127.0.0.1", port: 13 } });
    opened.push(sb, sc);
    expect(sb.port).toBe(sa.port);
    other.send("3", sa.port, "127.0.0.1"); // two calls waiting, neither expects it: dropped
    natted.send("4", sa.port, "127.0.0.1");
    await until(() => a.length === 2);
    await Bun.sleep(30);
    expect(a).toEqual(["1", "4"]);
    expect(b).toEqual([]);
    sa.close();
    natted.send("5", sa.port, "127.0.0.1");
    await Bun.sleep(30);
    expect(a).toEqual(["1", "4"]);
  });

  test("shared sockets: packets of a call that just left do not latch the only call waiting", async () => {
    const pool = new RtpPortPool(base + 100, base + 199, 1);
    const got: string[] = [];
    const leaving = await peer(got, "l");
    const newcomer = await peer(got, "n");
    const leavingPort = leaving.port;
    const a: string[] = [];
    const sa = await pool.open("127.0.0.1", (buf) => a.push(buf.toString()), { expect: { address: "127.0.0.1", port: leavingPort } });
    leaving.send("1", sa.port, "127.0.0.1");
    await until(() => a.length === 1);
    sa.close(); // hung up or moved to another node; its far end still sends a moment longer
    const b: string[] = [];
    // The new call's SDP names a private address: it waits for any first packet.
    const sb = await pool.open("127.0.0.1", (buf) => b.push(buf.toString()), { expect: { address: "10.0.0.9", port: 4000 } });
    opened.push(sb);
    expect(sb.port).toBe(sa.port);
    leaving.send("late", sb.port, "127.0.0.1");
    await Bun.sleep(30);
    newcomer.send("mine", sb.port, "127.0.0.1");
    await until(() => b.length === 1);
    expect(b).toEqual(["mine"]);
  });

  test("shared sockets: calls from one far-end address and port never share a socket", async () => {
    const pool = new RtpPortPool(base + 300, base + 399, 2);
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
    const pool = new RtpPortPool(base + 300, base + 399, 2);
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
