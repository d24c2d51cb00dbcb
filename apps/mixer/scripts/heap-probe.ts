/**
 * Heap probe: what the mixer node keeps per call, and what garbage its media path makes.
 *
 * Builds what `MixerNode` builds for each call, without SIP: an RTP socket from the
 * port pool (own or shared), a `CallSession` (sender, latch, jitter buffer, DTMF
 * receiver, packet buffer), a lobby slot, then a slot in one meeting's mixer (as
 * `enterLobby` and `joinMeeting` do). Prints the JSC heap after a full GC every
 * `--step` calls, then feeds RTP through the receive path while ticking the mixers
 * and sending, and reports the allocation rate and the collections (parsed from
 * `BUN_JSC_logGC` of a child run of itself).
 *
 *   bun apps/mixer/scripts/heap-probe.ts [--calls 1000] [--step 100] [--shared 32] [--batch]
 *     [--no-te] [--traffic 5] [--feed udp|direct] [--talkers 10] [--types 15]
 *     [--cpu N] [--feeder-cpu M] [--gc-log file] [--port-min 30000]
 *
 * --shared N     RTP_SHARED_SOCKETS (0: a socket per call).
 * --batch        RTP_BATCH_IO=1: shared sockets read with recvmmsg once a tick and
 *                written with sendmmsg (with --feed udp: what Bun no longer allocates).
 * --no-te        callers without telephone-event (an in-band DTMF detector per slot).
 * --feed udp     a child process sends 50 packets/s per call over loopback: every
 *                datagram is a Buffer, an address string and an object that Bun
 *                allocates, as in production.
 * --feed direct  the probe calls `receive()` itself with one reused buffer: only the
 *                garbage of our own code remains (the child only takes the probe's
 *                packets), and 250 ticks run back to back to count it exactly.
 * --cpu N        pins the probe to core N (taskset), as the bench pins the service;
 *                --feeder-cpu pins the sender. BUN_JSC_* / BUN_GC_* settings in the
 *                environment apply to the probe only.
 * --port-min     RTP ports port-min .. port-min+5998 (the bench's service uses
 *                20000-29999 and its generator 40000 up).
 *
 * "allocated" in the summary sums JSC's "bytes allocated this cycle" of collections
 * the allocation budget triggered; collections Bun's GC timer (1 s while the heap
 * changes) or JSC's eden timer asked for do not log it.
 */
import { heapStats } from "bun:jsc";
import { parseArgs } from "node:util";
import { type CallMedia, type CallParty, CallSession } from "../src/call.ts";
import {
  ConferenceMixer,
  createMohSources,
  DtmfReceiver,
  G722Decoder,
  G722Encoder,
  InbandDtmfDetector,
  JitterBuffer,
  loadPrompts,
  PromptPlayer,
  RtpLatch,
  RtpSender,
} from "@conf/media";
import { MixGroup } from "../src/meeting.ts";
import { RtpPortPool, type RtpSocket } from "../src/rtp-socket.ts";
import type { Dialog } from "@conf/sip";

const { values: args } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    calls: { type: "string", default: "1000" },
    step: { type: "string", default: "100" },
    shared: { type: "string", default: "32" },
    batch: { type: "boolean", default: false },
    "no-te": { type: "boolean", default: false },
    traffic: { type: "string", default: "5" },
    feed: { type: "string", default: "udp" },
    talkers: { type: "string", default: "10" },
    types: { type: "string", default: "15" },
    "port-min": { type: "string", default: "30000" },
    "gc-log": { type: "string" },
    cpu: { type: "string" },
    "feeder-cpu": { type: "string" },
    child: { type: "boolean", default: false },
    silent: { type: "boolean", default: false },
    feeder: { type: "boolean", default: false },
  },
});

const MB = 1024 * 1024;
/**
 * What the probe keeps for its whole run (prompts, music, mixers, pool): held from
 * module scope, since a local the code no longer reads may be collected early, which
 * would shrink the baseline the per-call figures are taken against.
 */
const retained: unknown[] = [];
const fmt = (b: number) => `${(b / MB).toFixed(1)} MB`;

if (args.feeder) await runFeeder();
else if (args.child) await runProbe();
else await runParent();

// ---- parent: runs the probe with BUN_JSC_logGC and sums the collections per phase ----

async function runParent(): Promise<void> {
  const pin = args.cpu !== undefined ? ["taskset", "-c", args.cpu] : [];
  const child = Bun.spawn([...pin, "bun", import.meta.path, ...Bun.argv.slice(2), "--child"], {
    env: { ...process.env, BUN_JSC_logGC: "1" },
    stdout: "inherit",
    stderr: "pipe",
  });
  interface PhaseGc {
    eden: number;
    full: number;
    allocated: number;
    maxPauseMs: number;
    cycleMs: number;
    seconds: number;
  }
  const phases = new Map<string, PhaseGc>();
  let phase = "setup";
  const cur = () => {
    let p = phases.get(phase);
    if (!p) {
      p = { eden: 0, full: 0, allocated: 0, maxPauseMs: 0, cycleMs: 0, seconds: 0 };
      phases.set(phase, p);
    }
    return p;
  };
  const decoder = new TextDecoder();
  const gcLog = args["gc-log"] ? Bun.file(args["gc-log"]).writer() : null;
  let rest = "";
  for await (const chunk of child.stderr) {
    rest += decoder.decode(chunk, { stream: true });
    let nl = rest.indexOf("\n");
    while (nl >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      nl = rest.indexOf("\n");
      gcLog?.write(`${line}\n`);
      const marker = /^PROBE-PHASE (\S+) (\S+)/.exec(line);
      if (marker) {
        phase = marker[1] as string;
        cur().seconds = Number(marker[2]);
        continue;
      }
      const req = /bytes allocated this cycle: (\d+)/.exec(line);
      if (req) cur().allocated += Number(req[1]);
      if (/=> EdenCollection/.test(line)) cur().eden++;
      if (/=> FullCollection/.test(line)) cur().full++;
      // Each increment of a collection logs its own pause (p=); "(max ...)" is for the whole run.
      const pause = / p=([\d.]+)ms/.exec(line);
      if (pause) cur().maxPauseMs = Math.max(cur().maxPauseMs, Number(pause[1]));
      const cycle = /cycle ([\d.]+)ms END/.exec(line);
      if (cycle) cur().cycleMs += Number(cycle[1]);
      if (!line.startsWith("[GC") && !line.startsWith("Requesting GC") && !line.startsWith("GC END")) console.error(line);
    }
  }
  await child.exited;
  await gcLog?.end();
  console.log("\nCollections per phase (BUN_JSC_logGC; 'allocated' sums the triggers' counts):");
  for (const [name, p] of phases) {
    const rate = p.seconds > 0 ? ` = ${fmt(p.allocated / p.seconds)}/s, ${(p.eden / p.seconds).toFixed(2)} eden/s` : "";
    console.log(
      `  ${name.padEnd(10)} eden ${p.eden}, full ${p.full}, allocated ${fmt(p.allocated)}${rate}, cycles ${p.cycleMs.toFixed(0)} ms, max pause ${p.maxPauseMs.toFixed(1)} ms`,
    );
  }
  process.exit(child.exitCode ?? 0);
}

// ---- child: the probe itself ------------------------------------------------------

function snapshot(label: string, types: number, base?: ReturnType<typeof heapStats>): ReturnType<typeof heapStats> {
  Bun.gc(true);
  Bun.gc(true);
  const h = heapStats();
  const m = process.memoryUsage();
  const delta = base
    ? ` (+${fmt(h.heapSize - base.heapSize)} heap, +${fmt(h.extraMemorySize - base.extraMemorySize)} extra)`
    : "";
  console.log(
    `${label}: heapSize ${fmt(h.heapSize)}, extra ${fmt(h.extraMemorySize)}, capacity ${fmt(h.heapCapacity)}, objects ${h.objectCount}${delta}; rss ${fmt(m.rss)}, heapUsed ${fmt(m.heapUsed)}, arrayBuffers ${fmt(m.arrayBuffers)}`,
  );
  if (types > 0) {
    const top = Object.entries(h.objectTypeCounts)
      .map(([t, n]) => {
        const was = base?.objectTypeCounts[t] ?? 0;
        return [t, n, n - was] as const;
      })
      .sort((a, b) => (base ? b[2] - a[2] : b[1] - a[1]))
      .slice(0, types);
    console.log(`  ${top.map(([t, n, d]) => (base ? `${t} ${n} (+${d})` : `${t} ${n}`)).join(", ")}`);
  }
  return h;
}

function phaseMarker(name: string, seconds = 0): void {
  console.error(`PROBE-PHASE ${name} ${seconds}`);
}

async function runProbe(): Promise<void> {
  const calls = Number(args.calls);
  const step = Number(args.step);
  const sharedSockets = Number(args.shared);
  const withTe = !args["no-te"];
  const types = Number(args.types);
  const portMin = Number(args["port-min"]);
  const feedUdp = args.feed === "udp";
  console.log(
    `heap-probe: ${calls} calls, ${sharedSockets > 0 ? `${sharedSockets} shared sockets${args.batch ? " (RTP_BATCH_IO=1)" : ""}` : "a socket per call"}, ${withTe ? "telephone-event" : "in-band DTMF"}, feed ${args.feed}; bun ${Bun.version}`,
  );

  phaseMarker("setup");
  const base0 = snapshot("start", types);
  const prompts = loadPrompts();
  if (!prompts.ok) throw new Error(prompts.error);
  const afterPrompts = snapshot(`prompts (${prompts.library.totalSamples} samples)`, 0, base0);
  const moh = createMohSources();
  let mohSamples = 0;
  for (const s of moh.values()) mohSamples += s.samples.length;
  const afterMoh = snapshot(`moh sources (${mohSamples} samples)`, 0, afterPrompts);
  const lobby = new MixGroup<CallSession>(new ConferenceMixer({ mohSources: moh, mohEnabled: false }));
  const meeting = new MixGroup<CallSession>(new ConferenceMixer({ mohSources: moh, defaultMoh: "default", mohEnabled: true }));
  const pool = new RtpPortPool(portMin, portMin + 5998, sharedSockets, {}, args.batch);
  retained.push(prompts, moh, lobby, meeting, pool);
  const afterMixers = snapshot("lobby + meeting mixers, port pool", 0, afterMoh);

  // The feeder binds its sockets first: shared sockets need each caller's source port.
  // It runs with Bun's defaults: the GC settings under test are the probe's.
  const bound = Promise.withResolvers<number[]>();
  const feederEnv: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^BUN_(JSC|GC)_/.test(k)) feederEnv[k] = v;
  const feederPin = args["feeder-cpu"] !== undefined ? ["taskset", "-c", args["feeder-cpu"]] : [];
  const feederArgs = ["--feeder", "--calls", String(calls), "--talkers", String(args.talkers), ...(feedUdp ? [] : ["--silent"])];
  const feeder = Bun.spawn([...feederPin, "bun", import.meta.path, ...feederArgs], {
    env: feederEnv,
    stdout: "inherit",
    stderr: "inherit",
    ipc: (message) => bound.resolve(message as number[]),
  });
  const sources = await bound.promise;

  breakdown(calls);

  const sessions: CallSession[] = [];
  let now = performance.now();
  let last = afterMixers;
  for (let i = 0; i < calls; i++) {
    const party: CallParty = {
      from: `"Caller ${i}" <sip:+1555${String(i).padStart(7, "0")}@127.0.0.1>;tag=${i.toString(16)}`,
      to: "<sip:+15550000000@127.0.0.1>",
      displayName: `Caller ${i}`,
      callerNumber: `+1555${String(i).padStart(7, "0")}`,
      sourceAddress: "127.0.0.1",
    };
    const media: CallMedia = {
      codec: "PCMU",
      payloadType: 0,
      telephoneEventPt: withTe ? 101 : null,
      remoteAddress: "127.0.0.1",
      remotePort: sources[i] as number,
      send: true,
    };
    let call: CallSession | null = null;
    const socket: RtpSocket = await pool.open(
      "127.0.0.1",
      (buf, port, address) => {
        call?.receive(buf, port, address, performance.now());
      },
      { expect: { address: media.remoteAddress, port: media.remotePort } },
    );
    call = new CallSession(party, socket, media, new Date(), now, () => {});
    // As after the ACK and the caller's first packet (from its SDP's address): sendable.
    call.answered({ state: "confirmed" } as unknown as Dialog);
    call.latch.accept(media.remoteAddress, media.remotePort, i + 1, 0, now);
    // enterLobby, then joinMeeting: the lobby slot is freed again (its capacity stays).
    call.enterLobby(lobby);
    call.unseat();
    const role = i === 0 ? "host" : i < Number(args.talkers) ? "participant" : "listener";
    const slot = meeting.mixer.addSlot({
      codec: media.codec,
      role,
      member: true,
      input: call.jitter,
      inbandDtmf: !withTe,
      send: true,
    });
    // Seated as a joined call is (its state, which the per-packet path does not read, stays).
    call.seat(meeting, slot);
    meeting.add(call, slot);
    sessions.push(call);
    if ((i + 1) % step === 0 || i + 1 === calls) {
      const h = snapshot(`${i + 1} calls`, i + 1 === calls ? types : 0, last);
      const per = (h.heapSize - afterMixers.heapSize) / (i + 1);
      console.log(`  per call so far: ${(per / 1024).toFixed(1)} KB (heap incl. extra memory)`);
      last = h;
    }
  }
  const built = snapshot("all calls built (vs. before the calls)", types, afterMixers);

  // Traffic: packets through the receive path, the mixers ticking, every packet sent.
  const seconds = Number(args.traffic);
  if (seconds > 0) {
    feeder.send(sessions.map((c) => c.rtp.port));
    // Direct feed: one reused datagram, so only our code's garbage is left.
    const pkt = Buffer.alloc(12 + 160, 0xff);
    pkt[0] = 0x80;
    pkt[1] = 0; // PCMU
    const talkers = Number(args.talkers);
    let seq = 0;
    let ts = 0;
    const directFeed = () => {
      seq = (seq + 1) & 0xffff;
      ts = (ts + 160) >>> 0;
      for (let i = 0; i < sessions.length; i++) {
        pkt[2] = seq >> 8;
        pkt[3] = seq & 0xff;
        pkt.writeUInt32BE(ts, 4);
        pkt.writeUInt32BE(i + 1, 8);
        // Talkers speak (a loud ramp), the rest send silence.
        pkt.fill(i < talkers ? seq & 0x1f : 0xff, 12);
        (sessions[i] as CallSession).receive(pkt, sources[i] as number, "127.0.0.1", now);
      }
    };
    const mixGroup = (g: MixGroup<CallSession>) => {
      if (g.mixer.activeCount === 0) {
        g.sendCount = 0;
        return;
      }
      g.mixer.tick();
      g.takeSendList();
    };
    /** Time (ms) spent feeding, mixing and sending, summed over ticks. */
    const spent = { feed: 0, mix: 0, send: 0 };
    const tick = () => {
      now = performance.now();
      if (!feedUdp) directFeed();
      else pool.receive(); // batched sockets: what arrived since the last tick, as the clock drains them
      const t1 = performance.now();
      mixGroup(lobby);
      mixGroup(meeting);
      const t2 = performance.now();
      for (let phase = 0; phase < 4; phase++) {
        lobby.sendPhase(phase, 4);
        meeting.sendPhase(phase, 4);
        pool.flush();
      }
      const t3 = performance.now();
      spent.feed += t1 - now;
      spent.mix += t2 - t1;
      spent.send += t3 - t2;
    };
    // Warm up (JIT, buffers reach their size), then measure.
    await runTicks(tick, 1);
    if (!feedUdp) {
      // Back to back without the event loop: no timer can collect in between, so the
      // objects counted are all that this many ticks (feed, mix, send) allocated.
      const n = 250;
      for (let i = 0; i < n; i++) tick(); // the same number once more for the JIT
      Bun.gc(true);
      const b = heapStats();
      spent.feed = spent.mix = spent.send = 0;
      for (let i = 0; i < n; i++) tick();
      const a = heapStats();
      const per = (v: number) => (v / n).toFixed(2);
      const made = Object.entries(a.objectTypeCounts)
        .map(([t, c]) => [t, c - (b.objectTypeCounts[t] ?? 0)] as const)
        .filter(([, d]) => d > 0)
        .sort((x, y) => y[1] - x[1])
        .slice(0, types);
      console.log(
        `${n} ticks back to back (${n * sessions.length} packets in, ${n * sessions.length} out; ms a tick: receive ${per(spent.feed)}, mix ${per(spent.mix)}, send ${per(spent.send)}): objects made by type (heapStats' own result is ~300 of them): ${made.map(([t, d]) => `${t} +${d}`).join(", ") || "none"}`,
      );
    }
    Bun.gc(true);
    const before = heapStats();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    phaseMarker("traffic", seconds);
    const late = await runTicks(tick, seconds);
    phaseMarker("after", 0);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const received = sessions.reduce((a, c) => a + c.jitter.received, 0);
    console.log(
      `traffic ${elapsed.toFixed(1)} s: ${received} packets received in all, tick lateness p50/p99/max ${late.p50.toFixed(1)}/${late.p99.toFixed(1)}/${late.max.toFixed(1)} ms, probe CPU ${((cpu.user + cpu.system) / 10 / (elapsed * 1000)).toFixed(1)} % of a core (user ${(cpu.user / 10 / (elapsed * 1000)).toFixed(1)}, system ${(cpu.system / 10 / (elapsed * 1000)).toFixed(1)})`,
    );
    const h = heapStats();
    console.log(
      `  heap before GC: ${fmt(h.heapSize)} (was ${fmt(before.heapSize)}), objects ${h.objectCount} (was ${before.objectCount}); new objects by type:`,
    );
    const grownTypes = Object.entries(h.objectTypeCounts)
      .map(([t, n]) => [t, n - (before.objectTypeCounts[t] ?? 0)] as const)
      .filter(([, d]) => d > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, types);
    console.log(`  ${grownTypes.map(([t, d]) => `${t} +${d}`).join(", ")}`);
    snapshot("after traffic", types, built);
  }
  feeder.kill();
  for (const c of sessions) c.rtp.close();
  process.exit(0);
}

/** Heap per call of each part on its own: `calls` of it, measured after a full GC. */
function breakdown(calls: number): void {
  const keep: unknown[] = [];
  const part = (name: string, make: (i: number) => unknown) => {
    Bun.gc(true);
    const b = heapStats();
    for (let i = 0; i < calls; i++) keep.push(make(i));
    Bun.gc(true);
    const a = heapStats();
    const cells = a.objectCount - b.objectCount;
    console.log(
      `  ${name.padEnd(34)} ${((a.heapSize - b.heapSize) / calls / 1024).toFixed(2).padStart(6)} KB/call (${((a.extraMemorySize - b.extraMemorySize) / calls / 1024).toFixed(2)} KB of it typed-array storage), ${(cells / calls).toFixed(1)} cells/call`,
    );
  };
  console.log(`breakdown (${calls} of each):`);
  part("JitterBuffer", () => new JitterBuffer());
  part("DtmfReceiver", () => new DtmfReceiver());
  part("InbandDtmfDetector (no telephone-event)", () => new InbandDtmfDetector());
  part("RtpSender + RtpLatch", () => [new RtpSender({ payloadType: 0 }), new RtpLatch("127.0.0.1", 4000)]);
  part("PromptPlayer (one per mixer slot)", () => new PromptPlayer());
  part("G722Encoder + G722Decoder (G.722 slot)", () => [new G722Encoder(), new G722Decoder()]);
  const m = new ConferenceMixer({ initialCapacity: 1, maxCapacity: 4096 });
  part("mixer slot (grown by doubling)", () => m.addSlot({ codec: "PCMU" }));
  keep.length = 0;
}

/** Ticks every 20 ms (drift-corrected) for `seconds`; returns the lateness percentiles. */
async function runTicks(tick: () => void, seconds: number): Promise<{ p50: number; p99: number; max: number }> {
  const lateness: number[] = [];
  const end = performance.now() + seconds * 1000;
  let next = performance.now();
  while (next < end) {
    next += 20;
    await Bun.sleep(Math.max(0, next - performance.now()));
    lateness.push(Math.max(0, performance.now() - next));
    tick();
  }
  lateness.sort((a, b) => a - b);
  const at = (q: number) => lateness[Math.min(lateness.length - 1, Math.floor(q * lateness.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: lateness[lateness.length - 1] ?? 0 };
}

// ---- feeder: one UDP socket per caller, 50 packets/s each (or none, --silent) ----------

async function runFeeder(): Promise<void> {
  const calls = Number(args.calls);
  const talkers = Number(args.talkers);
  const sockets: import("bun").udp.Socket<"buffer">[] = [];
  for (let i = 0; i < calls; i++) sockets.push(await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {} } }));
  const start = Promise.withResolvers<number[]>();
  process.on("message", (m) => start.resolve(m as number[]));
  process.send?.(sockets.map((s) => s.port));
  const ports = await start.promise;
  // Direct feed: the sockets only take the probe's packets (no ICMP errors), sending nothing.
  if (args.silent) return;
  const pkt = new Uint8Array(12 + 160).fill(0xff);
  pkt[0] = 0x80;
  pkt[1] = 0; // PCMU
  let seq = 0;
  let ts = 0;
  let next = performance.now();
  for (;;) {
    next += 20;
    await Bun.sleep(Math.max(0, next - performance.now()));
    seq = (seq + 1) & 0xffff;
    ts = (ts + 160) >>> 0;
    pkt[2] = seq >> 8;
    pkt[3] = seq & 0xff;
    pkt[4] = ts >>> 24;
    pkt[5] = (ts >>> 16) & 0xff;
    pkt[6] = (ts >>> 8) & 0xff;
    pkt[7] = ts & 0xff;
    for (let i = 0; i < sockets.length; i++) {
      pkt[8] = 0;
      pkt[9] = 0;
      pkt[10] = (i >> 8) & 0xff;
      pkt[11] = (i + 1) & 0xff;
      pkt.fill(i < talkers ? seq & 0x1f : 0xff, 12);
      try {
        (sockets[i] as import("bun").udp.Socket<"buffer">).send(pkt, ports[i] as number, "127.0.0.1");
      } catch {}
    }
  }
}
