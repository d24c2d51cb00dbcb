import { expect, test } from "bun:test";
import { ChildProcessPort } from "./ipc.ts";
import { ThreadLink } from "./link.ts";

test("a link to a child process: calls, errors and pushes cross the IPC channel", async () => {
  const file = `${import.meta.dir}/.ipc-child-${process.pid}.ts`;
  await Bun.write(
    file,
    `import { ParentProcessPort, ThreadLink } from ${JSON.stringify(`${import.meta.dir}/index.ts`)};
     const link = new ThreadLink(new ParentProcessPort());
     link.expose("child", {
       async pid() { return process.pid; },
       async fail() { throw new RangeError("no such thing"); },
       async ping(n) { link.push("pong", n + 1); return new Date(0); },
     });
     process.on("disconnect", () => process.exit(0));`,
  );
  const port = new ChildProcessPort();
  const child = Bun.spawn({ cmd: ["bun", file], ipc: port.ipc, serialization: "advanced", stdout: "inherit", stderr: "inherit" });
  port.attach(child);
  try {
    const link = new ThreadLink(port);
    const remote = link.proxy<{ pid(): Promise<number>; fail(): Promise<void>; ping(n: number): Promise<Date> }>("child", [
      "pid",
      "fail",
      "ping",
    ]);
    expect(await remote.pid()).toBe(child.pid);
    const err = await remote.fail().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RangeError);
    const pong = new Promise((resolve) => link.onPush("pong", resolve));
    // Structured clone ("advanced" serialization) keeps a Date a Date.
    expect(await remote.ping(41)).toEqual(new Date(0));
    expect(await pong).toBe(42);
    link.close();
  } finally {
    child.kill();
    await child.exited;
    await Bun.file(file).delete();
  }
});
