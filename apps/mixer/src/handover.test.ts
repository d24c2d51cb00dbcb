import { describe, expect, test } from "bun:test";
import { MeetingPlacement } from "./handover.ts";
import { handoverOfferSchema, samplesFromBase64, samplesToBase64 } from "./handover-messages.ts";
import { join } from "node:path";
import { splitPortRange, workersUnsupported } from "./workers.ts";
import { mixerEnvSchema } from "./env.ts";

describe("MeetingPlacement", () => {
  test("new meetings go round robin; callers of a meeting being set up follow its first", () => {
    const p = new MeetingPlacement(() => ["w1", "w2"]);
    expect(p.place("room:a", 0)).toBe("w1");
    expect(p.place("room:b", 1)).toBe("w2");
    expect(p.place("room:a", 2)).toBe("w1");
    expect(p.place("room:c", 3)).toBe("w1");
  });

  test("a new meeting goes to the node carrying the fewest handed-over calls", () => {
    const p = new MeetingPlacement(() => ["w1", "w2", "w3"]);
    p.count("w1", 500);
    p.count("w2", 3);
    p.count("w3", 40);
    expect(p.place("room:a", 0)).toBe("w2");
    p.count("w2", 100);
    expect(p.place("room:b", 1)).toBe("w3");
    p.count("w1", -500);
    expect(p.place("room:c", 2)).toBe("w1");
    expect(p.place("room:a", 3)).toBe("w2"); // still being set up: stays
  });

  test("a remembered node that stopped is not used; forget places afresh", () => {
    let nodes = ["w1", "w2"];
    const p = new MeetingPlacement(() => nodes);
    expect(p.place("room:a", 0)).toBe("w1");
    nodes = ["w2"];
    expect(p.place("room:a", 1)).toBe("w2");
    p.forget("room:a");
    nodes = ["w1", "w2"];
    expect(["w1", "w2"]).toContain(p.place("room:a", 2) as string);
  });

  test("no nodes: null (mix here); memory of a meeting ends after the hold time", () => {
    expect(new MeetingPlacement(() => []).place("room:a", 0)).toBeNull();
    const p = new MeetingPlacement(() => ["w1", "w2", "w3"], 100);
    expect(p.place("room:a", 0)).toBe("w1");
    expect(p.place("room:a", 200)).toBe("w2");
  });
});

describe("MeetingPlacement with a worker capacity (cascade)", () => {
  test("a full owner's new callers go to one other node while it has room, then another", () => {
    const p = new MeetingPlacement(() => ["w1", "w2", "w3"], 30_000, 2);
    p.count("w1", 2);
    p.count("w3", 1);
    expect(p.spill("room:a", "w1")).toBe("w2"); // least loaded with room
    p.count("w2", 1);
    p.count("w3", -1);
    expect(p.spill("room:a", "w1")).toBe("w2"); // already mixes the meeting, has room
    p.count("w2", 1);
    expect(p.spill("room:a", "w1")).toBe("w3");
    p.count("w3", 2);
    expect(p.spill("room:a", "w1")).toBe("w1"); // everyone is full: the owner
    p.count("w1", -1);
    expect(p.spill("room:a", "w1")).toBe("w1"); // the owner has room again
  });

  test("hand-overs under way count as load; no capacity: always the owner", () => {
    const p = new MeetingPlacement(() => ["w1", "w2"], 30_000, 2);
    p.reserve("w1", 2);
    expect(p.spill("room:a", "w1")).toBe("w2");
    p.reserve("w1", -1);
    expect(p.spill("room:b", "w1")).toBe("w1");
    const unlimited = new MeetingPlacement(() => ["w1", "w2"]);
    unlimited.count("w1", 1000);
    expect(unlimited.spill("room:a", "w1")).toBe("w1");
  });
});

describe("hand-over bodies", () => {
  test("roll-call names survive base64 both ways", () => {
    const name = new Int16Array([0, 1, -1, 32767, -32768, 1234]);
    expect([...samplesFromBase64(samplesToBase64(name))]).toEqual([...name]);
    expect(samplesFromBase64("").length).toBe(0);
  });

  test("an offer from another node is validated at the edge", () => {
    expect(handoverOfferSchema.safeParse({ callSid: "x" }).success).toBe(false);
    expect(handoverOfferSchema.safeParse(null).success).toBe(false);
  });
});

describe("splitPortRange", () => {
  test("slices cover the range without overlap; the last takes the rest", () => {
    expect(splitPortRange(20000, 29999, 3)).toEqual([
      { min: 20000, max: 23332 },
      { min: 23333, max: 26665 },
      { min: 26666, max: 29999 },
    ]);
    expect(() => splitPortRange(20000, 20002, 3)).toThrow();
  });
});

describe("MIXER_WORKERS", () => {
  test("needs the shared database and live store", () => {
    const env = (vars: Record<string, string>) => mixerEnvSchema.parse(vars);
    expect(workersUnsupported(env({}))).toBeNull();
    expect(workersUnsupported(env({ MIXER_WORKERS: "2" }))).toContain("REDIS_URL");
    expect(workersUnsupported(env({ MIXER_WORKERS: "2", REDIS_URL: "redis://127.0.0.1:6379" }))).toContain("DATABASE_URL");
    expect(
      workersUnsupported(
        env({ MIXER_WORKERS: "2", REDIS_URL: "redis://127.0.0.1:6379", DATABASE_URL: "postgres://127.0.0.1/x" }),
      ),
    ).toBeNull();
  });

  test("a mixer started with workers but no Redis stops at once, naming the variable", () => {
    const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "main.ts")], {
      env: { PATH: process.env.PATH ?? "", MIXER_WORKERS: "1", SIP_PORT: "0" },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toContain("mixer: bad MIXER_WORKERS");
  });
});
