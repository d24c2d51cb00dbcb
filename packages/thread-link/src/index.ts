export { type LinkPort, ThreadLink, type ThreadLinkOptions } from "./link.ts";
export { setThreadNice } from "./priority.ts";
