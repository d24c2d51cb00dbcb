import { sessionStoreContract } from "./testing/contract.ts";
import { memoryHarness, redisHarness } from "./testing/harness.ts";

sessionStoreContract(memoryHarness);
sessionStoreContract(redisHarness);
