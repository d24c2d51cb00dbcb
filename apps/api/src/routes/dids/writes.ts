import { registerObjectWrites } from "../object-writes.ts";
import { DID_FIELDS, DID_READ_ONLY, DID_UPDATABLE, DidFilteredSchema, DidInputSchema, DidParams } from "./schema.ts";

/** PATCH and PUT `/dids/{did_sid}`. */
export function registerWrites(app: Parameters<typeof registerObjectWrites>[0]): void {
  registerObjectWrites(app, {
    name: "Did",
    path: "/dids/{did_sid}",
    tag: "DIDs",
    sidParam: "did_sid",
    repo: (repos) => repos.dids,
    params: DidParams,
    input: DidInputSchema,
    filtered: DidFilteredSchema,
    fields: DID_FIELDS,
    readOnly: DID_READ_ONLY,
    updatable: DID_UPDATABLE,
    errorStatuses: [400, 401, 404, 415, 422],
    updated: "The updated DID object",
    patch: {
      summary: "Update DID (PATCH)",
      description:
        "Updates the given fields of the DID. Attributes merge: a key is replaced or added, null removes it; `?nested_objects=replace` replaces them whole.",
    },
    put: {
      summary: "Update DID (PUT)",
      description:
        "Replaces the DID. As the reference's PUT, the body is the entire object: attributes, call_flow_sid and did_group_sid are all required (a missing one is a 422 naming it, and nothing changes).",
      required: ["attributes", "call_flow_sid", "did_group_sid"],
    },
  });
}
