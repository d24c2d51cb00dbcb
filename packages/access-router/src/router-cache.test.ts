import { describe, expect, test } from "bun:test";
import type { AdmitDecision, JoinDecision, RouteDecision } from "./decision.ts";
import type { Invalidation } from "./invalidation.ts";
import { createMemoryConfig, type MemoryConfigData } from "./memory-config.ts";
import type { ConfigPort } from "./port.ts";
import { createAccessRouter } from "./router.ts";
import { DIRECT_HOST, DIRECT_PARTICIPANT, SECURED, inbound, prompt, setup, world } from "./testing/world.ts";

describe("caching", () => {
  test("number and code lookups are served from the cache", async () => {
    const { router, calls } = setup();
    for (let i = 0; i < 3; i++) {
      const ctx = await prompt(router, "15550000001");
      await router.admit(ctx, "1001");
    }
    expect(calls).toEqual({ findNumber: 1, findAccessCode: 1 });
  });

  test("a number is cached by its digits however it was written", async () => {
    const { router, calls } = setup();
    await router.route(inbound("15550000001"));
    await router.route(inbound("+1 555 000 0001"));
    await router.route(inbound("tel:+1-555-000-0001"));
    expect(calls.findNumber).toBe(1);
  });

  test("negative results are cached too", async () => {
    const { router, calls } = setup();
    const ctx = await prompt(router, "15550000001");
    for (let i = 0; i < 3; i++) {
      expect(await router.route(inbound("15559999999"))).toEqual({ kind: "refuse", reason: "unknown_number" });
      expect(await router.admit(ctx, "9999")).toEqual({ kind: "refuse", reason: "unknown_code" });
    }
    expect(calls).toEqual({ findNumber: 2, findAccessCode: 1 });
  });

  test("input that cannot be a number or code is refused without a lookup", async () => {
    const { router, calls } = setup();
    const ctx = await prompt(router, "15550000001");
    await router.route(inbound("sip:conference@example.com"));
    await router.admit(ctx, "#");
    expect(calls).toEqual({ findNumber: 1, findAccessCode: 0 });
  });

  test("entries expire after the TTL", async () => {
    let t = 1_000;
    const { router, calls } = setup({ cacheTtlMs: 100, now: () => t });
    await router.route(inbound("15550000001"));
    t += 99;
    await router.route(inbound("15550000001"));
    expect(calls.findNumber).toBe(1);
    t += 1;
    await router.route(inbound("15550000001"));
    expect(calls.findNumber).toBe(2);
  });

  test("a TTL of 0 disables caching", async () => {
    const { router, calls } = setup({ cacheTtlMs: 0 });
    await router.route(inbound("15550000001"));
    await router.route(inbound("15550000001"));
    expect(calls.findNumber).toBe(2);
  });

  test("the cache is bounded, oldest dropped first", async () => {
    const { router, calls } = setup({ cacheMaxEntries: 2 });
    for (const n of ["15550000001", "15550000002", "15550000003"]) await router.route(inbound(n));
    await router.route(inbound("15550000003"));
    await router.route(inbound("15550000002"));
    expect(calls.findNumber).toBe(3);
    await router.route(inbound("15550000001"));
    expect(calls.findNumber).toBe(4);
  });

  test("concurrent calls to one number share a lookup", async () => {
    const { router, calls } = setup();
    const ds = await Promise.all(Array.from({ length: 10 }, () => router.route(inbound("15550000005"))));
    expect(calls.findNumber).toBe(1);
    expect(new Set(ds.map((d) => (d as JoinDecision).meetingKey))).toEqual(new Set(["direct:A1:15550000005"]));
  });

  test("a port failure is not cached and reaches the caller", async () => {
    const config = createMemoryConfig(world());
    let fail = true;
    const port: ConfigPort = {
      findNumber: async (d) => {
        if (fail) throw new Error("database down");
        return config.findNumber(d);
      },
      findAccessCode: config.findAccessCode,
    };
    const router = createAccessRouter({ config: port });
    await expect(router.route(inbound("15550000001"))).rejects.toThrow("database down");
    fail = false;
    expect((await router.route(inbound("15550000001"))).kind).toBe("prompt");
  });
});

describe("invalidation after a change", () => {
  const changes: {
    name: string;
    before: { dialed: string; code?: string };
    change: (d: MemoryConfigData) => void;
    scope: Invalidation;
    expectedBefore: Partial<Record<string, unknown>>;
    expectedAfter: Partial<Record<string, unknown>>;
  }[] = [
    {
      name: "a code added to a room",
      before: { dialed: "15550000001", code: "1234" },
      change: (d) => d.meetingRooms[0]!.accessCodes.push({ accessCode: "1234", role: "participant" }),
      scope: { kind: "account", accountSid: "A1" },
      expectedBefore: { kind: "refuse", reason: "unknown_code" },
      expectedAfter: { kind: "join", meetingKey: "room:R1", role: "participant" },
    },
    {
      name: "a code removed",
      before: { dialed: "15550000001", code: "1001" },
      change: (d) => {
        d.meetingRooms[0]!.accessCodes = d.meetingRooms[0]!.accessCodes.filter((c) => c.accessCode !== "1001");
      },
      scope: { kind: "account", accountSid: "A1" },
      expectedBefore: { kind: "join", meetingKey: "room:R1" },
      expectedAfter: { kind: "refuse", reason: "unknown_code" },
    },
    {
      name: "a code's role changed",
      before: { dialed: "15550000001", code: "1003" },
      change: (d) => {
        d.meetingRooms[0]!.accessCodes[2]!.role = "host";
      },
      scope: { kind: "account", accountSid: "A1" },
      expectedBefore: { kind: "join", role: "listener" },
      expectedAfter: { kind: "join", role: "host" },
    },
    {
      name: "a room bound to a DID group",
      before: { dialed: "15550000001", code: "1001" },
      change: (d) => {
        d.meetingRooms[0]!.didGroupSid = "G2";
      },
      scope: { kind: "account", accountSid: "A1" },
      expectedBefore: { kind: "join", meetingKey: "room:R1" },
      expectedAfter: { kind: "refuse", reason: "room_not_reachable" },
    },
    {
      name: "a DID moved to another account",
      before: { dialed: "15550000001" },
      change: (d) => {
        d.dids[0]!.accountSid = "A2";
      },
      scope: { kind: "account", accountSid: "A2" },
      expectedBefore: { kind: "prompt" },
      expectedAfter: { kind: "join", meetingKey: "direct:A2:15550000001" },
    },
    {
      name: "a new DID for a number that was refused",
      before: { dialed: "15559999999" },
      change: (d) => d.dids.push({ sid: "D99", accountSid: "A2", phonenumber: "15559999999" }),
      scope: { kind: "account", accountSid: "A2" },
      expectedBefore: { kind: "refuse", reason: "unknown_number" },
      expectedAfter: { kind: "join", accountSid: "A2" },
    },
    {
      name: "the account's call flow changed",
      before: { dialed: "15550000001" },
      change: (d) => {
        d.accounts[0]!.callFlowSid = DIRECT_HOST;
      },
      scope: { kind: "account", accountSid: "A1" },
      expectedBefore: { kind: "prompt" },
      expectedAfter: { kind: "join", role: "host" },
    },
    {
      name: "the account's call flow removed",
      before: { dialed: "15550000001" },
      change: (d) => {
        d.accounts[0]!.callFlowSid = null;
      },
      scope: { kind: "all" },
      expectedBefore: { kind: "prompt" },
      expectedAfter: { kind: "refuse", reason: "no_call_flow" },
    },
    {
      name: "a prefix deleted",
      before: { dialed: "7777000" },
      change: (d) => {
        d.prefixes = d.prefixes.filter((p) => p.prefix !== "7777");
      },
      scope: { kind: "account", accountSid: "A1" },
      expectedBefore: { kind: "prompt" },
      expectedAfter: { kind: "refuse", reason: "unknown_number" },
    },
  ];

  async function run(
    router: ReturnType<typeof createAccessRouter>,
    input: { dialed: string; code?: string },
  ): Promise<RouteDecision | AdmitDecision> {
    const d = await router.route(inbound(input.dialed));
    if (input.code === undefined || d.kind !== "prompt") return d;
    return router.admit(d.context, input.code);
  }

  for (const c of changes) {
    test(c.name, async () => {
      const { router, config } = setup();
      expect(await run(router, c.before)).toMatchObject(c.expectedBefore);
      c.change(config.data);
      // Cached: the change is not seen until it is announced.
      expect(await run(router, c.before)).toMatchObject(c.expectedBefore);
      router.invalidate(c.scope);
      expect(await run(router, c.before)).toMatchObject(c.expectedAfter);
    });
  }

  test("an account's invalidation keeps other accounts' codes", async () => {
    const { router, calls } = setup();
    const a1 = await prompt(router, "15550000001");
    const a3 = await prompt(router, "15550000012");
    await router.admit(a1, "1001");
    await router.admit(a3, "4001");
    router.invalidate({ kind: "account", accountSid: "A1" });
    await router.admit(a3, "4001");
    expect(calls.findAccessCode).toBe(2);
    await router.admit(a1, "1001");
    expect(calls.findAccessCode).toBe(3);
    // Number lookups are all dropped: DIDs can move between accounts.
    await router.route(inbound("15550000012"));
    expect(calls.findNumber).toBe(3);
  });

  test("a lookup in flight during an invalidation is not cached", async () => {
    const config = createMemoryConfig(world());
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let n = 0;
    const port: ConfigPort = {
      findNumber: async (d) => {
        n++;
        const answer = await config.findNumber(d); // read before the change
        if (n === 1) await gate;
        return answer;
      },
      findAccessCode: config.findAccessCode,
    };
    const router = createAccessRouter({ config: port });
    const pending = router.route(inbound("15550000001"));
    config.data.accounts[0]!.callFlowSid = DIRECT_HOST;
    router.invalidate({ kind: "account", accountSid: "A1" });
    release();
    expect((await pending).kind).toBe("prompt");
    expect(await router.route(inbound("15550000001"))).toMatchObject({ kind: "join", role: "host" });
    expect(n).toBe(2);
  });

  test("subscribed invalidations reach every router; close unsubscribes", async () => {
    const handlers = new Set<(s: Invalidation) => void>();
    const bus = {
      subscribe: (h: (s: Invalidation) => void) => {
        handlers.add(h);
        return () => handlers.delete(h);
      },
      publish: (s: unknown) => {
        for (const h of handlers) h(s as Invalidation);
      },
    };
    const config = createMemoryConfig(world());
    const routers = [1, 2].map(() => createAccessRouter({ config, subscribe: bus.subscribe }));
    for (const r of routers) expect((await r.route(inbound("15550000001"))).kind).toBe("prompt");
    config.data.accounts[0]!.callFlowSid = DIRECT_PARTICIPANT;
    bus.publish({ kind: "account", accountSid: "A1" });
    for (const r of routers) expect(await r.route(inbound("15550000001"))).toMatchObject({ kind: "join", role: "participant" });

    config.data.accounts[0]!.callFlowSid = DIRECT_HOST;
    bus.publish("not json at all"); // unreadable: drop everything
    for (const r of routers) expect(await r.route(inbound("15550000001"))).toMatchObject({ kind: "join", role: "host" });

    routers[0]!.close();
    routers[0]!.close();
    expect(handlers.size).toBe(1);
    config.data.accounts[0]!.callFlowSid = SECURED;
    bus.publish({ kind: "all" });
    expect(await routers[0]!.route(inbound("15550000001"))).toMatchObject({ kind: "join", role: "host" });
    expect((await routers[1]!.route(inbound("15550000001"))).kind).toBe("prompt");
  });
});

describe("asynchronous subscription (as Bus.subscribe)", () => {
  function asyncBus() {
    const handlers = new Set<(s: Invalidation) => void>();
    let resolveSub: () => void = () => {};
    let rejectSub: (e: Error) => void = () => {};
    const subscribed = new Promise<void>((res, rej) => {
      resolveSub = res;
      rejectSub = rej;
    });
    let unsubscribed = 0;
    return {
      handlers,
      resolveSub: () => resolveSub(),
      rejectSub: (e: Error) => rejectSub(e),
      get unsubscribed() {
        return unsubscribed;
      },
      subscribe: async (h: (s: Invalidation) => void) => {
        await subscribed;
        handlers.add(h);
        return async () => {
          unsubscribed++;
          handlers.delete(h);
        };
      },
    };
  }

  test("nothing is cached until the subscription is active, then the cache starts empty", async () => {
    const bus = asyncBus();
    const { router, calls } = setup({ subscribe: bus.subscribe });
    await router.route(inbound("15550000001"));
    await router.route(inbound("15550000001"));
    expect(calls.findNumber).toBe(2);
    bus.resolveSub();
    await router.ready;
    expect(bus.handlers.size).toBe(1);
    await router.route(inbound("15550000001"));
    await router.route(inbound("15550000001"));
    expect(calls.findNumber).toBe(3);
  });

  test("a lookup in flight when the subscription becomes active is not cached", async () => {
    const bus = asyncBus();
    const config = createMemoryConfig(world());
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let n = 0;
    const router = createAccessRouter({
      config: {
        findNumber: async (d) => {
          n++;
          const answer = await config.findNumber(d);
          if (n === 1) await gate;
          return answer;
        },
        findAccessCode: config.findAccessCode,
      },
      subscribe: bus.subscribe,
    });
    const pending = router.route(inbound("15550000001"));
    bus.resolveSub();
    await router.ready;
    release();
    await pending;
    await router.route(inbound("15550000001"));
    expect(n).toBe(2);
  });

  test("a failed subscription leaves the router working without a cache", async () => {
    const bus = asyncBus();
    const { router, calls } = setup({ subscribe: bus.subscribe });
    bus.rejectSub(new Error("redis down"));
    await expect(router.ready).rejects.toThrow("redis down");
    for (let i = 0; i < 3; i++) expect((await router.route(inbound("15550000001"))).kind).toBe("prompt");
    expect(calls.findNumber).toBe(3);
  });

  test("closing before the subscription is active unsubscribes once it is", async () => {
    const bus = asyncBus();
    const { router } = setup({ subscribe: bus.subscribe });
    router.close();
    bus.resolveSub();
    await router.ready;
    expect(bus.unsubscribed).toBe(1);
  });

  test("without subscribe the router is ready at once", async () => {
    const { router } = setup();
    await router.ready;
  });
});
