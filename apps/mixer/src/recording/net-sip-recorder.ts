/**
 * A SIP recording server for tests of remote recording (`@conf/mixer/testing/net-sip-recorder`):
 * the Net::SIP fixture `fixtures/net-sip-recorder.pl` (Debian libnet-sip-perl) run as a
 * process on 127.0.0.1. It answers one call (or refuses it with 486) and writes every RTP
 * packet it receives to a file; its output says what happened (LISTEN, INVITE,
 * ESTABLISHED, BYE RECEIVED). The mixer's own tests and the end-to-end tests share it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { WaveFile } from "wavefile";

const SCRIPT = join(import.meta.dir, "fixtures", "net-sip-recorder.pl");

/** Whether perl with Net::SIP is installed. */
export const hasNetSip = Bun.spawnSync(["perl", "-MNet::SIP", "-e", "1"], { stderr: "ignore", stdout: "ignore" }).exitCode === 0;

/** One received RTP packet. */
export interface RecordedPacket {
  /** Arrival time, seconds since the epoch. */
  at: number;
  seq: number;
  ts: number;
  pt: number;
  payload: Uint8Array;
}

/** How the recorder answers: 200 with PCMU or PCMA, or 486 Busy Here. */
export type RecorderMode = "pcmu" | "pcma" | "busy";

export class NetSipRecorder {
  /** Its stdout and stderr, line by line, as they come. */
  readonly lines: string[] = [];
  port = 0;
  private readonly reading: Promise<void>;
  private readonly timer: ReturnType<typeof setTimeout>;

  private constructor(
    private readonly proc: Subprocess<"ignore", "pipe", "pipe">,
    readonly outfile: string,
    seconds: number,
  ) {
    // The script gives up after `seconds`; this is the net under it.
    this.timer = setTimeout(() => proc.kill(), seconds * 1000 + 1500);
    this.reading = Promise.all([this.read(proc.stdout), this.read(proc.stderr)]).then(() => {});
  }

  /**
   * Starts a recorder that gives up after `seconds`; resolves once it listens.
   * @example
   * const peer = await NetSipRecorder.start(join(dir, "rtp.txt"), 8, "pcma");
   */
  static async start(outfile: string, seconds = 8, mode: RecorderMode = "pcmu"): Promise<NetSipRecorder> {
    const proc = Bun.spawn(["perl", SCRIPT, mode, outfile, String(seconds)], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const r = new NetSipRecorder(proc, outfile, seconds);
    const listen = await r.waitLine(/^LISTEN (\d+)$/, 5000);
    r.port = Number(listen[1]);
    return r;
  }

  private async read(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      buf += dec.decode(chunk);
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      this.lines.push(...parts);
    }
  }

  /** Resolves with the first output line matching `re`. */
  async waitLine(re: RegExp, timeoutMs = 5000): Promise<RegExpMatchArray> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      for (const l of this.lines) {
        const m = re.exec(l);
        if (m) return m;
      }
      if (performance.now() > end) throw new Error(`Net::SIP recorder: no line ${re} in ${JSON.stringify(this.lines)}`);
      await Bun.sleep(10);
    }
  }

  /** Waits for the process to end by itself (all its output read); its exit code. */
  async exit(): Promise<number> {
    const code = await this.proc.exited;
    await this.reading;
    clearTimeout(this.timer);
    return code;
  }

  /** Kills the process now. */
  kill(): void {
    clearTimeout(this.timer);
    this.proc.kill();
  }

  /** Stops the recorder if it is still running. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    if (this.proc.exitCode === null) this.proc.kill();
    await this.proc.exited;
  }

  /** The RTP packets received so far, in arrival order. */
  packets(): RecordedPacket[] {
    let text = "";
    try {
      text = readFileSync(this.outfile, "utf8");
    } catch {
      return [];
    }
    return text
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => {
        const [at, seq, ts, pt, hex] = l.split(" ");
        return {
          at: Number(at),
          seq: Number(seq),
          ts: Number(ts),
          pt: Number(pt),
          payload: new Uint8Array(Buffer.from(hex ?? "", "hex")),
        };
      });
  }

  /** The audio of PCMU packets (payload type 0), decoded to 8 kHz samples. */
  audio(): Int16Array {
    const bytes = this.packets()
      .filter((p) => p.pt === 0)
      .flatMap((p) => Array.from(p.payload));
    if (bytes.length === 0) return new Int16Array(0);
    const wav = new WaveFile();
    wav.fromScratch(1, 8000, "8m", bytes);
    wav.fromMuLaw();
    return wav.getSamples(false, Int16Array) as unknown as Int16Array;
  }
}
