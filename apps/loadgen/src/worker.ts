/**
 * Bun Worker entry hosting one Generator, driven by request/response messages from a
 * LoadPool in the main thread.
 */
import { Generator } from "./generator.ts";
import type { CallSpec, GeneratorConfig } from "./generator-types.ts";

declare const self: Worker;

/** Requests the pool sends. */
export type WorkerRequest =
  | { id: number; op: "init"; cfg: GeneratorConfig }
  | { id: number; op: "place"; specs: CallSpec[]; rate: number }
  | { id: number; op: "reset" }
  | { id: number; op: "report" }
  | { id: number; op: "hangup"; rate: number }
  | { id: number; op: "close" };

export type WorkerResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

let gen: Generator | null = null;

async function handle(req: WorkerRequest): Promise<unknown> {
  if (req.op === "init") {
    gen = await Generator.create(req.cfg);
    return null;
  }
  if (!gen) throw new Error("worker not initialised");
  switch (req.op) {
    case "place":
      await gen.place(req.specs, req.rate);
      return null;
    case "reset":
      gen.resetWindow();
      return null;
    case "report":
      return gen.report();
    case "hangup":
      await gen.hangupAll(req.rate);
      return null;
    case "close":
      gen.close();
      gen = null;
      return null;
  }
}

self.onmessage = (ev: MessageEvent<WorkerRequest>) => {
  const req = ev.data;
  handle(req).then(
    (result) => self.postMessage({ id: req.id, ok: true, result } satisfies WorkerResponse),
    (e: unknown) => self.postMessage({ id: req.id, ok: false, error: String(e) } satisfies WorkerResponse),
  );
};
