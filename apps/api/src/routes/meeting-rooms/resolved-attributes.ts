import { ATTRIBUTE_KEYS, LEVELS, resolve } from "@conf/call-flow";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context.ts";
import { unwrap } from "../../lib/errors.ts";
import { errors, ok } from "../../lib/openapi.ts";
import { MeetingRoomParams } from "./schema.ts";

const SourceSchema = z.object({
  level: z.enum(LEVELS).openapi({ description: "The level the value comes from" }),
  sid: z.string().openapi({ description: "The SID of the object at that level" }),
});

const ResolvedAttributeSchema = SourceSchema.extend({ value: z.string() }).openapi("ResolvedAttribute");

/** Effective attributes of calls into a room, each with where it came from (beyond the reference). */
export const ResolvedAttributesSchema = z
  .object({
    meeting_room_sid: z.string(),
    did_sid: z.string().nullable().openapi({ description: "The DID the resolution assumes the call came through" }),
    did_group_sid: z.string().nullable().openapi({ description: "The DID group level that applies" }),
    reachable: z.boolean().openapi({
      description: "false when the room is bound to a DID group and the DID is not in it: such calls never reach the room",
    }),
    call_flow: SourceSchema.extend({ call_flow_sid: z.string(), name: z.string() })
      .nullable()
      .openapi({ description: "The call flow and the level that chose it; null: no level names one and calls are refused" }),
    attributes: z
      .record(z.string(), ResolvedAttributeSchema)
      .nullable()
      .openapi({ description: "Every attribute with its effective value, level and SID; null without a call flow" }),
  })
  .openapi("ResolvedAttributes");

const route = createRoute({
  method: "get",
  operationId: "getMeetingRoomResolvedAttributes",
  path: "/meeting_rooms/{meeting_room_sid}/resolved_attributes",
  tags: ["Meeting Rooms"],
  summary: "Get the effective attributes of a meeting room",
  description:
    "Not in the reference: the attributes a call into this room gets (call flow -> account -> DID group -> DID -> meeting room, highest wins), through the DID `did_sid` if given, each with the level and SID it came from.",
  security: [{ basicAuth: [] }],
  request: {
    params: MeetingRoomParams,
    query: z.object({
      did_sid: z
        .string()
        .optional()
        .openapi({ param: { name: "did_sid", in: "query" }, description: "The DID dialed" }),
    }),
  },
  responses: { 200: ok(ResolvedAttributesSchema, "The effective attributes"), ...errors(401, 404) },
});

export function registerResolvedAttributes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const { accountSid } = c.var.principal;
    const { repos } = c.var.services;
    const room = unwrap(await repos.meetingRooms.get(accountSid, c.req.valid("param").meeting_room_sid));
    const account = unwrap(await repos.accounts.get(accountSid));
    const didSid = c.req.valid("query").did_sid;
    const did = didSid ? unwrap(await repos.dids.get(accountSid, didSid)) : null;
    // Through a DID its group applies; without one, a room bound to a group is reached
    // only through that group's DIDs, so that group's level applies.
    const groupSid = did ? did.did_group_sid : room.did_group_sid;
    const group = groupSid ? unwrap(await repos.didGroups.get(accountSid, groupSid)) : null;
    const r = resolve({
      account: { sid: account.account_sid, attributes: account.attributes, callFlowSid: account.call_flow_sid },
      didGroup: group && { sid: group.did_group_sid, attributes: group.attributes, callFlowSid: group.call_flow_sid },
      did: did && { sid: did.did_sid, attributes: did.attributes, callFlowSid: did.call_flow_sid },
      meetingRoom: { sid: room.meeting_room_sid, attributes: room.attributes },
    });
    const base = {
      meeting_room_sid: room.meeting_room_sid,
      did_sid: did?.did_sid ?? null,
      did_group_sid: group?.did_group_sid ?? null,
      reachable: room.did_group_sid === null || did === null || did.did_group_sid === room.did_group_sid,
    };
    if (!r.ok) return c.json({ ...base, call_flow: null, attributes: null }, 200);
    const { callFlow, callFlowFrom, attributes, sources } = r.value;
    return c.json(
      {
        ...base,
        call_flow: { call_flow_sid: callFlow.callFlowSid, name: callFlow.name, ...callFlowFrom },
        attributes: Object.fromEntries(ATTRIBUTE_KEYS.map((k) => [k, { value: attributes[k], ...sources[k] }])),
      },
      200,
    );
  });
}
