import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";

/** Nice values of this process's threads, from /proc (field 19 of each task's stat). */
function threadNices(): number[] {
  return readdirSync("/proc/self/task").map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[16]);
  });
}

test.skipIf(process.platform !== "linux")("setThreadNice lowers only the calling thread (a Worker), not the process", async () => {
  const file = `${import.meta.dir}/.priority-worker-${process.pid}.ts`;
  await Bun.write(
    file,
    `import { setThreadNice } from ${JSON.stringify(`${import.meta.dir}/priority.ts`)};
     postMessage(setThreadNice(7));
     setInterval(() => {}, 1000);`,
  );
  const worker = new Worker(file);
  try {
    const got = await new Promise<unknown>((resolve) => worker.addEventListener("message", (e) => resolve(e.data)));
    expect(got).toBe(7);
    const nices = threadNices();
    expect(nices).toContain(7);
    // The main thread (task id = pid) keeps its priority.
    const main = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    expect(Number(main.slice(main.lastIndexOf(")") + 2).split(" ")[16])).toBe(0);
  } finally {
    worker.terminate();
    await Bun.file(file).delete();
  }
});
