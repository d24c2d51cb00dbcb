import { ROLES } from "@conf/call-flow";
import { z } from "@hono/zod-openapi";
import { AttributeOverridesSchema, AttributesInputSchema, fieldFiltered, pageSchema, sidParam } from "../../lib/openapi.ts";

const EXAMPLE = {
  access_codes: [
    { access_code: "890671", role: "host" as const },
    { access_code: "265423", role: "listener" as const },
    { access_code: "143623", role: "participant" as const },
  ],
  account_sid: "a1f38bf7-5879-49c1-be72-50ffa7f249a6",
  attributes: {},
  did_group_sid: null,
  meeting_room_sid: "2652635f-10a6-4b2a-a46b-2eeb75ddeab6",
  name: "N/A",
};

/** The Meeting Key object: an access code and the role it grants. */
export const AccessCodeSchema = z
  .strictObject({
    access_code: z
      .string()
      .regex(/^[0-9*]{1,32}$/, "must be 1 to 32 keypad characters of 0-9 and *")
      .openapi({ description: "What the caller enters (unique across the account's meeting rooms)", example: "890671" }),
    role: z.enum(ROLES).openapi({ description: "The role the code grants", example: "host" }),
  })
  .openapi("MeetingKey");

/** The Meeting Room object of the reference. */
export const MeetingRoomSchema = z
  .object({
    access_codes: z.array(AccessCodeSchema),
    account_sid: z.string().openapi({ description: "The account of the meeting room (read only)" }),
    attributes: AttributeOverridesSchema,
    did_group_sid: z
      .string()
      .nullable()
      .openapi({ description: "When set, the room is reachable only through DIDs of this group" }),
    meeting_room_sid: z.string().openapi({ description: "The meeting room secure ID (read only)" }),
    name: z.string().openapi({ description: "A human-readable nickname" }),
  })
  .openapi("MeetingRoom", { example: EXAMPLE });

/** The object as the routes with field filtering answer it (lists included). */
export const MeetingRoomFilteredSchema = fieldFiltered(MeetingRoomSchema, "MeetingRoomFields");
export const MeetingRoomPageSchema = pageSchema(MeetingRoomFilteredSchema, "MeetingRoomPage");
export const MEETING_ROOM_FIELDS = Object.keys(MeetingRoomSchema.shape);
export const MEETING_ROOM_READ_ONLY = ["account_sid", "meeting_room_sid"] as const;
export const MEETING_ROOM_UPDATABLE = ["access_codes", "attributes", "did_group_sid", "name"] as const;

/** POST, PATCH and PUT body. `access_codes` is always replaced whole. */
export const MeetingRoomInputSchema = z
  .strictObject({
    access_codes: z.array(AccessCodeSchema, { error: "must be an array of {access_code, role}" }).optional(),
    attributes: AttributesInputSchema.optional(),
    did_group_sid: z.string({ error: "must be a string or null" }).nullable().optional(),
    name: z.string().optional(),
    account_sid: z.string().optional().openapi({ readOnly: true }),
    meeting_room_sid: z.string().optional().openapi({ readOnly: true }),
  })
  .openapi("MeetingRoomInput", {
    example: { name: "My meeting room", access_codes: EXAMPLE.access_codes },
  });

export const MeetingRoomParams = sidParam("meeting_room_sid", EXAMPLE.meeting_room_sid);
