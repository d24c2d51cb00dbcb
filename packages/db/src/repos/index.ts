import type { Database } from "../client.ts";
import { type AccountsRepo, accountsRepo } from "./accounts.ts";
import { type CallFlowsRepo, callFlowsRepo } from "./call-flows.ts";
import { type DidGroupsRepo, didGroupsRepo } from "./did-groups.ts";
import { type DidsRepo, didsRepo } from "./dids.ts";
import { type EndpointsOptions, type EndpointsRepo, endpointsRepo } from "./endpoints.ts";
import { type MeetingRoomsRepo, meetingRoomsRepo } from "./meeting-rooms.ts";
import { type TrunkPrefixesRepo, trunkPrefixesRepo } from "./trunk-prefixes.ts";
import { type WebhooksRepo, webhooksRepo } from "./webhooks.ts";

export * from "./accounts.ts";
export * from "./call-flows.ts";
export * from "./common.ts";
export * from "./did-groups.ts";
export * from "./dids.ts";
export * from "./endpoints.ts";
export * from "./meeting-rooms.ts";
export * from "./trunk-prefixes.ts";
export * from "./webhooks.ts";

/** Every repository over one database. */
export interface Repositories {
  readonly endpoints: EndpointsRepo;
  readonly accounts: AccountsRepo;
  readonly callFlows: CallFlowsRepo;
  readonly didGroups: DidGroupsRepo;
  readonly dids: DidsRepo;
  readonly trunkPrefixes: TrunkPrefixesRepo;
  readonly meetingRooms: MeetingRoomsRepo;
  readonly webhooks: WebhooksRepo;
}

/**
 * Builds all repositories over an open database.
 * @example
 * const repos = createRepositories(await openDatabase(), { apiUrl: "http://127.0.0.1:3000/conference/v2" });
 * const rooms = await repos.meetingRooms.list({ accountSid, limit: 10, offset: 0 });
 */
export function createRepositories(database: Pick<Database, "db" | "rawQuery">, options: EndpointsOptions = {}): Repositories {
  const { db } = database;
  return {
    endpoints: endpointsRepo(db, options),
    accounts: accountsRepo(db),
    callFlows: callFlowsRepo(db),
    didGroups: didGroupsRepo(db),
    dids: didsRepo(db),
    trunkPrefixes: trunkPrefixesRepo(db),
    meetingRooms: meetingRoomsRepo(db, database.rawQuery),
    webhooks: webhooksRepo(db),
  };
}
