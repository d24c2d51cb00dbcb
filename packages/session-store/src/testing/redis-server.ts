/**
 * A redis-server of a test's own, on a free port, that the test may kill, restart and
 * freeze (tests of what happens when Redis goes away must not do that to the shared one).
 * Nothing is kept on disk, as in production: a restarted server is empty.
 */
import type { Subprocess } from "bun";
import { Socket } from "node:net";

/** A TCP port free right now on 127.0.0.1. */
async function freeTcpPort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/** Resolves once something accepts TCP connections on the port. */
async function untilListening(port: number, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
      s.connect(port, "127.0.0.1");
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`redis-server did not listen on ${port}`);
    await Bun.sleep(20);
  }
}

export class OwnRedis {
  #proc: Subprocess | null = null;
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OwnRedis> {
    const r = new OwnRedis(await freeTcpPort());
    await r.#spawn();
    return r;
  }

  async #spawn(): Promise<void> {
    this.#proc = Bun.spawn(
      ["redis-server", "--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdout: "ignore", stderr: "ignore" },
    );
    await untilListening(this.port);
  }

  /** SIGKILL, then a new empty server on the same port. */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  async kill(): Promise<void> {
    const p = this.#proc;
    this.#proc = null;
    if (!p) return;
    p.kill("SIGKILL");
    await p.exited;
  }

  /** SIGSTOP: the server keeps its connections open but answers nothing. */
  freeze(): void {
    this.#proc?.kill("SIGSTOP");
  }

  thaw(): void {
    this.#proc?.kill("SIGCONT");
  }

  async stop(): Promise<void> {
    this.thaw();
    await this.kill();
  }
}
