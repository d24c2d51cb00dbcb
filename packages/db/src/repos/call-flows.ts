import type { Attributes } from "@conf/call-flow";
import { asc, eq, getTableColumns } from "drizzle-orm";
import type { Db } from "../client.ts";
import { callFlows } from "../schema/call-flows.ts";
import { type FieldMap, type OperatorCollectionRepo, rowBySid, sortedAttributes } from "./common.ts";
import { listPager } from "./list-page.ts";

/** A Call Flow object in the reference's JSON shape. */
export interface CallFlowObject {
  attributes: Attributes;
  call_flow_sid: string;
  name: string;
}

/** Filterable and sortable fields of call flows. */
export const callFlowFields = {
  attributes: callFlows.attributes,
  call_flow_sid: callFlows.callFlowSid,
  name: callFlows.name,
} as const satisfies FieldMap;

function toApi(row: typeof callFlows.$inferSelect): CallFlowObject {
  return { attributes: sortedAttributes(row.attributes), call_flow_sid: row.callFlowSid, name: row.name };
}

/** Call flows are global (the built-ins): every account sees all of them; `accountSid` is ignored. */
export type CallFlowsRepo = OperatorCollectionRepo<typeof callFlowFields, CallFlowObject>;

/**
 * Read access to the seeded call flows.
 * @example const flows = callFlowsRepo(database.db); await flows.get(DEFAULT_CALL_FLOW_SID);
 */
export function callFlowsRepo(db: Db): CallFlowsRepo {
  // No account column: every account lists them all.
  const pages = listPager(db, { table: callFlows, columns: getTableColumns(callFlows), tiebreak: [asc(callFlows.name)], toApi });
  return {
    fields: callFlowFields,
    get: (sid) => rowBySid(sid, "call flow", (s) => db.select().from(callFlows).where(eq(callFlows.callFlowSid, s)), toApi),
    list: pages.all,
  };
}
