import { eventLogContract } from "./testing/event-log-contract.ts";
import { linkHarness, memoryHarness, redisHarness } from "./testing/harness.ts";

eventLogContract(memoryHarness);
eventLogContract(linkHarness);
eventLogContract(redisHarness);
