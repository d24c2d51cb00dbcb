import { registerObjectWrites } from "../object-writes.ts";
import {
  MEETING_ROOM_FIELDS,
  MEETING_ROOM_READ_ONLY,
  MEETING_ROOM_UPDATABLE,
  MeetingRoomFilteredSchema,
  MeetingRoomInputSchema,
  MeetingRoomParams,
} from "./schema.ts";

/** PATCH and PUT `/meeting_rooms/{meeting_room_sid}`. */
export function registerWrites(app: Parameters<typeof registerObjectWrites>[0]): void {
  registerObjectWrites(app, {
    name: "MeetingRoom",
    path: "/meeting_rooms/{meeting_room_sid}",
    tag: "Meeting Rooms",
    sidParam: "meeting_room_sid",
    repo: (repos) => repos.meetingRooms,
    params: MeetingRoomParams,
    input: MeetingRoomInputSchema,
    filtered: MeetingRoomFilteredSchema,
    fields: MEETING_ROOM_FIELDS,
    readOnly: MEETING_ROOM_READ_ONLY,
    updatable: MEETING_ROOM_UPDATABLE,
    errorStatuses: [400, 401, 404, 409, 415, 422],
    updated: "The updated Meeting Room object",
    patch: {
      summary: "Update meeting room (PATCH)",
      description:
        "Updates the given fields of the meeting room. `access_codes` is replaced whole. Attributes merge: a key is replaced or added, null removes it; `?nested_objects=replace` replaces them whole.",
    },
    put: {
      summary: "Update meeting room (PUT)",
      description:
        "Replaces the meeting room. As the reference's PUT, the body is the entire object: access_codes, attributes, did_group_sid and name are all required (a missing one is a 422 naming it, and nothing changes).",
      required: ["access_codes", "attributes", "did_group_sid", "name"],
    },
  });
}
