import { z } from "@hono/zod-openapi";
import { AttributeOverridesSchema, AttributesInputSchema, fieldFiltered, pageSchema, sidParam } from "../../lib/openapi.ts";

const EXAMPLE = {
  account_sid: "a1f38bf7-5879-49c1-be72-50ffa7f249a6",
  attributes: {},
  call_flow_sid: null,
  did_group_sid: "ea1d0f8d-4f2d-4437-a627-694a23a2d568",
  name: "New DID group",
};

/** The DID Group object of the reference. */
export const DidGroupSchema = z
  .object({
    account_sid: z.string().openapi({ description: "The account of the DID group (read only)" }),
    attributes: AttributeOverridesSchema,
    call_flow_sid: z.string().nullable().openapi({ description: "The call flow of the group's DIDs" }),
    did_group_sid: z.string().openapi({ description: "The DID group secure ID (read only)" }),
    name: z.string().openapi({ description: "The name of the DID group" }),
  })
  .openapi("DidGroup", { example: EXAMPLE });

/** The object as the routes with field filtering answer it (lists included). */
export const DidGroupFilteredSchema = fieldFiltered(DidGroupSchema, "DidGroupFields");
export const DidGroupPageSchema = pageSchema(DidGroupFilteredSchema, "DidGroupPage");
export const DID_GROUP_FIELDS = Object.keys(DidGroupSchema.shape);
export const DID_GROUP_READ_ONLY = ["account_sid", "did_group_sid"] as const;
export const DID_GROUP_UPDATABLE = ["attributes", "call_flow_sid", "name"] as const;

/** POST, PATCH and PUT body. Read-only fields are accepted with their current value only. */
export const DidGroupInputSchema = z
  .strictObject({
    attributes: AttributesInputSchema.optional(),
    call_flow_sid: z.string({ error: "must be a string or null" }).nullable().optional(),
    name: z.string().optional(),
    account_sid: z.string().optional().openapi({ readOnly: true }),
    did_group_sid: z.string().optional().openapi({ readOnly: true }),
  })
  .openapi("DidGroupInput", { example: { name: "New DID group" } });

export const DidGroupParams = sidParam("did_group_sid", EXAMPLE.did_group_sid);
