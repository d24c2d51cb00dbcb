/**
 * What a browser leg costs per packet against a phone's, in this process: each way, one
 * 20 ms PCMU packet (12 + 160 bytes). A phone's leg: the latch's check on receive, the
 * packet as it is on send. A browser's: SRTP decrypt (werift) and the same check on
 * receive, SRTP encrypt on send, for both profiles we accept. Socket calls are the same
 * for both and left out. Prints ns per packet each way and the heap growth per packet
 * with the collector held off.
 *
 * Usage: bun run apps/mixer/src/webrtc/bench-leg.ts [packets]
 */
import { RtpLatch } from "@conf/media";
import { RtpHeader, RtpPacket, SrtpSession, type SrtpProfile } from "werift";

const N = Number(process.argv[2] ?? 200_000);

function session(profile: SrtpProfile, flip: boolean): SrtpSession {
  const key = Buffer.alloc(16, 1);
  const salt = Buffer.alloc(profile === 7 ? 12 : 14, 2);
  const key2 = Buffer.alloc(16, 3);
  const salt2 = Buffer.alloc(profile === 7 ? 12 : 14, 4);
  return new SrtpSession({
    keys: flip
      ? { localMasterKey: key2, localMasterSalt: salt2, remoteMasterKey: key, remoteMasterSalt: salt }
      : { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key2, remoteMasterSalt: salt2 },
    profile,
  });
}

function plainPackets(n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      new RtpPacket(
        new RtpHeader({ payloadType: 0, sequenceNumber: i & 0xffff, timestamp: i * 160, ssrc: 7 }),
        Buffer.alloc(160, i),
      ).serialize(),
    );
  }
  return out;
}

function time(label: string, fn: () => void): number {
  Bun.gc(true);
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = Bun.nanoseconds();
  fn();
  const ns = (Bun.nanoseconds() - t0) / N;
  const heap = (process.memoryUsage().heapUsed - heap0) / N;
  console.log(`${label.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns/packet  ~${heap.toFixed(0)} B heap/packet (before GC)`);
  return ns;
}

const plain = plainPackets(N);
const latch = new RtpLatch("127.0.0.1", 40000);
time("phone leg, receive (latch check)", () => {
  for (let i = 0; i < N; i++) latch.acceptPacket(plain[i] as Buffer, "127.0.0.1", 40000, i);
});
time("phone leg, send (as it is)", () => {
  let x = 0;
  for (let i = 0; i < N; i++) x += (plain[i] as Buffer).length;
  if (x < 0) console.log(x);
});
for (const profile of [7, 1] as SrtpProfile[]) {
  const name = profile === 7 ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80";
  const browser = session(profile, false);
  const mixer = session(profile, true);
  const encrypted = plain.map((p) => browser.encrypt(p.subarray(12), RtpHeader.deSerialize(p)));
  const latch2 = new RtpLatch("127.0.0.1", 40000);
  time(`browser leg ${name}, receive (decrypt + latch)`, () => {
    for (let i = 0; i < N; i++) latch2.acceptPacket(mixer.decrypt(encrypted[i] as Buffer), "127.0.0.1", 40000, i);
  });
  const h = new RtpHeader();
  time(`browser leg ${name}, send (encrypt)`, () => {
    for (let i = 0; i < N; i++) {
      const p = plain[i] as Buffer;
      h.payloadType = 0;
      h.sequenceNumber = i & 0xffff;
      h.timestamp = i * 160;
      h.ssrc = 9;
      mixer.encrypt(Buffer.from(p.buffer, p.byteOffset + 12, p.length - 12), h);
    }
  });
}
