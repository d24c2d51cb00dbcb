/**
 * A SIP recording server for end-to-end tests of remote recording: the mixer's Net::SIP
 * fixture (apps/mixer/src/recording/fixtures/net-sip-recorder.pl, Debian libnet-sip-perl)
 * run as a process on 127.0.0.1. It answers one call and writes every RTP packet it
 * receives to a file; its stdout says what happened (LISTEN, INVITE, ESTABLISHED, BYE RECEIVED).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { WaveFile } from "wavefile";

const SCRIPT = join(import.meta.dir, "..", "..", "apps", "mixer", "src", "recording", "fixtures", "net-sip-recorder.pl");

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

export class NetSipRecorder {
  readonly lines: string[] = [];
  port = 0;
  private buf = "";

  private constructor(
    private readonly proc: Subprocess<"ignore", "pipe", "pipe">,
    readonly outfile: string,
  ) {
    void this.read(proc.stdout);
    void this.read(proc.stderr);
  }

  /** Starts a recorder answering PCMU that gives up after `seconds`; resolves once it listens. */
  static async start(outfile: string, seconds: number): Promise<NetSipRecorder> {
    const proc = Bun.spawn(["perl", SCRIPT, "pcmu", outfile, String(seconds)], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const r = new NetSipRecorder(proc, outfile);
    const listen = await r.waitLine(/^LISTEN (\d+)$/, 5000);
    r.port = Number(listen[1]);
    return r;
  }

  private async read(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      this.buf += dec.decode(chunk);
      const parts = this.buf.split("\n");
      this.buf = parts.pop() ?? "";
      this.lines.push(...parts);
    }
  }

  /** Resolves with the first stdout (or stderr) line matching `re`. */
  async waitLine(re: RegExp, timeoutMs = 5000): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      for (const l of this.lines) {
        const m = re.exec(l);
        if (m) return m;
      }
      if (Date.now() > end) throw new Error(`Net::SIP recorder: no line ${re} in ${JSON.stringify(this.lines)}`);
      await Bun.sleep(20);
    }
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

  /** Stops the recorder if it is still running. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null) this.proc.kill();
    await this.proc.exited;
  }
}
