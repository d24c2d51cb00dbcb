/**
 * The access router's test world (test support, not exported from the package): three
 * accounts with numbers, DID groups, rooms and codes, and a router over it whose port
 * calls are counted.
 */
import { BUILT_IN_CALL_FLOWS } from "@conf/call-flow";
import type { PromptContext } from "../decision.ts";
import { createMemoryConfig, type MemoryConfigData } from "../memory-config.ts";
import type { ConfigPort } from "../port.ts";
import { type AccessRouterOptions, createAccessRouter } from "../router.ts";

export const flowSid = (name: string) => {
  const f = BUILT_IN_CALL_FLOWS.find((c) => c.name === name);
  if (!f) throw new Error(`no built-in flow ${name}`);
  return f.callFlowSid;
};
export const SECURED = flowSid("secured");
export const OPEN = flowSid("open");
export const DIRECT_HOST = flowSid("direct_host");
export const DIRECT_PARTICIPANT = flowSid("direct_participant");

/** A small world: A1 (secured) with DID groups and rooms, A2 (direct_participant), A3 (no flow), A4 (bad flow SID). */
export function world(): MemoryConfigData {
  return {
    accounts: [
      { sid: "A1", callFlowSid: SECURED, attributes: { conference_entrytones: "off", conference_moh: "jazz" } },
      { sid: "A2", callFlowSid: DIRECT_PARTICIPANT },
      { sid: "A3", callFlowSid: null },
      { sid: "A4", callFlowSid: "00000000-0000-0000-0000-000000000000" },
    ],
    didGroups: [
      { sid: "G1", accountSid: "A1", attributes: { conference_exittones: "off", conference_moh: "rock" } },
      { sid: "G2", accountSid: "A1" },
      { sid: "G3", accountSid: "A1", callFlowSid: OPEN },
      { sid: "G4", accountSid: "A3", callFlowSid: OPEN },
    ],
    dids: [
      { sid: "D1", accountSid: "A1", phonenumber: "15550000001" },
      { sid: "D2", accountSid: "A1", phonenumber: "15550000002", didGroupSid: "G1", attributes: { conference_stop_wait: "20" } },
      { sid: "D3", accountSid: "A1", phonenumber: "15550000003", didGroupSid: "G1" },
      { sid: "D4", accountSid: "A1", phonenumber: "15550000004", didGroupSid: "G2" },
      { sid: "D5", accountSid: "A1", phonenumber: "15550000005", callFlowSid: DIRECT_HOST },
      { sid: "D6", accountSid: "A1", phonenumber: "15550000006", callFlowSid: DIRECT_PARTICIPANT, didGroupSid: "G3" },
      { sid: "D7", accountSid: "A1", phonenumber: "15550000007", callFlowSid: OPEN },
      { sid: "D8", accountSid: "A1", phonenumber: "15550000008", didGroupSid: "G3" },
      { sid: "D9", accountSid: "A2", phonenumber: "15550000009" },
      { sid: "D10", accountSid: "A3", phonenumber: "15550000010" },
      { sid: "D11", accountSid: "A3", phonenumber: "15550000011", callFlowSid: SECURED },
      { sid: "D12", accountSid: "A3", phonenumber: "15550000012", didGroupSid: "G4" },
      { sid: "D13", accountSid: "A4", phonenumber: "15550000013" },
      // Exact DID match wins over a prefix that also starts it.
      { sid: "D14", accountSid: "A1", phonenumber: "77771234" },
    ],
    prefixes: [
      { prefix: "7777", accountSid: "A1" },
      { prefix: "77778", accountSid: "A2" },
      { prefix: "8888", accountSid: "A3" },
    ],
    meetingRooms: [
      {
        sid: "R1",
        accountSid: "A1",
        name: "everyone",
        attributes: { conference_entrytones: "on", call_mute_dtmf_binding: "*0" },
        accessCodes: [
          { accessCode: "1001", role: "host" },
          { accessCode: "1002", role: "participant" },
          { accessCode: "1003", role: "listener" },
        ],
      },
      {
        sid: "R2",
        accountSid: "A1",
        name: "group one only",
        didGroupSid: "G1",
        accessCodes: [
          { accessCode: "2001", role: "host" },
          { accessCode: "2002", role: "listener" },
        ],
      },
      {
        sid: "R3",
        accountSid: "A2",
        name: "other account",
        accessCodes: [{ accessCode: "3001", role: "host" }],
      },
      {
        sid: "R4",
        accountSid: "A3",
        name: "no-flow account room",
        accessCodes: [{ accessCode: "4001", role: "participant" }],
      },
    ],
  };
}

/** Wraps a port to count its calls. */
export function counting(port: ConfigPort) {
  const calls = { findNumber: 0, findAccessCode: 0 };
  const counted: ConfigPort = {
    findNumber: (d) => {
      calls.findNumber++;
      return port.findNumber(d);
    },
    findAccessCode: (a, c) => {
      calls.findAccessCode++;
      return port.findAccessCode(a, c);
    },
  };
  return { port: counted, calls };
}

export function setup(opts: Partial<AccessRouterOptions> = {}) {
  const config = createMemoryConfig(world());
  const { port, calls } = counting(config);
  const router = createAccessRouter({ config: port, ...opts });
  return { config, calls, router };
}

export const inbound = (dialed: string) => ({ dialed, caller: "15557770000", transport: "udp" as const });

export async function prompt(router: ReturnType<typeof createAccessRouter>, dialed: string): Promise<PromptContext> {
  const d = await router.route(inbound(dialed));
  if (d.kind !== "prompt") throw new Error(`expected a prompt for ${dialed}, got ${JSON.stringify(d)}`);
  return d.context;
}
