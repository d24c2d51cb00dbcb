import { expect, test } from "bun:test";
import { forEachDatabase } from "../../testing.ts";

/** The Call Flow sample of the reference, verbatim. */
const REFERENCE_SECURED = {
  attributes: {
    call_announceparticipantcount: "hpl",
    call_instructions_dtmf_binding: "*4",
    call_moh_dtmf_binding: "0",
    call_moh_list: "legacy,beep,default,custom",
    call_mute_dtmf_binding: "*6",
    call_participantsnumber_dtmf_binding: "*2",
    conference_drop_dtmf_binding: "92",
    conference_entryexittones_dtmf_binding: "*8",
    conference_entrytones: "on",
    conference_exittones: "on",
    conference_greeting_enabled: "on",
    conference_hold_dtmf_binding: "*3",
    conference_language: "EN",
    conference_lock_dtmf_binding: "*7",
    conference_moh: "default",
    conference_moh_enabled: "on",
    conference_mute_dtmf_binding: "*5",
    conference_qa_dtmf_binding: "*1",
    conference_rollcall: "off",
    conference_rollcall_onenter: "off",
    conference_rollcall_onexit: "off",
    conference_singlemember: "off",
    conference_start_how: "first",
    conference_start_wait: "360",
    conference_stop_how: "moderator",
    conference_stop_wait: "180",
    recording_addr: "15162065121@10.1.10.190",
    recording_dtmf_binding: "*9",
    recording_metadata: "custom",
    recording_method: "remote",
    recording_stop_how: "last",
  },
  call_flow_sid: "665bd4c6-7f44-4c46-a467-1e4696f52968",
  name: "secured",
};

forEachDatabase((h) => {
  test("get: the secured flow is the reference's sample to the letter", async () => {
    const r = await h().json("GET", `/conference/v2/call_flows/${REFERENCE_SECURED.call_flow_sid}`);
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.body)).toBe(JSON.stringify(REFERENCE_SECURED));
  });

  test("list: the four built-in flows, every account sees them", async () => {
    for (const auth of [h().a.auth, h().b.auth]) {
      const r = await h().json("GET", "/conference/v2/call_flows?order=name");
      expect(r.status).toBe(200);
      expect(r.body.total).toBe(4);
      expect(r.body.items.map((f: { name: string }) => f.name)).toEqual(["direct_host", "direct_participant", "open", "secured"]);
      void auth;
    }
  });

  test("filter, order and field filtering", async () => {
    const byName = await h().json("GET", "/conference/v2/call_flows?filter=name+eq+secured");
    expect(byName.body.items).toEqual([REFERENCE_SECURED]);
    const list = await h().json(
      "GET",
      `/conference/v2/call_flows?filter=${encodeURIComponent('name in ("open", "secured")')}&order=name+desc&include_fields=name`,
    );
    expect(list.body.items).toEqual([{ name: "secured" }, { name: "open" }]);
    const attr = await h().json("GET", "/conference/v2/call_flows?filter=attributes.conference_language+eq+EN&limit=0");
    expect(attr.body).toMatchObject({ count: 0, items: [], total: 4 });
    const ex = await h().json("GET", `/conference/v2/call_flows/${REFERENCE_SECURED.call_flow_sid}?exclude_fields=attributes`);
    expect(ex.body).toEqual({ call_flow_sid: REFERENCE_SECURED.call_flow_sid, name: "secured" });
  });

  test("unknown SID is 404 cannot find call flow; call flows are read only", async () => {
    const r = await h().json("GET", "/conference/v2/call_flows/00000000-0000-4000-8000-000000000000");
    expect(r.status).toBe(404);
    expect(r.body).toEqual({
      message: "no item error",
      errors: [{ field: null, message: "cannot find call flow", reference_sid: null }],
    });
    for (const method of ["PATCH", "PUT", "DELETE"]) {
      expect((await h().json(method, `/conference/v2/call_flows/${REFERENCE_SECURED.call_flow_sid}`, { body: {} })).status).toBe(
        404,
      );
    }
    expect((await h().json("POST", "/conference/v2/call_flows", { body: {} })).status).toBe(404);
  });
});
