import { PARTICIPANT_MUTED_VALUES } from "@conf/session-store";
import { z } from "@hono/zod-openapi";
import type { MemoryFieldMap } from "../../lib/filter.ts";
import { fieldFiltered, pageSchema, sidParam } from "../../lib/openapi.ts";

const EXAMPLE = {
  account_sid: "a1f38bf7-5879-49c1-be72-50ffa7f249a6",
  attendees: { hosts: 1, listeners: 0, participants: 0 },
  date_created: "2021-06-23T17:36:37.000Z",
  duration: 35,
  locked: false,
  meeting_room_sid: "e1b86c9b-d758-4e3a-9bd4-a0016a3b10b1",
  meeting_sid: "69057c3e-bb90-4ed3-9c53-000000944173",
  on_hold: "pl",
  participant_muted: "false" as const,
  recording: false,
};

/** The Meeting object of the reference (live: exists while callers are in it). */
export const MeetingSchema = z
  .object({
    account_sid: z.string(),
    attendees: z.object({ hosts: z.number().int(), listeners: z.number().int(), participants: z.number().int() }),
    date_created: z.string(),
    duration: z.number().int().openapi({ description: "Seconds since the meeting started" }),
    locked: z
      .boolean()
      .openapi({ description: "Whether only hosts may join (update: not in the reference, where it is read only)" }),
    meeting_room_sid: z.string().nullable().openapi({ description: "null for ad-hoc and direct meetings" }),
    meeting_sid: z.string(),
    on_hold: z.string().openapi({ description: "Roles on hold: a set of the letters h, p and l (update)" }),
    participant_muted: z.enum(PARTICIPANT_MUTED_VALUES).openapi({ description: "false, relaxed or true (update)" }),
    recording: z.boolean(),
  })
  .openapi("Meeting", { example: EXAMPLE });

/** The object as the routes with field filtering answer it (lists included). */
export const MeetingFilteredSchema = fieldFiltered(MeetingSchema, "MeetingFields");
export const MeetingPageSchema = pageSchema(MeetingFilteredSchema, "MeetingPage");
export const MEETING_FIELDS = Object.keys(MeetingSchema.shape);
/** Read-only fields compared with the current value on PATCH (`duration` and `attendees` change by themselves, so any value passes). */
export const MEETING_READ_ONLY = ["account_sid", "date_created", "meeting_room_sid", "meeting_sid", "recording"] as const;

/** Filter and sort kinds of the Meeting object's fields. */
export const MEETING_FILTER_FIELDS: MemoryFieldMap = {
  account_sid: "uuid",
  attendees: { hosts: "number", listeners: "number", participants: "number" },
  date_created: "date",
  duration: "number",
  locked: "boolean",
  meeting_room_sid: "uuid",
  meeting_sid: "uuid",
  on_hold: "string",
  participant_muted: "string",
  recording: "boolean",
};

const readOnly = () => z.unknown().optional().openapi({ readOnly: true, description: "read only" });

/** PATCH body: on_hold, participant_muted and locked (not in the reference); read-only fields only with their current value. */
export const MeetingPatchSchema = z
  .strictObject({
    on_hold: z
      .string({ error: "must be a set of the letters h, p and l" })
      .regex(/^[hpl]*$/, "must be a set of the letters h, p and l")
      .optional()
      .openapi({ description: "Roles to put on hold, e.g. pl; empty: nobody", example: "pl" }),
    participant_muted: z
      .union([z.enum(PARTICIPANT_MUTED_VALUES), z.boolean()], { error: "must be false, relaxed or true" })
      .optional()
      .openapi({
        description: "false: only listeners muted; relaxed: participants start muted and may unmute; true: they may not",
      }),
    locked: z
      .union([z.boolean(), z.enum(["true", "false"])], { error: "must be true or false" })
      .optional()
      .openapi({
        description:
          'Not in the reference (read only there): lock the meeting to everyone but hosts, or unlock it (a boolean, or the string "true" or "false")',
      }),
    attendees: readOnly(),
    duration: readOnly(),
    account_sid: readOnly(),
    date_created: readOnly(),
    meeting_room_sid: readOnly(),
    meeting_sid: readOnly(),
    recording: readOnly(),
  })
  .openapi("MeetingPatch", { example: { on_hold: "pl" } });

export const MeetingParams = sidParam("meeting_sid", EXAMPLE.meeting_sid);
