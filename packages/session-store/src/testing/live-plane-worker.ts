/** A Worker thread that serves its in-process live plane, for the link harness. */
import { type LinkPort, ThreadLink } from "@conf/thread-link";
import { serveLivePlane } from "../link.ts";

serveLivePlane(new ThreadLink(globalThis as unknown as LinkPort));
