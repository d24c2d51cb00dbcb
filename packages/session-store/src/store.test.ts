import { sessionStoreContract } from "./testing/contract.ts";
import { linkHarness, memoryHarness, redisHarness } from "./testing/harness.ts";

sessionStoreContract(memoryHarness);
sessionStoreContract(linkHarness);
sessionStoreContract(redisHarness);
