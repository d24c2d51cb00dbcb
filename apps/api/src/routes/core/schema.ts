import { z } from "@hono/zod-openapi";
import { fieldFiltered, pageSchema, sidParam } from "../../lib/openapi.ts";

/** A conference endpoint, in the shape of the reference's endpoint samples. */
export const EndpointSchema = z
  .object({
    addresses: z.array(z.unknown()),
    attributes: z.record(z.string(), z.unknown()),
    capacity: z.number().int(),
    endpoint_sid: z.string(),
    name: z.string(),
    out_sip_password: z.string().nullable(),
    out_sip_username: z.string().nullable(),
    partner_sid: z.string(),
    properties: z.object({
      account_sid: z.string().openapi({ description: "The account of the Conference API" }),
      api_url: z.string().openapi({ description: "Base URL of the Conference API" }),
      container_sid: z.string(),
      login: z.string().openapi({ description: "Login of the Conference API" }),
      password: z
        .string()
        .nullable()
        .openapi({ description: "Password of the Conference API: in the creation response only (stored hashed), null after" }),
    }),
    transformations: z.array(z.unknown()),
    type: z.string(),
    voip_token: z.string().nullable(),
  })
  .openapi("Endpoint");

/** The object as the routes with field filtering answer it (lists included). */
export const EndpointFilteredSchema = fieldFiltered(EndpointSchema, "EndpointFields");
export const EndpointPageSchema = pageSchema(EndpointFilteredSchema, "EndpointPage");
export const ENDPOINT_FIELDS = Object.keys(EndpointSchema.shape);

export const EndpointInputSchema = z
  .strictObject({
    name: z.string({ error: "field is required and must be a string" }).min(1).max(255),
    type: z.enum(["conference"]).optional().openapi({ description: "Only conference endpoints are provisioned here" }),
    partner_sid: z.string().optional(),
  })
  .openapi("EndpointInput", { example: { name: "my_conf", type: "conference" } });

export const EndpointParams = sidParam("endpoint_sid", "613325f8-bbb8-4599-b477-1b4fef3d017c");

export const AssignDidSchema = z
  .strictObject({
    phonenumber: z.string({ error: "field is required and must be a string" }).openapi({ example: "15162065919" }),
    endpoint_sid: z
      .string({ error: "must be a string" })
      .optional()
      .openapi({ description: "The conference endpoint to assign it to" }),
    account_sid: z.string({ error: "must be a string" }).optional().openapi({ description: "Or the account" }),
  })
  .openapi("AssignDid", { example: { phonenumber: "15162065919", endpoint_sid: "613325f8-bbb8-4599-b477-1b4fef3d017c" } });

export const DidParams = sidParam("did_sid", "022aa786-2c40-484f-9a36-2a51e84579d6");

export const PrefixSchema = z
  .object({
    account_sid: z.string(),
    date_created: z.string(),
    endpoint_sid: z.string(),
    prefix: z.string(),
    prefix_sid: z.string(),
  })
  .openapi("Prefix");
/** The object as the routes with field filtering answer it (lists included). */
export const PrefixFilteredSchema = fieldFiltered(PrefixSchema, "PrefixFields");
export const PrefixPageSchema = pageSchema(PrefixFilteredSchema, "PrefixPage");
export const PREFIX_FIELDS = Object.keys(PrefixSchema.shape);

export const AddPrefixSchema = z
  .strictObject({
    prefix: z.string({ error: "field is required and must be a string" }).openapi({ example: "7777" }),
    endpoint_sid: z.string({ error: "must be a string" }).optional(),
    account_sid: z.string({ error: "must be a string" }).optional(),
  })
  .openapi("AddPrefix", { example: { prefix: "7777", endpoint_sid: "613325f8-bbb8-4599-b477-1b4fef3d017c" } });

export const PrefixParams = sidParam("prefix_sid", "0d9e3c5e-0f63-4b7e-9a0a-3c1f2b6e4d11");
