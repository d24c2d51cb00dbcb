/**
 * A real SIP caller for end-to-end tests: baresip from Debian's packages, run headless
 * with its stdio module, playing a WAV and recording what it hears.
 * Pitfalls handled here are the ones in ../shared/design/TESTING-SIP.md.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

export interface CallerOptions {
  /** Local SIP port of the caller. */
  sipPort: number;
  /** First of 10 RTP ports the caller may use. */
  rtpPortBase: number;
  /** Frequency of the sine tone the caller sends, in Hz (0 for silence). */
  toneHz: number;
  /** User part of the caller's own address (becomes number_src). */
  user?: string;
  /** baresip codec names, e.g. "pcmu", "pcma", "g722/16000/1" or "opus/48000/2" (full names). */
  codecs?: string;
  /** Sample rate of the tone's WAV (default 8000); baresip's aufile wants the codec's (48000 for Opus). */
  sampleRate?: number;
  /** Channels of the tone's WAV (default 1; 2 for Opus, whose baresip codec is stereo). */
  channels?: number;
}

export class Baresip {
  readonly dir: string;
  private proc: Subprocess<"pipe", "pipe", "pipe"> | undefined;
  private out = "";
  private waiters: { re: RegExp; from: number; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(readonly opts: CallerOptions) {
    this.dir = mkdtempSync(join(tmpdir(), "baresip-"));
    mkdirSync(join(this.dir, "rec"));
    const wav = join(this.dir, "tone.wav");
    const synth = opts.toneHz > 0 ? ["synth", "60", "sine", String(opts.toneHz), "vol", "0.25"] : ["trim", "0", "60"];
    const rate = String(opts.sampleRate ?? 8000);
    const channels = String(opts.channels ?? 1);
    const sox = Bun.spawnSync(["sox", "-n", "-r", rate, "-c", channels, "-b", "16", wav, ...synth]);
    if (sox.exitCode !== 0) throw new Error(`sox failed: ${sox.stderr.toString()}`);
    writeFileSync(
      join(this.dir, "config"),
      [
        "poll_method epoll",
        `sip_listen 127.0.0.1:${opts.sipPort}`,
        "sip_trans_def udp",
        "audio_player aubridge,nil",
        `audio_source aufile,${wav}`,
        "audio_alert aubridge,nil",
        "module_path /usr/lib/baresip/modules",
        "module stdio.so",
        "module g711.so",
        // Codec modules only for the callers that ask for them: the others stay as they were.
        ...(/g722/i.test(opts.codecs ?? "") ? ["module g722.so"] : []),
        ...(/opus/i.test(opts.codecs ?? "") ? ["module opus.so"] : []),
        "module aufile.so",
        "module aubridge.so",
        "module sndfile.so",
        "module_app account.so",
        "module_app menu.so",
        `snd_path ${join(this.dir, "rec")}`,
        "net_interface 127.0.0.1",
        `rtp_ports ${opts.rtpPortBase}-${opts.rtpPortBase + 9}`,
        "",
      ].join("\n"),
    );
    const user = opts.user ?? `caller${opts.sipPort}`;
    writeFileSync(join(this.dir, "accounts"), `<sip:${user}@127.0.0.1>;regint=0;audio_codecs=${opts.codecs ?? "pcmu"}\n`);
  }

  /** Starts baresip and dials `uri`. */
  dial(uri: string, seconds = 60): void {
    this.proc = Bun.spawn(["baresip", "-f", this.dir, "-t", String(seconds), "-e", `/dial ${uri}`], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    void this.pump(this.proc.stdout);
    void this.pump(this.proc.stderr);
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      this.out += dec.decode(chunk);
      for (const w of [...this.waiters]) {
        const m = this.out.slice(w.from).match(w.re);
        if (m) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    }
  }

  /** Resolves when baresip prints a line matching `re` (searching from `from`). */
  waitFor(re: RegExp, timeoutMs = 10_000, from = 0): Promise<RegExpMatchArray> {
    const m = this.out.slice(from).match(re);
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const w = { re, from, resolve: (x: RegExpMatchArray) => (clearTimeout(t), resolve(x)) };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`baresip: timed out waiting for ${re}; output tail:\n${this.out.slice(-1500)}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  get output(): string {
    return this.out;
  }

  /** Sends a stdio command such as `/sndcode 1234#` or `/hangup`. */
  command(cmd: string): void {
    this.proc?.stdin.write(`${cmd}\n`);
    this.proc?.stdin.flush();
  }

  /** Keys digits as RFC 4733 events. */
  sendDigits(digits: string): void {
    this.command(`/sndcode ${digits}`);
  }

  /** Path of the WAV of what this caller heard (decoded audio). */
  recording(): string {
    const f = readdirSync(join(this.dir, "rec"))
      .filter((n) => n.endsWith("-dec.wav"))
      .sort();
    const last = f[f.length - 1];
    if (!last) throw new Error("baresip: no recording");
    return join(this.dir, "rec", last);
  }

  /** Resolves once the process has exited. */
  async exited(timeoutMs = 10_000): Promise<number | null> {
    if (!this.proc) return null;
    const timer = new Promise<null>((r) => setTimeout(() => r(null), timeoutMs));
    return Promise.race([this.proc.exited, timer]);
  }

  /** Kills the caller outright: no BYE, no more RTP (a phone that lost power). */
  kill(): void {
    this.proc?.kill("SIGKILL");
  }

  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      this.command("/quit");
      if ((await this.exited(3000)) === null) this.proc.kill("SIGKILL");
      await this.proc.exited;
    }
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
