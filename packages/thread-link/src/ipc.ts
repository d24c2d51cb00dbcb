/**
 * Link ports over a child process's IPC channel, for when the other end must be a
 * process of its own rather than a thread: its own heap, its own garbage collector's
 * helper threads, and a priority (nice) that covers all of its threads.
 */
import type { LinkPort } from "./link.ts";

type Listener = (event: MessageEvent) => void;

/** Listeners of a port, handed each message as a MessageEvent-like `{ data }`. */
class Listeners {
  #set = new Set<Listener>();
  add(type: string, listener: Listener): void {
    if (type === "message") this.#set.add(listener);
  }
  remove(type: string, listener: Listener): void {
    if (type === "message") this.#set.delete(listener);
  }
  deliver(data: unknown): void {
    const event = { data } as MessageEvent;
    for (const l of [...this.#set]) l(event);
  }
}

/**
 * The parent's end: pass `ipc` as Bun.spawn's `ipc` option, then `attach` the process.
 * @example
 * const port = new ChildProcessPort();
 * const child = Bun.spawn({ cmd: ["bun", "child.ts"], ipc: port.ipc, serialization: "advanced" });
 * port.attach(child);
 * const link = new ThreadLink(port);
 */
export class ChildProcessPort implements LinkPort {
  #listeners = new Listeners();
  #child: { send(message: unknown): unknown } | null = null;
  #early: unknown[] = [];

  /** Bun.spawn's `ipc` callback. */
  readonly ipc = (message: unknown): void => this.#listeners.deliver(message);

  attach(child: { send(message: unknown): unknown }): void {
    this.#child = child;
    for (const m of this.#early.splice(0)) child.send(m);
  }

  postMessage(message: unknown): void {
    if (this.#child) this.#child.send(message);
    else this.#early.push(message);
  }

  addEventListener(type: "message", listener: Listener): void {
    this.#listeners.add(type, listener);
  }

  removeEventListener(type: "message", listener: Listener): void {
    this.#listeners.remove(type, listener);
  }
}

/** The child's end: its parent, over `process.send` and the process's "message" events. */
export class ParentProcessPort implements LinkPort {
  #listeners = new Listeners();

  constructor() {
    if (typeof process.send !== "function") throw new Error("thread-link: this process has no IPC channel to a parent");
    process.on("message", (m: unknown) => this.#listeners.deliver(m));
  }

  postMessage(message: unknown): void {
    process.send?.(message);
  }

  addEventListener(type: "message", listener: Listener): void {
    this.#listeners.add(type, listener);
  }

  removeEventListener(type: "message", listener: Listener): void {
    this.#listeners.remove(type, listener);
  }
}
