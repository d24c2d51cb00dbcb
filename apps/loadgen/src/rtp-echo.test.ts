/**
 * The C echo reference (reference/rtp-echo.c) behind the reference UAS, as the bench's
 * echo scenario runs it: callers that share a generator socket land on different echo
 * sockets, and each receives its own paced stream. Skipped without a C compiler.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Generator } from "./generator.ts";
import type { CallSpec } from "./generator-types.ts";
import { startReferenceUas } from "./reference-uas.ts";
import { expectWholeStreams, loopbackConfig } from "./testing/loopback.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const cc = Bun.which("cc");

test.skipIf(!cc)(
  "callers on the C echo: never two from one source on an echo socket (503 past them), each call its own stream without loss",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "rtp-echo-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const binary = join(dir, "rtp-echo");
    const built = Bun.spawnSync([cc!, "-O2", "-o", binary, join(import.meta.dir, "..", "reference", "rtp-echo.c")], {
      stderr: "pipe",
    });
    expect(built.exitCode, built.stderr.toString()).toBe(0);
    const base = 36000 + Math.floor(Math.random() * 200) * 20;
    const uas = await startReferenceUas({ rtpPortMin: base, rtpPortMax: base + 2, echo: { binary, sockets: 3 } });
    cleanups.push(() => uas.close());
    const gen = await Generator.create({
      ...loopbackConfig(uas.port, { rtpPortMin: base + 10, rtpPortMax: base + 19 }),
      // Four callers on one local socket, three echo sockets: the generator tells streams
      // apart by the echo's port, so the fourth cannot be placed.
      callsPerSocket: 4,
    });
    cleanups.push(() => gen.close());
    const specs: CallSpec[] = Array.from({ length: 4 }, (_, i) => ({
      index: i,
      fromUser: `1999100${i}`,
      toUser: "15550001111",
      digits: "1234#",
      role: i === 0 ? "host" : "participant",
      send: "silence",
      talker: i,
    }));
    await gen.place(specs, 0);
    expect(
      gen
        .report()
        .calls.map((c) => c.status)
        .sort(),
    ).toEqual([200, 200, 200, 503]);
    const ports = uas.calls().map((c) => c.rtpPort);
    expect(ports.length).toBe(3);
    expect(new Set(ports).size).toBe(3);
    for (const p of ports) expect(p >= base && p <= base + 2).toBe(true);
    await Bun.sleep(600);
    gen.resetWindow();
    await Bun.sleep(500);
    const r = gen.report();
    expectWholeStreams(r.rx, 3, 3 * 18);
  },
);
