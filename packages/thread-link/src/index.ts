export { type LinkPort, ThreadLink, type ThreadLinkOptions } from "./link.ts";
export { ChildProcessPort, ParentProcessPort } from "./ipc.ts";
