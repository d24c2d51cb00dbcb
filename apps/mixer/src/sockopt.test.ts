import { expect, test } from "bun:test";
import { enlargeReceiveBuffer, fdOf, receiveBufferSize } from "./sockopt.ts";

test("a UDP socket's receive buffer grows to what was asked (Linux; beyond rmem_max only as root)", async () => {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  try {
    const before = receiveBufferSize(fdOf(s));
    if (before === null) return; // not Linux with glibc: nothing to check
    const got = enlargeReceiveBuffer(fdOf(s), 1024 * 1024);
    expect(got).not.toBeNull();
    expect(got as number).toBeGreaterThanOrEqual(before);
    const root = process.getuid?.() === 0;
    if (root) expect(got as number).toBeGreaterThanOrEqual(1024 * 1024);
  } finally {
    s.close();
  }
});

test("a bad descriptor is refused without a throw", () => {
  expect(enlargeReceiveBuffer(-1, 1024)).toBeNull();
});
