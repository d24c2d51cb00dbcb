/**
 * Spreads calls over N generators: in Bun Workers (N >= 1) so sending and receiving
 * 50k packets/s is not bound to one event loop, or one generator in this thread (N = 0).
 */
import { Generator } from "./generator.ts";
import type { CallSpec, GeneratorConfig, GeneratorReport } from "./generator-types.ts";
import type { WorkerRequest, WorkerResponse } from "./worker.ts";

type Op = WorkerRequest extends infer R ? (R extends { op: infer O } ? O : never) : never;
type Payload<O extends Op> = Omit<Extract<WorkerRequest, { op: O }>, "id" | "op">;

interface Backend {
  call<O extends Op>(op: O, payload: Payload<O>): Promise<unknown>;
  terminate(): void;
}

class WorkerBackend implements Backend {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor() {
    this.worker = new Worker(new URL("./worker.ts", import.meta.url).href);
    this.worker.onmessage = (ev: MessageEvent<WorkerResponse>) => {
      const w = this.waiting.get(ev.data.id);
      if (!w) return;
      this.waiting.delete(ev.data.id);
      if (ev.data.ok) w.resolve(ev.data.result);
      else w.reject(new Error(ev.data.error));
    };
    this.worker.onerror = (ev) => {
      for (const w of this.waiting.values()) w.reject(new Error(`worker error: ${ev.message}`));
      this.waiting.clear();
    };
  }

  call<O extends Op>(op: O, payload: Payload<O>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, ...payload });
    });
  }

  terminate(): void {
    this.worker.terminate();
  }
}

class InlineBackend implements Backend {
  private gen: Generator | null = null;

  async call<O extends Op>(op: O, payload: Payload<O>): Promise<unknown> {
    const p = payload as Record<string, unknown>;
    if (op === "init") {
      this.gen = await Generator.create(p.cfg as GeneratorConfig);
      return null;
    }
    const g = this.gen;
    if (!g) throw new Error("generator not initialised");
    switch (op) {
      case "place":
        return g.place(p.specs as CallSpec[], p.rate as number);
      case "reset":
        return g.resetWindow();
      case "report":
        return g.report();
      case "hangup":
        return g.hangupAll(p.rate as number);
      case "close":
        g.close();
        this.gen = null;
        return null;
    }
    return null;
  }

  terminate(): void {
    this.gen?.close();
    this.gen = null;
  }
}

/** A set of generators acting as one load generator. */
export class LoadPool {
  private readonly backends: Backend[];

  private constructor(backends: Backend[]) {
    this.backends = backends;
  }

  /**
   * Start `workers` generators (0 = one generator in this thread). Each gets a disjoint
   * slice of the local RTP port range.
   */
  static async create(workers: number, cfg: GeneratorConfig): Promise<LoadPool> {
    const n = Math.max(1, workers);
    const backends: Backend[] = Array.from({ length: n }, () => (workers === 0 ? new InlineBackend() : new WorkerBackend()));
    const span = Math.floor((cfg.rtpPortMax - cfg.rtpPortMin + 1) / n);
    await Promise.all(
      backends.map((b, i) =>
        b.call("init", {
          cfg: { ...cfg, rtpPortMin: cfg.rtpPortMin + i * span, rtpPortMax: cfg.rtpPortMin + (i + 1) * span - 1 },
        }),
      ),
    );
    return new LoadPool(backends);
  }

  get size(): number {
    return this.backends.length;
  }

  /** Place calls spread round-robin over the generators, at `ratePerSec` in total. */
  async place(specs: CallSpec[], ratePerSec: number): Promise<void> {
    const n = this.backends.length;
    const parts: CallSpec[][] = Array.from({ length: n }, () => []);
    for (const [i, s] of specs.entries()) parts[i % n]!.push(s);
    await Promise.all(this.backends.map((b, i) => b.call("place", { specs: parts[i]!, rate: ratePerSec / n })));
  }

  async resetWindow(): Promise<void> {
    await Promise.all(this.backends.map((b) => b.call("reset", {})));
  }

  async reports(): Promise<GeneratorReport[]> {
    return (await Promise.all(this.backends.map((b) => b.call("report", {})))) as GeneratorReport[];
  }

  async hangupAll(ratePerSec: number): Promise<void> {
    const n = this.backends.length;
    await Promise.all(this.backends.map((b) => b.call("hangup", { rate: ratePerSec / n })));
  }

  async close(): Promise<void> {
    await Promise.all(this.backends.map((b) => b.call("close", {}).catch(() => null)));
    for (const b of this.backends) b.terminate();
  }
}
