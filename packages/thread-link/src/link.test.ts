import { describe, expect, test } from "bun:test";
import { ThreadLink } from "./link.ts";

function pair(timeoutMs?: number): [ThreadLink, ThreadLink, MessageChannel] {
  const ch = new MessageChannel();
  const opts = timeoutMs ? { callTimeoutMs: timeoutMs } : {};
  return [new ThreadLink(ch.port1, opts), new ThreadLink(ch.port2, opts), ch];
}

describe("ThreadLink", () => {
  test("a proxied call resolves to the exposed method's answer, with `this` bound", async () => {
    const [a, b] = pair();
    class Counter {
      n = 0;
      async add(k: number) {
        this.n += k;
        return this.n;
      }
    }
    a.expose("counter", new Counter());
    const counter = b.proxy<{ add(k: number): Promise<number> }>("counter", ["add"]);
    expect(await counter.add(2)).toBe(2);
    expect(await counter.add(3)).toBe(5);
    a.close();
    b.close();
  });

  test("takeTraffic counts calls and pushes per direction and name, then starts afresh", async () => {
    const [a, b] = pair();
    a.expose("s", { async ping() {} });
    const got = new Promise<void>((resolve) => a.onPush("t", () => resolve()));
    await b.call("s", "ping", []);
    await b.call("s", "ping", []);
    b.push("t", 1);
    await got;
    expect(Object.fromEntries(b.takeTraffic())).toEqual({ "out call s.ping": 2, "out push t": 1 });
    expect(Object.fromEntries(a.takeTraffic())).toEqual({ "in call s.ping": 2, "in push t": 1 });
    expect(b.takeTraffic().size).toBe(0);
    a.close();
    b.close();
  });

  test("errors come back with their class and message", async () => {
    const [a, b] = pair();
    a.expose("s", {
      bad() {
        throw new RangeError("offset must be positive");
      },
    });
    const err = await b.call("s", "bad", []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toBe("offset must be positive");
    a.close();
    b.close();
  });

  test("unknown services and methods, Object's own included, are refused", async () => {
    const [a, b] = pair();
    a.expose("s", { ok: () => 1 });
    await expect(b.call("nope", "ok", [])).rejects.toThrow(/no method/);
    await expect(b.call("s", "toString", [])).rejects.toThrow(/no method/);
    await expect(b.call("s", "constructor", [])).rejects.toThrow(/no method/);
    a.close();
    b.close();
  });

  test("a call the other end never answers is rejected after the timeout", async () => {
    const [a, b] = pair(50);
    a.expose("s", { hang: () => new Promise(() => {}) });
    await expect(b.call("s", "hang", [])).rejects.toThrow(/no answer in 50 ms/);
    a.close();
    b.close();
  });

  test("close rejects the calls still waiting", async () => {
    const [a, b] = pair();
    a.expose("s", { hang: () => new Promise(() => {}) });
    const p = b.call("s", "hang", []);
    b.close();
    await expect(p).rejects.toThrow(/closed/);
    a.close();
  });

  test("pushes reach every handler of their topic, in order, and stop when unsubscribed", async () => {
    const [a, b] = pair();
    const got: unknown[] = [];
    const stop = b.onPush("t", (p) => got.push(p));
    b.onPush("other", () => got.push("wrong"));
    a.push("t", 1);
    a.push("t", { x: 2 });
    await Bun.sleep(10);
    expect(got).toEqual([1, { x: 2 }]);
    stop();
    a.push("t", 3);
    await Bun.sleep(10);
    expect(got).toEqual([1, { x: 2 }]);
    a.close();
    b.close();
  });

  test("works across a real Worker thread", async () => {
    const src = `
      import { ThreadLink } from ${JSON.stringify(`${import.meta.dir}/link.ts`)};
      const link = new ThreadLink(self);
      link.expose("echo", { async twice(s) { return s + s; }, async thread() { return Bun.isMainThread; } });
    `;
    const file = `${import.meta.dir}/.link-worker-${process.pid}.ts`;
    await Bun.write(file, src);
    const worker = new Worker(file);
    try {
      const link = new ThreadLink(worker);
      const echo = link.proxy<{ twice(s: string): Promise<string>; thread(): Promise<boolean> }>("echo", ["twice", "thread"]);
      expect(await echo.twice("ab")).toBe("abab");
      expect(await echo.thread()).toBe(false);
      link.close();
    } finally {
      worker.terminate();
      await Bun.file(file).delete();
    }
  });
});
