import { ROLES } from "@conf/call-flow";
import { CALL_FIELDS as STORE_CALL_FIELDS } from "@conf/session-store";
import { z } from "@hono/zod-openapi";
import type { MemoryFieldMap } from "../../lib/filter.ts";
import { fieldFiltered, pageSchema, sidParam } from "../../lib/openapi.ts";

const EXAMPLE = {
  access_code: "890671",
  account_sid: "a1f38bf7-5879-49c1-be72-50ffa7f249a6",
  call_sid: "69057c3e-bb90-4ed3-9c53-000000000563",
  codecs: "PCMU",
  date_created: "2021-09-03T14:11:55.000Z",
  date_joined: "2021-09-03T14:11:55.000Z",
  direction: "In",
  duration: 28,
  gain_level: 0,
  meeting_room_sid: "d54061ef-8a16-459c-b055-6c0c297f46af",
  meeting_sid: "aaa07454-fa93-3d2d-b7b4-c5da9f2f87fd",
  muted: false,
  name: "",
  number_dst: '"15162065515" <sip:15162065515@11.22.33.44>',
  number_src: "<sip:+17605692222@55.66.77.88",
  on_hold: false,
  role: "host",
};

const AT_PROMPT = "null while the caller is at the access-code prompt (not in a meeting yet)";

/**
 * The Call object of the reference. Live: it exists from the moment the caller is
 * answered ("for each conference user, the system creates a temporary Call object")
 * until it hangs up.
 *
 * A call still at the access-code prompt has no field of its own saying so, on purpose:
 * the reference already says how such a Call reads, since `meeting_sid` and
 * `meeting_room_sid` are "filled only after the caller enters the meeting". So those are
 * null, and so are `date_joined` and `role` (nothing joined, no role granted yet), with
 * `access_code` empty. A `state` field would be one the reference does not have, that
 * every client written against it must ignore, and that says nothing `meeting_sid`
 * does not: `filter=meeting_sid eq null` lists the callers at the prompt. The same
 * `call_sid` carries on when the caller joins.
 */
export const CallSchema = z
  .object({
    access_code: z.string().openapi({ description: "The code the caller entered (empty before one is accepted)" }),
    account_sid: z.string(),
    call_sid: z.string(),
    codecs: z.string().openapi({ description: "Semicolon-separated audio codecs of the call" }),
    date_created: z.string().openapi({ description: "When the call was placed" }),
    date_joined: z
      .string()
      .nullable()
      .openapi({ description: `When the caller joined the meeting; ${AT_PROMPT}` }),
    direction: z.enum(["In", "Out"]),
    duration: z.number().int().openapi({ description: "Seconds since the call was placed" }),
    gain_level: z.number().int(),
    meeting_room_sid: z
      .string()
      .nullable()
      .openapi({
        description: `The meeting room of the call's meeting; null for an ad-hoc meeting, and ${AT_PROMPT}`,
      }),
    meeting_sid: z
      .string()
      .nullable()
      .openapi({ description: `The meeting the call is in; ${AT_PROMPT}` }),
    muted: z.boolean().openapi({ description: "Whether the call is muted (update)" }),
    name: z.string().openapi({ description: "The caller's name as the client sent it (update)" }),
    number_dst: z.string().openapi({ description: "The number dialed" }),
    number_src: z.string().openapi({ description: "The caller" }),
    on_hold: z.boolean().openapi({ description: "Whether the call is on hold (update)" }),
    role: z
      .enum(ROLES)
      .nullable()
      .openapi({ description: `The caller's role in the meeting; ${AT_PROMPT}` }),
  })
  .openapi("Call", { example: EXAMPLE });

/** The object as the routes with field filtering answer it (lists included). */
export const CallFilteredSchema = fieldFiltered(CallSchema, "CallFields");
export const CallPageSchema = pageSchema(CallFilteredSchema, "CallPage");
export const CALL_FIELDS = Object.keys(CallSchema.shape);
// What a PATCH may change, and `duration`, which changes every second (any number passes).
const CALL_NOT_READ_ONLY: readonly string[] = ["duration", "muted", "name", "on_hold"];
/** Read-only fields compared with the current value on PATCH: every other field of the Call object. */
export const CALL_READ_ONLY = STORE_CALL_FIELDS.filter((f) => !CALL_NOT_READ_ONLY.includes(f));

/** Filter and sort kinds of the Call object's fields. */
export const CALL_FILTER_FIELDS: MemoryFieldMap = {
  access_code: "string",
  account_sid: "uuid",
  call_sid: "uuid",
  codecs: "string",
  date_created: "date",
  date_joined: "date",
  direction: "string",
  duration: "number",
  gain_level: "number",
  meeting_room_sid: "uuid",
  meeting_sid: "uuid",
  muted: "boolean",
  name: "string",
  number_dst: "string",
  number_src: "string",
  on_hold: "boolean",
  role: "string",
};

const readOnly = () => z.unknown().optional().openapi({ readOnly: true, description: "read only" });

const flag = (description: string) =>
  z
    .union([z.boolean(), z.enum(["true", "false"])], { error: "must be true or false" })
    .optional()
    .openapi({ description: `${description} (a boolean, or the string "true" or "false")` });

/** PATCH body: muted, on_hold, name; read-only fields only with their current value. */
export const CallPatchSchema = z
  .strictObject({
    muted: flag("Mute or unmute the call"),
    on_hold: flag("Put the call on hold or take it off"),
    name: z.string().max(255).optional(),
    duration: readOnly(),
    access_code: readOnly(),
    account_sid: readOnly(),
    call_sid: readOnly(),
    codecs: readOnly(),
    date_created: readOnly(),
    date_joined: readOnly(),
    direction: readOnly(),
    gain_level: readOnly(),
    meeting_room_sid: readOnly(),
    meeting_sid: readOnly(),
    number_dst: readOnly(),
    number_src: readOnly(),
    role: readOnly(),
  })
  .openapi("CallPatch", { example: { muted: "true" } });

export const CallParams = sidParam("call_sid", EXAMPLE.call_sid);
