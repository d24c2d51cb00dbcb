/**
 * Request/response and push messages between two threads over one port. Written here
 * rather than taken from a library (comlink and the like) because those lean on Proxy
 * objects and transfer handlers the way browsers do, and what we need is smaller: named
 * services with a fixed list of async methods, errors that keep their class name, a
 * timeout so a dead peer cannot hang a caller, and push topics for pub/sub.
 */

/** What a link needs of a port: `MessagePort`, `Worker` and a worker's `self` all fit. */
export interface LinkPort {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (event: MessageEvent) => void): void;
}

export interface ThreadLinkOptions {
  /** A call unanswered after this many ms is rejected. Default 10000. */
  readonly callTimeoutMs?: number;
}

type Method = (...args: never[]) => unknown;

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

type Wire =
  | { readonly k: "call"; readonly id: number; readonly s: string; readonly m: string; readonly a: unknown[] }
  | { readonly k: "ok"; readonly id: number; readonly v: unknown }
  | { readonly k: "err"; readonly id: number; readonly name: string; readonly message: string }
  | { readonly k: "push"; readonly t: string; readonly p: unknown };

const ERROR_CLASSES: Record<string, new (message: string) => Error> = {
  RangeError,
  TypeError,
  SyntaxError,
};

function isWire(v: unknown): v is Wire {
  if (typeof v !== "object" || v === null) return false;
  const k = (v as { k?: unknown }).k;
  return k === "call" || k === "ok" || k === "err" || k === "push";
}

/**
 * One end of a link. Both ends may expose services and call the other's.
 * @example
 * // thread A
 * new ThreadLink(port).expose("clock", { async now() { return Date.now(); } });
 * // thread B
 * const clock = new ThreadLink(otherPort).proxy<{ now(): Promise<number> }>("clock", ["now"]);
 * await clock.now();
 */
export class ThreadLink {
  #port: LinkPort;
  #timeoutMs: number;
  #services = new Map<string, Record<string, Method>>();
  #pending = new Map<number, Pending>();
  #topics = new Map<string, Set<(payload: unknown) => void>>();
  #nextId = 1;
  #closed = false;
  /** Messages per direction, kind and method or topic since the last {@link takeTraffic}. */
  #traffic = new Map<string, number>();
  #listener = (event: MessageEvent) => this.#receive(event.data);

  constructor(port: LinkPort, options: ThreadLinkOptions = {}) {
    this.#port = port;
    this.#timeoutMs = options.callTimeoutMs ?? 10_000;
    port.addEventListener("message", this.#listener);
    // A MessagePort delivers nothing until started; addEventListener alone does not start it.
    (port as { start?: () => void }).start?.();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Answers calls to `service` from the other end with `impl`'s methods. */
  expose(service: string, impl: object): void {
    this.#services.set(service, impl as Record<string, Method>);
  }

  /**
   * An object whose `methods` call `service` on the other end and resolve to its answers
   * (rejected after `timeoutMs`, default the link's).
   */
  proxy<T extends object>(service: string, methods: readonly (keyof T & string)[], timeoutMs?: number): T {
    const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const m of methods) out[m] = (...args: unknown[]) => this.call(service, m, args, timeoutMs);
    return out as T;
  }

  /** Calls `method` of `service` on the other end. */
  call(service: string, method: string, args: unknown[], timeoutMs = this.#timeoutMs): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error("thread-link: closed"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`thread-link: ${service}.${method} got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#count(`out call ${service}.${method}`);
      this.#send({ k: "call", id, s: service, m: method, a: args });
    });
  }

  /** Sends `payload` to the other end's handlers of `topic`. */
  push(topic: string, payload: unknown): void {
    if (this.#closed) return;
    this.#count(`out push ${topic}`);
    this.#send({ k: "push", t: topic, p: payload });
  }

  /** Calls `fn` with each payload pushed on `topic` by the other end; returns the function that stops it. */
  onPush(topic: string, fn: (payload: unknown) => void): () => void {
    let set = this.#topics.get(topic);
    if (!set) this.#topics.set(topic, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
    };
  }

  /**
   * What crossed the link since the last call, per "out|in call|push service.method|topic"
   * (answers are not counted: one per call), then starts counting afresh. Its operators
   * see in the stats log what one side asks of the other.
   */
  takeTraffic(): Map<string, number> {
    const out = this.#traffic;
    this.#traffic = new Map();
    return out;
  }

  #count(key: string): void {
    this.#traffic.set(key, (this.#traffic.get(key) ?? 0) + 1);
  }

  /** Stops listening and rejects every call still waiting. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.removeEventListener("message", this.#listener);
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error("thread-link: closed"));
    }
    this.#pending.clear();
  }

  #send(message: Wire): void {
    this.#port.postMessage(message);
  }

  #receive(data: unknown): void {
    if (this.#closed || !isWire(data)) return;
    switch (data.k) {
      case "call":
        this.#count(`in call ${data.s}.${data.m}`);
        void this.#answer(data.id, data.s, data.m, data.a);
        return;
      case "ok":
      case "err": {
        const p = this.#pending.get(data.id);
        if (!p) return;
        this.#pending.delete(data.id);
        clearTimeout(p.timer);
        if (data.k === "ok") p.resolve(data.v);
        else p.reject(new (ERROR_CLASSES[data.name] ?? Error)(data.message));
        return;
      }
      case "push":
        this.#count(`in push ${data.t}`);
        for (const fn of this.#topics.get(data.t) ?? []) {
          try {
            fn(data.p);
          } catch (err) {
            console.error("thread-link: push handler failed:", err);
          }
        }
    }
  }

  async #answer(id: number, service: string, method: string, args: unknown): Promise<void> {
    try {
      const impl = this.#services.get(service);
      // The other end is our own code, but only named services answer, never Object's methods.
      const fn = impl && method !== "constructor" && !(method in Object.prototype) ? impl[method] : undefined;
      if (typeof fn !== "function" || !Array.isArray(args)) throw new Error(`thread-link: no method ${service}.${method}`);
      const value = await (fn as (...a: unknown[]) => unknown).apply(impl, args);
      if (!this.#closed) this.#send({ k: "ok", id, v: value });
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (!this.#closed) this.#send({ k: "err", id, name: e.name, message: e.message });
    }
  }
}
