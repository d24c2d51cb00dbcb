/**
 * Debian's Kamailio running `deploy/kamailio/kamailio.cfg` (the documented front for
 * many mixer nodes) as the current user, in the foreground, on a loopback address:
 * its dispatcher list, control socket and runtime files in a temporary directory.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

const CONFIG = join(import.meta.dir, "..", "..", "deploy", "kamailio", "kamailio.cfg");

function binary(name: string): string | null {
  return Bun.which(name) ?? (existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : null);
}

/** Where `kamailio` and `kamcmd` are, or null when Kamailio is not installed. */
export function kamailioBinaries(): { kamailio: string; kamcmd: string } | null {
  const kamailio = binary("kamailio");
  const kamcmd = binary("kamcmd");
  return kamailio && kamcmd ? { kamailio, kamcmd } : null;
}

/** A UDP port free on `host` just now. */
export async function freeUdpPort(host: string): Promise<number> {
  const s = await Bun.udpSocket({ hostname: host, port: 0 });
  const p = s.port;
  s.close();
  return p;
}

export interface KamailioOptions {
  /** Loopback address to listen on. */
  host: string;
  /** Mixer nodes of dispatcher set 1, as SIP URIs (`sip:127.0.0.2:5070`). */
  nodes: readonly string[];
  /** Seconds between OPTIONS probes of each node. */
  pingIntervalS: number;
  /** A node that answers nothing within this is skipped, ms. */
  inviteTimeoutMs: number;
}

export class Kamailio {
  private out = "";

  private constructor(
    private readonly proc: Subprocess<"ignore", "pipe", "pipe">,
    private readonly dir: string,
    private readonly kamcmd: string,
    readonly host: string,
    readonly port: number,
  ) {
    const pump = async (s: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const c of s) this.out += dec.decode(c);
    };
    void pump(proc.stdout);
    void pump(proc.stderr);
  }

  static async start(opts: KamailioOptions): Promise<Kamailio> {
    const bins = kamailioBinaries();
    if (!bins) throw new Error("kamailio is not installed (Debian: apt-get install kamailio)");
    const dir = mkdtempSync(join(tmpdir(), "kamailio-"));
    writeFileSync(join(dir, "dispatcher.list"), opts.nodes.map((uri) => `1 ${uri}\n`).join(""));
    const port = await freeUdpPort(opts.host);
    const proc = Bun.spawn(
      [
        bins.kamailio,
        "-f",
        CONFIG,
        "-DD", // foreground, no daemon
        "-E", // log to stderr
        "-n",
        "2",
        "-m",
        "32",
        "-M",
        "4",
        "-Y",
        dir,
        "-A",
        `LISTEN=udp:${opts.host}:${port}`,
        "-A",
        `DISPATCHER_LIST="${join(dir, "dispatcher.list")}"`,
        "-A",
        `CTL_SOCKET="unix:${join(dir, "ctl")}"`,
        "-A",
        `PING_INTERVAL=${opts.pingIntervalS}`,
        "-A",
        `INVITE_TIMEOUT_MS=${opts.inviteTimeoutMs}`,
      ],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    const k = new Kamailio(proc, dir, bins.kamcmd, opts.host, port);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        await k.stop();
        throw new Error(`kamailio did not start:\n${k.output()}`);
      }
      if (existsSync(join(dir, "ctl")) && (await k.nodeFlags().catch(() => null))) return k;
      await Bun.sleep(100);
    }
  }

  output(): string {
    return this.out;
  }

  /** `kamcmd dispatcher.list` as node URI -> flags (`AP` active, `IP` inactive and probed, ...). */
  async nodeFlags(): Promise<Map<string, string>> {
    const p = Bun.spawn([this.kamcmd, "-s", `unix:${join(this.dir, "ctl")}`, "dispatcher.list"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [text, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    if (code !== 0) throw new Error(`kamcmd dispatcher.list: exit ${code}`);
    const flags = new Map<string, string>();
    for (const m of text.matchAll(/URI: (\S+)\s+FLAGS: (\S+)/g)) flags.set(m[1] as string, m[2] as string);
    return flags;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      this.proc.kill("SIGTERM");
      const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
      await this.proc.exited;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
