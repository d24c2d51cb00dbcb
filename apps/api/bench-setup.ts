/**
 * What both API benches set up before loading it: an endpoint (and so an account) created
 * with the admin token, and the bench's meeting room with three codes, made through
 * `request` (fetch against a running service, or the app's own `request` in process);
 * and the live calls both list, joined straight into the store.
 */
import type { SessionStore } from "@conf/session-store";

export type BenchRequest = (path: string, init: RequestInit) => Promise<Response>;

export interface BenchAccount {
  accountSid: string;
  /** Authorization header value of the account (Basic). */
  auth: string;
  /** The answer to creating the room. */
  room: Response;
}

export async function benchAccount(request: BenchRequest, adminToken: string, endpointName: string): Promise<BenchAccount> {
  const ep = (await (
    await request("/core/v2/endpoints", {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: endpointName, type: "conference" }),
    })
  ).json()) as { properties: { account_sid: string; login: string; password: string } };
  const { account_sid: accountSid, login, password } = ep.properties;
  const auth = `Basic ${Buffer.from(`${login}:${password}`).toString("base64")}`;
  const room = await request("/conference/v2/meeting_rooms", {
    method: "POST",
    headers: { authorization: auth, "content-type": "application/json" },
    body: JSON.stringify({
      name: "bench",
      access_codes: [
        { access_code: "111111", role: "host" },
        { access_code: "222222", role: "participant" },
        { access_code: "333333", role: "listener" },
      ],
    }),
  });
  return { accountSid, auth, room };
}

/**
 * Joins `count` listener calls of `accountSid` into one meeting of `store`, as node
 * `nodeId`, so that /calls has a page to list.
 */
export async function joinBenchCalls(store: SessionStore, accountSid: string, nodeId: string, meeting: string, count: number) {
  for (let i = 0; i < count; i++) {
    const j = await store.join({
      meetingKey: `${accountSid}:${meeting}`,
      accountSid,
      meetingRoomSid: null,
      nodeId,
      call: {
        access_code: "333333",
        codecs: "PCMU",
        number_src: `<sip:1555000${i}@h>`,
        number_dst: "<sip:2@h>",
        name: "",
        direction: "In",
        role: "listener",
      },
    });
    if (!j.ok) throw new Error("join failed");
  }
}
