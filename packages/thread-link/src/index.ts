export { type LinkPort, ThreadLink, type ThreadLinkOptions } from "./link.ts";
