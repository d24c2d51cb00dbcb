import { z } from "@hono/zod-openapi";
import { SAMPLE_DID } from "../../lib/reference-samples.ts";
import { AttributeOverridesSchema, AttributesInputSchema, fieldFiltered, pageSchema, sidParam } from "../../lib/openapi.ts";

const EXAMPLE = SAMPLE_DID;

/** The DID object of the reference. */
export const DidSchema = z
  .object({
    account_sid: z.string().openapi({ description: "The account of the DID (read only)" }),
    attributes: AttributeOverridesSchema,
    call_flow_sid: z.string().nullable().openapi({ description: "The call flow of the DID" }),
    country_code: z.string().nullable().openapi({ description: "ISO 3166-1 alpha-3 (read only)" }),
    did_group_sid: z.string().nullable().openapi({ description: "The DID group of the DID" }),
    did_sid: z.string().openapi({ description: "The DID secure ID (read only)" }),
    in_country_format: z.string().openapi({ description: "National format (read only)" }),
    international_format: z.string().openapi({ description: "International format (read only)" }),
    phonenumber: z.string().openapi({ description: "E.164 digits (read only)" }),
  })
  .openapi("Did", { example: EXAMPLE });

/** The object as the routes with field filtering answer it (lists included). */
export const DidFilteredSchema = fieldFiltered(DidSchema, "DidFields");
export const DidPageSchema = pageSchema(DidFilteredSchema, "DidPage");
export const DID_FIELDS = Object.keys(DidSchema.shape);
export const DID_READ_ONLY = [
  "account_sid",
  "country_code",
  "did_sid",
  "in_country_format",
  "international_format",
  "phonenumber",
] as const;
export const DID_UPDATABLE = ["attributes", "call_flow_sid", "did_group_sid"] as const;

const nullableSid = (description: string) =>
  z.string({ error: "must be a string or null" }).nullable().optional().openapi({ description });

/** PATCH and PUT body. Read-only fields are accepted with their current value only. */
export const DidInputSchema = z
  .strictObject({
    attributes: AttributesInputSchema.optional(),
    call_flow_sid: nullableSid("The call flow of the DID (null: the DID group's or account's)"),
    did_group_sid: nullableSid("The DID group of the DID"),
    account_sid: z.string().optional().openapi({ readOnly: true }),
    country_code: z.string().nullable().optional().openapi({ readOnly: true }),
    did_sid: z.string().optional().openapi({ readOnly: true }),
    in_country_format: z.string().optional().openapi({ readOnly: true }),
    international_format: z.string().optional().openapi({ readOnly: true }),
    phonenumber: z.string().optional().openapi({ readOnly: true }),
  })
  .openapi("DidInput", { example: { did_group_sid: EXAMPLE.did_group_sid } });

export const DidParams = sidParam("did_sid", EXAMPLE.did_sid);
