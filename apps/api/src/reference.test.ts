/**
 * Replays the reference's curl examples for endpoints, accounts, call flows, DIDs, DID
 * groups and meeting rooms (in the order a newcomer would run them) and checks each
 * answer against the reference's sample: the same status, the same keys at every level,
 * the same value types, and the same values wherever the example determines them.
 */
import { expect, test } from "bun:test";
import { SAMPLE_ACCOUNT, SAMPLE_DID } from "./lib/reference-samples.ts";
import { ADMIN_TOKEN, basicHeader, forEachDatabase } from "./testing.ts";

const SAMPLE_ENDPOINT = {
  addresses: [],
  attributes: {},
  capacity: 0,
  endpoint_sid: "844346ef-93e9-4fa8-a4ab-e3015af94573",
  name: "flexml",
  out_sip_password: null,
  out_sip_username: null,
  partner_sid: "ed437757-002d-4ecc-aa5a-efdf5e50dba0",
  properties: {
    account_sid: "1d4adc32-45d1-4789-9780-928049e2bce1",
    api_url: "https://api.carrierx.com/flexml/v1",
    container_sid: "null",
    login: "sample_login",
    password: "sample_password",
  },
  transformations: [],
  type: "flexml",
  voip_token: null,
};
const page = (item: unknown, limit = 10) => ({
  count: 1,
  has_more: false,
  items: [item],
  limit,
  offset: 0,
  pagination: {},
  total: 1,
});
const SAMPLE_DID_GROUP = {
  account_sid: "a1f38bf7-5879-49c1-be72-50ffa7f249a6",
  attributes: {},
  call_flow_sid: null,
  did_group_sid: "ea1d0f8d-4f2d-4437-a627-694a23a2d568",
  name: "N/A",
};
const SAMPLE_ROOM = {
  access_codes: [
    { access_code: "890671", role: "host" },
    { access_code: "265423", role: "listener" },
    { access_code: "143623", role: "participant" },
  ],
  account_sid: "a1f38bf7-5879-49c1-be72-50ffa7f249a6",
  attributes: {},
  did_group_sid: null,
  meeting_room_sid: "2652635f-10a6-4b2a-a46b-2eeb75ddeab6",
  name: "My meeting room",
};
const SAMPLE_CALL_FLOW_KEYS = ["attributes", "call_flow_sid", "name"];

type Shape = null | "string" | "number" | "boolean" | Shape[] | { [k: string]: Shape };

/** The shape of a JSON value; `*_sid` strings and nulls are both "sid-or-null" (references may be unset). */
function shape(v: unknown, key = ""): Shape {
  if (key.endsWith("_sid") && (v === null || typeof v === "string")) return "string";
  if (v === null) return null;
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (typeof v === "object") return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, shape(x, k)]));
  return typeof v as "string" | "number" | "boolean";
}

function expectShape(actual: unknown, sample: unknown): void {
  expect(shape(actual)).toEqual(shape(sample));
}

forEachDatabase((h) => {
  test("the curl examples, replayed in order", async () => {
    const admin = `Bearer ${ADMIN_TOKEN}`;

    // curl -X POST '.../core/v2/endpoints' --data-binary '{"name":"my_conf", "type":"conference"}'
    const ep = await h().json("POST", "/core/v2/endpoints", { auth: admin, body: '{"name":"my_conf", "type":"conference"}' });
    expect(ep.status).toBe(200);
    expectShape(ep.body, SAMPLE_ENDPOINT);
    expect(ep.body).toMatchObject({ name: "my_conf", type: "conference", addresses: [], capacity: 0 });
    expect(ep.body.properties.api_url).toBe("http://api.test/conference/v2");
    const u = basicHeader(ep.body.properties.login, ep.body.properties.password);
    const accountSid: string = ep.body.properties.account_sid;

    // curl -X GET '.../core/v2/endpoints'
    const eps = await h().json("GET", "/core/v2/endpoints", { auth: admin });
    expect(eps.status).toBe(200);
    expect(eps.body.limit).toBe(1000);
    // The one deliberate difference: passwords are stored as argon2id hashes, so only the
    // creation response can carry `properties.password`; reads return null there.
    const listed = eps.body.items.find((e: { endpoint_sid: string }) => e.endpoint_sid === ep.body.endpoint_sid);
    expect(listed.properties.password).toBeNull();
    expect(listed).toEqual({ ...ep.body, properties: { ...ep.body.properties, password: null } });
    const sampleRead = { ...SAMPLE_ENDPOINT, properties: { ...SAMPLE_ENDPOINT.properties, password: null } };
    expectShape({ ...eps.body, items: [listed], count: 1, total: 1 }, page(sampleRead, 1000));
    // curl -X GET '.../core/v2/endpoints?filter=type+eq+conference'
    const filtered = await h().json("GET", "/core/v2/endpoints?filter=type+eq+conference", { auth: admin });
    expect(filtered.body.items.every((e: { type: string }) => e.type === "conference")).toBe(true);
    // curl -X GET '.../core/v2/endpoints?exclude_fields=properties'
    const excluded = await h().json("GET", "/core/v2/endpoints?exclude_fields=properties", { auth: admin });
    const { properties: _omit, ...withoutProperties } = SAMPLE_ENDPOINT;
    expectShape(excluded.body.items[0], withoutProperties);

    // curl -X GET '.../conference/v2/accounts' -u 'login:password'
    const accounts = await h().json("GET", "/conference/v2/accounts", { auth: u });
    expect(accounts.status).toBe(200);
    expectShape(accounts.body, page(SAMPLE_ACCOUNT));
    expect(accounts.body).toMatchObject({ count: 1, has_more: false, limit: 10, offset: 0, pagination: {}, total: 1 });
    // curl -X GET '.../conference/v2/accounts/{account_sid}'
    const account = await h().json("GET", `/conference/v2/accounts/${accountSid}`, { auth: u });
    expectShape(account.body, SAMPLE_ACCOUNT);
    // curl -X PATCH '.../conference/v2/accounts/{account_sid}' --data-binary '{"name":"John W. Smith"}'
    const renamed = await h().json("PATCH", `/conference/v2/accounts/${accountSid}`, {
      auth: u,
      body: '{"name":"John W. Smith"}',
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toEqual({ ...account.body, name: "John W. Smith" });
    // curl -X GET '.../conference/v2/accounts/whoami'
    const whoami = await h().json("GET", "/conference/v2/accounts/whoami", { auth: u });
    expect(whoami.body).toEqual(renamed.body);

    // curl -X GET '.../conference/v2/call_flows'
    const flows = await h().json("GET", "/conference/v2/call_flows", { auth: u });
    expect(flows.status).toBe(200);
    expect(Object.keys(flows.body).sort()).toEqual(["count", "has_more", "items", "limit", "offset", "pagination", "total"]);
    for (const f of flows.body.items) {
      expect(Object.keys(f).sort()).toEqual(SAMPLE_CALL_FLOW_KEYS);
      expect(Object.keys(f.attributes)).toHaveLength(31);
    }
    // curl -X GET '.../conference/v2/call_flows/{call_flow_sid}'
    const flow = await h().json("GET", "/conference/v2/call_flows/665bd4c6-7f44-4c46-a467-1e4696f52968", { auth: u });
    expect(flow.body.name).toBe("secured");

    // The operator assigns the reference's number, then the DID examples.
    const assigned = await h().json("POST", "/core/v2/dids", {
      auth: admin,
      body: { phonenumber: "15162065919", endpoint_sid: ep.body.endpoint_sid },
    });
    expect(assigned.status).toBe(200);
    const didSid: string = assigned.body.did_sid;
    // curl -X GET '.../conference/v2/dids'
    const dids = await h().json("GET", "/conference/v2/dids", { auth: u });
    expectShape(dids.body, page(SAMPLE_DID));
    // curl -X GET '.../conference/v2/dids/{did_sid}'
    const did = await h().json("GET", `/conference/v2/dids/${didSid}`, { auth: u });
    expectShape(did.body, SAMPLE_DID);
    for (const k of ["country_code", "in_country_format", "international_format", "phonenumber"] as const) {
      expect(did.body[k]).toBe(SAMPLE_DID[k]);
    }

    // curl -X POST '.../conference/v2/did_groups' --data-binary '{}'
    const group = await h().json("POST", "/conference/v2/did_groups", { auth: u, body: "{}" });
    expect(group.status).toBe(200);
    expect(group.body).toEqual({ ...SAMPLE_DID_GROUP, account_sid: accountSid, did_group_sid: group.body.did_group_sid });
    const groupSid: string = group.body.did_group_sid;
    // curl -X PATCH '.../conference/v2/dids/{did_sid}' --data-binary '{"did_group_sid":"..."}'
    const moved = await h().json("PATCH", `/conference/v2/dids/${didSid}`, { auth: u, body: `{"did_group_sid":"${groupSid}"}` });
    expect(moved.status).toBe(200);
    expect(moved.body).toEqual({ ...did.body, did_group_sid: groupSid });
    // curl -X GET '.../conference/v2/did_groups'
    const groups = await h().json("GET", "/conference/v2/did_groups", { auth: u });
    expect(groups.body).toEqual(page(group.body));
    // curl -X GET '.../conference/v2/did_groups/{did_group_sid}'
    expect((await h().json("GET", `/conference/v2/did_groups/${groupSid}`, { auth: u })).body).toEqual(group.body);
    // curl -X PATCH '.../conference/v2/did_groups/{did_group_sid}' --data-binary '{"name":"New DID group"}'
    const renamedGroup = await h().json("PATCH", `/conference/v2/did_groups/${groupSid}`, {
      auth: u,
      body: '{"name":"New DID group"}',
    });
    expect(renamedGroup.body).toEqual({ ...group.body, name: "New DID group" });

    // curl -X POST '.../conference/v2/meeting_rooms' --data-binary '{"name":"My meeting room","access_codes":[...]}'
    const room = await h().json("POST", "/conference/v2/meeting_rooms", {
      auth: u,
      body: '{"name":"My meeting room","access_codes":[{"access_code":"890671","role":"host"},{"access_code":"265423","role":"listener"},{"access_code":"143623","role":"participant"}]}',
    });
    expect(room.status).toBe(200);
    expect(room.body).toEqual({ ...SAMPLE_ROOM, account_sid: accountSid, meeting_room_sid: room.body.meeting_room_sid });
    const roomSid: string = room.body.meeting_room_sid;
    // curl -X GET '.../conference/v2/meeting_rooms'
    expect((await h().json("GET", "/conference/v2/meeting_rooms", { auth: u })).body).toEqual(page(room.body));
    // curl -X GET '.../conference/v2/meeting_rooms/{meeting_room_sid}'
    expect((await h().json("GET", `/conference/v2/meeting_rooms/${roomSid}`, { auth: u })).body).toEqual(room.body);
    // curl -X PATCH '.../conference/v2/meeting_rooms/{meeting_room_sid}' --data-binary '{"name":"Updated meeting room"}'
    const updated = await h().json("PATCH", `/conference/v2/meeting_rooms/${roomSid}`, {
      auth: u,
      body: '{"name":"Updated meeting room"}',
    });
    expect(updated.body).toEqual({ ...room.body, name: "Updated meeting room" });
    // curl -X DELETE '.../conference/v2/meeting_rooms/{meeting_room_sid}'
    const delRoom = await h().request("DELETE", `/conference/v2/meeting_rooms/${roomSid}`, { auth: u });
    expect(delRoom.status).toBe(204);
    expect(await delRoom.text()).toBe("");
    // curl -X DELETE '.../conference/v2/did_groups/{did_group_sid}'
    const delGroup = await h().request("DELETE", `/conference/v2/did_groups/${groupSid}`, { auth: u });
    expect(delGroup.status).toBe(204);
    expect(await delGroup.text()).toBe("");

    // The error samples.
    expect((await h().json("GET", "/conference/v2/accounts", { auth: null })).body).toEqual({
      message: "authentication required",
      errors: [{ field: "cause", message: "authentication required", reference_sid: null }],
    });
    expect((await h().json("GET", `/conference/v2/meeting_rooms/${roomSid}`, { auth: u })).body).toEqual({
      message: "no item error",
      errors: [{ field: null, message: "cannot find meeting room", reference_sid: null }],
    });
    expect((await h().json("PATCH", `/conference/v2/accounts/${accountSid}`, { auth: u, body: "{,}" })).body).toEqual({
      body: { message: "cannot parse json. Check json for validity", errors: null },
      status: 400,
    });
  });
});
