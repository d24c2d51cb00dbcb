import { z } from "@hono/zod-openapi";
import { SAMPLE_ACCOUNT } from "../../lib/reference-samples.ts";
import { AttributeOverridesSchema, AttributesInputSchema, fieldFiltered, pageSchema, sidParam } from "../../lib/openapi.ts";

const EXAMPLE = SAMPLE_ACCOUNT;

/** The Account object of the reference. */
export const AccountSchema = z
  .object({
    account_sid: z.string().openapi({ description: "The account secure ID (read only)" }),
    attributes: AttributeOverridesSchema,
    call_flow_sid: z.string().nullable().openapi({ description: "The default call flow of the account" }),
    date_created: z.string().openapi({ description: "When the account was created (read only)" }),
    login: z.string().openapi({ description: "The login of the Conference API (read only)" }),
    name: z.string().openapi({ description: "A human-readable nickname" }),
  })
  .openapi("Account", { example: EXAMPLE });

/** The object as the routes with field filtering answer it (lists included). */
export const AccountFilteredSchema = fieldFiltered(AccountSchema, "AccountFields");
export const AccountPageSchema = pageSchema(AccountFilteredSchema, "AccountPage");

/** Every field of the object (field filtering). */
export const ACCOUNT_FIELDS = Object.keys(AccountSchema.shape);
export const ACCOUNT_READ_ONLY = ["account_sid", "date_created", "login"] as const;
export const ACCOUNT_UPDATABLE = ["name", "call_flow_sid", "attributes", "password"] as const;

/** PATCH and PUT body. Read-only fields are accepted with their current value only. */
export const AccountInputSchema = z
  .strictObject({
    name: z.string().optional(),
    call_flow_sid: z.string({ error: "must be a string or null" }).nullable().optional(),
    attributes: AttributesInputSchema.optional(),
    password: z.string().optional().openapi({ description: "New password (never returned)", writeOnly: true }),
    account_sid: z.string().optional().openapi({ readOnly: true }),
    date_created: z.string().optional().openapi({ readOnly: true }),
    login: z.string().optional().openapi({ readOnly: true }),
  })
  .openapi("AccountInput", { example: { name: "John W. Smith" } });

export const AccountParams = sidParam("account_sid", EXAMPLE.account_sid);
