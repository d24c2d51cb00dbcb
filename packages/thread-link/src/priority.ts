/**
 * Lowering the calling thread's CPU priority. On Linux the nice value belongs to each
 * thread, not to the process (setpriority(2), NOTES: under NPTL, PRIO_PROCESS with who
 * 0 is the calling thread), so a thread that serves tenants can yield the core to the
 * mixer's clock thread of the same process whenever both want it. Through bun:ffi
 * because Bun has no per-thread call for it.
 */
import { dlopen, FFIType } from "bun:ffi";

type Libc = { setpriority(which: number, who: number, prio: number): number; getpriority(which: number, who: number): number };

const PRIO_PROCESS = 0;

let libc: Libc | null | undefined;

function load(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== "linux") return libc;
  try {
    libc = dlopen("libc.so.6", {
      setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
      getpriority: { args: [FFIType.i32, FFIType.u32], returns: FFIType.i32 },
    }).symbols as unknown as Libc;
  } catch {
    libc = null; // not glibc: the thread keeps the process's priority
  }
  return libc;
}

/**
 * Sets the calling thread's nice value (0 to 19; higher yields more). Returns the value
 * in force afterwards, or null where this cannot be done (not Linux with glibc).
 * Raising it needs no privilege; lowering it again does.
 * @example setThreadNice(10); // in the API's Worker: the mixer's thread wins the core
 */
export function setThreadNice(nice: number): number | null {
  const c = load();
  if (!c || !Number.isInteger(nice) || nice < 0 || nice > 19) return null;
  c.setpriority(PRIO_PROCESS, 0, nice);
  return c.getpriority(PRIO_PROCESS, 0);
}
