import { DEFAULT_ATTRIBUTES } from "@conf/call-flow";
import { z } from "@hono/zod-openapi";
import { AttributesSchema, fieldFiltered, pageSchema, sidParam } from "../../lib/openapi.ts";

/** The Call Flow object of the reference (read only). */
export const CallFlowSchema = z
  .object({
    attributes: AttributesSchema,
    call_flow_sid: z.string().openapi({ description: "The call flow secure ID" }),
    name: z.string().openapi({ description: "secured, open, direct_host or direct_participant" }),
  })
  .openapi("CallFlow", {
    example: { attributes: { ...DEFAULT_ATTRIBUTES }, call_flow_sid: "665bd4c6-7f44-4c46-a467-1e4696f52968", name: "secured" },
  });

/** The object as the routes with field filtering answer it (lists included). */
export const CallFlowFilteredSchema = fieldFiltered(CallFlowSchema, "CallFlowFields");
export const CallFlowPageSchema = pageSchema(CallFlowFilteredSchema, "CallFlowPage");
export const CALL_FLOW_FIELDS = Object.keys(CallFlowSchema.shape);
export const CallFlowParams = sidParam("call_flow_sid", "665bd4c6-7f44-4c46-a467-1e4696f52968");
