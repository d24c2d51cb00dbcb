/**
 * How long one 64 KB INVITE (16,500 payload types) holds the event loop of a mixer
 * node: a 1 ms timer probe records the longest gap while each INVITE is handled.
 * `bun run scripts/measure-big-invite.ts [--no-limits]`; --no-limits raises the
 * message and SDP limits out of the way (the cost as it was before them).
 */
import { createAccessRouter, createMemoryConfig } from "@conf/access-router";
import { BUILT_IN_CALL_FLOWS } from "@conf/call-flow";
import { createSessionStore } from "@conf/session-store";
import { loadPrompts } from "@conf/media";
import { MixerNode } from "../src/node.ts";
import { request, sdp } from "@conf/sip/test-peer";

const noLimits = process.argv.includes("--no-limits");
const small = process.argv.includes("--small");
const none = process.argv.includes("--none");
const sendTo = process.argv.indexOf("--send");
if (sendTo >= 0) {
  const port = Number(process.argv[sendTo + 1]);
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  for (let i = 0; i < 20; i++) {
    await Bun.sleep(300);
    const body = process.argv.includes("--small") ? sdp(4000) : bigBody();
    const msg = request({ method: "INVITE", uaPort: port, peerPort: s.port, callId: `big-${i}`, cseq: 1, body });
    if (i === 0) console.log(msg.length);
    if (!process.argv.includes("--none")) s.send(msg, port, "127.0.0.1");
  }
  await Bun.sleep(300);
  process.exit(0);
}

function bigBody(): string {
  const pts = Array.from({ length: 16_500 }, (_, i) => String(96 + (i % 32))).join(" ");
  return sdp(4000).replace("RTP/AVP 0 101", `RTP/AVP 0 101 ${pts}`);
}
const prompts = loadPrompts();
if (!prompts.ok) throw new Error(prompts.error);
const secured = BUILT_IN_CALL_FLOWS.find((f) => f.name === "secured")?.callFlowSid ?? "";
const node = new MixerNode({
  router: createAccessRouter({
    config: createMemoryConfig({
      accounts: [{ sid: "A1", callFlowSid: secured }],
      dids: [{ sid: "D1", accountSid: "A1", phonenumber: "15162065919" }],
    }),
  }),
  store: createSessionStore({}),
  prompts: prompts.library,
  nodeId: "measure",
  sipHost: "127.0.0.1",
  sipPort: 0,
  rtpPortMin: 46000,
  rtpPortMax: 46999,
  sourceLimits: { invitesPerSecond: 1000, burst: 1000, pendingPerSource: 1000, callsPerSource: 1000 },
  messageLimits: noLimits ? { maxMessageBytes: 65535, maxHeaders: 1000, sdpMaxFormats: 1_000_000, sdpMaxMedia: 1000 } : undefined,
  log: () => {},
});
await node.start();
// The sender is another process, so only the node's work shows in this event loop.
const gaps: number[] = [];
let last = performance.now();
let probing = true;
const probe = () => {
  const t = performance.now();
  gaps.push(t - last);
  last = t;
  if (probing) setTimeout(probe, 1);
};
probe();
const cpu0 = process.cpuUsage();
const sender = Bun.spawn(
  ["bun", "run", import.meta.path, "--send", String(node.sipPort), ...(small ? ["--small"] : []), ...(none ? ["--none"] : [])],
  { stdout: "pipe" },
);
const bytes = (await new Response(sender.stdout).text()).trim();
await sender.exited;
probing = false;
const cpu = process.cpuUsage(cpu0);
gaps.sort((a, b) => b - a);
const top = gaps.slice(0, 20);
console.log(
  `${noLimits ? "without limits" : "with limits"}: ${bytes}-byte INVITE x20, the 20 longest event-loop gaps (1 ms timer probe): ` +
    `median ${top[10]?.toFixed(1)} ms, max ${top[0]?.toFixed(1)} ms, 20th ${top[19]?.toFixed(1)} ms; ` +
    `node CPU over the run ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms${small ? " (small INVITEs)" : ""}${none ? " (nothing sent: idle baseline)" : ""}`,
);
await node.stop();
process.exit(0);
