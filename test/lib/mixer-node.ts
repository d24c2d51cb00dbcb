/**
 * One more mixer node of a running service (`bun run start:mixer`): same database and
 * live store, its own SIP address and RTP ports, as an operator adds nodes.
 */
import { textLines } from "@conf/log";
import type { Subprocess } from "bun";
import { join } from "node:path";
import type { Service } from "./service.ts";
import { eventually } from "./service.ts";

const MAIN = join(import.meta.dir, "..", "..", "apps", "mixer", "src", "main.ts");

export interface MixerNodeOptions {
  nodeId: string;
  /** Address SIP and RTP bind to and advertise. */
  host: string;
  rtpPortMin: number;
  rtpPortMax: number;
  env?: Record<string, string>;
}

export class MixerNode {
  private out = "";
  private stopping = false;

  private constructor(
    private readonly proc: Subprocess<"ignore", "pipe", "pipe">,
    readonly nodeId: string,
    readonly host: string,
  ) {
    const pump = async (s: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const c of s) this.out += dec.decode(c);
    };
    void pump(proc.stdout);
    void pump(proc.stderr);
    void proc.exited.then((code) => {
      if (!this.stopping) console.error(`mixer node ${nodeId} exited (code ${code}):\n${this.output().slice(-3000)}`);
    });
  }

  /** Starts the node and waits until it says where SIP listens. */
  static async start(svc: Service, opts: MixerNodeOptions): Promise<{ node: MixerNode; sipPort: number }> {
    const proc = Bun.spawn(["bun", "run", MAIN], {
      env: {
        ...process.env,
        ...svc.backing,
        SIP_HOST: opts.host,
        SIP_PORT: "0",
        RTP_PORT_MIN: String(opts.rtpPortMin),
        RTP_PORT_MAX: String(opts.rtpPortMax),
        NODE_ID: opts.nodeId,
        // Browsers' SIP over WebSocket on a port of its own (5066 may be another node's).
        SIP_WS_PORT: "0",
        ...opts.env,
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const node = new MixerNode(proc, opts.nodeId, opts.host);
    const re = new RegExp(`SIP on udp ${opts.host.replaceAll(".", "\\.")}:(\\d+)`);
    const m = await eventually(
      async () => {
        if (proc.exitCode !== null) throw new Error(`mixer node ${opts.nodeId} did not start:\n${node.output()}`);
        return node.output().match(re);
      },
      30_000,
      `mixer node ${opts.nodeId}`,
    );
    return { node, sipPort: Number(m[1]) };
  }

  /** Whether its process still runs. */
  get running(): boolean {
    return this.proc.exitCode === null;
  }

  /** Its log as `module: message` lines. */
  output(): string {
    return textLines(this.out);
  }

  /** SIGTERM (a clean stop: its own calls get BYE) and wait for the exit. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    this.stopping = true;
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await this.proc.exited;
    clearTimeout(t);
  }
}
