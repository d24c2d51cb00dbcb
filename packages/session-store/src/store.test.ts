import { sessionStoreContract } from "./testing/contract.ts";
import { linkHarness, memoryHarness, redisHarness } from "./testing/harness.ts";
import { lobbyContract } from "./testing/lobby-contract.ts";

sessionStoreContract(memoryHarness);
sessionStoreContract(linkHarness);
sessionStoreContract(redisHarness);
lobbyContract(memoryHarness);
lobbyContract(linkHarness);
lobbyContract(redisHarness);
