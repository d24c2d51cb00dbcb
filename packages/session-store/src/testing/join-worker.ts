/**
 * A separate process for the cross-process join test: waits until a shared start time,
 * fires its joins at once, prints what they returned as JSON, and exits.
 * argv: redisUrl prefix meetingKey count startAtMs workerId
 */
import { createSessionStore } from "../store.ts";

const [url, prefix, key, countArg, startArg, worker] = process.argv.slice(2);
if (!url || !prefix || !key || !countArg || !startArg || !worker) {
  console.error("usage: join-worker <redisUrl> <prefix> <meetingKey> <count> <startAtMs> <workerId>");
  process.exit(2);
}
const store = createSessionStore({ redisUrl: url, prefix });
// Connect before the start line so both processes race on the joins, not on connecting.
await store.getMeetingByKey(key);
await Bun.sleep(Math.max(0, Number(startArg) - Date.now()));
const results = await Promise.all(
  Array.from({ length: Number(countArg) }, (_, i) =>
    store.join({
      meetingKey: key,
      accountSid: "acct-xproc",
      meetingRoomSid: null,
      nodeId: `node-${worker}`,
      call: {
        call_sid: `${worker}-${i}`,
        access_code: "1234",
        codecs: "PCMU",
        number_src: "<sip:1@127.0.0.1>",
        number_dst: "<sip:2@127.0.0.1>",
        name: "",
        direction: "In",
        role: i % 2 === 0 ? "participant" : "listener",
      },
    }),
  ),
);
console.log(
  JSON.stringify(results.map((r) => (r.ok ? { meeting_sid: r.meeting.meeting_sid, created: r.created } : { refused: r.reason }))),
);
await store.close();
