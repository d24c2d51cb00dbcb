import { registerObjectWrites } from "../object-writes.ts";
import {
  DID_GROUP_FIELDS,
  DID_GROUP_READ_ONLY,
  DID_GROUP_UPDATABLE,
  DidGroupFilteredSchema,
  DidGroupInputSchema,
  DidGroupParams,
} from "./schema.ts";

/** PATCH and PUT `/did_groups/{did_group_sid}`. */
export function registerWrites(app: Parameters<typeof registerObjectWrites>[0]): void {
  registerObjectWrites(app, {
    name: "DidGroup",
    path: "/did_groups/{did_group_sid}",
    tag: "DID Groups",
    sidParam: "did_group_sid",
    repo: (repos) => repos.didGroups,
    params: DidGroupParams,
    input: DidGroupInputSchema,
    filtered: DidGroupFilteredSchema,
    fields: DID_GROUP_FIELDS,
    readOnly: DID_GROUP_READ_ONLY,
    updatable: DID_GROUP_UPDATABLE,
    errorStatuses: [400, 401, 404, 415, 422],
    updated: "The updated DID Group object",
    patch: {
      summary: "Update DID group (PATCH)",
      description:
        "Updates the given fields of the DID group. Attributes merge: a key is replaced or added, null removes it; `?nested_objects=replace` replaces them whole.",
    },
    put: {
      summary: "Update DID group (PUT)",
      description:
        "Replaces the DID group. As the reference's PUT, the body is the entire object: attributes, call_flow_sid and name are all required (a missing one is a 422 naming it, and nothing changes).",
      required: ["attributes", "call_flow_sid", "name"],
    },
  });
}
