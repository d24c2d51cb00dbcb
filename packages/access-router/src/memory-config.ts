import type { AttributeOverrides, Role } from "@conf/call-flow";
import { normalizeDialed } from "./normalize.ts";
import type { AccessCodeMatch, ConfigPort, NumberMatch } from "./port.ts";

/** Plain config records for {@link createMemoryConfig}, shaped like the API's objects. */
export interface MemoryConfigData {
  accounts: { sid: string; attributes?: AttributeOverrides | null; callFlowSid?: string | null }[];
  didGroups: { sid: string; accountSid: string; attributes?: AttributeOverrides | null; callFlowSid?: string | null }[];
  dids: {
    sid: string;
    accountSid: string;
    phonenumber: string;
    didGroupSid?: string | null;
    attributes?: AttributeOverrides | null;
    callFlowSid?: string | null;
  }[];
  prefixes: { prefix: string; accountSid: string }[];
  meetingRooms: {
    sid: string;
    accountSid: string;
    name: string;
    didGroupSid?: string | null;
    attributes?: AttributeOverrides | null;
    callFlowSid?: string | null;
    accessCodes: { accessCode: string; role: Role }[];
  }[];
}

/** A {@link ConfigPort} over in-memory records; `data` stays live, edit it to change config. */
export interface MemoryConfig extends ConfigPort {
  readonly data: MemoryConfigData;
}

/**
 * An in-memory {@link ConfigPort} for tests and for running the mixer without a
 * database. Lookups follow the port's contract: exact DID match on normalized digits,
 * else the longest prefix the digits start with. Records pointing at a missing account
 * or DID group behave as if they did not exist, as foreign keys would ensure in SQL.
 * @example
 * const config = createMemoryConfig({ accounts: [{ sid: "a1", callFlowSid: DEFAULT_CALL_FLOW_SID }], dids: [{ sid: "d1", accountSid: "a1", phonenumber: "15162065919" }] });
 */
export function createMemoryConfig(data: Partial<MemoryConfigData> = {}): MemoryConfig {
  const d: MemoryConfigData = {
    accounts: data.accounts ?? [],
    didGroups: data.didGroups ?? [],
    dids: data.dids ?? [],
    prefixes: data.prefixes ?? [],
    meetingRooms: data.meetingRooms ?? [],
  };
  const level = (r: { sid: string; attributes?: AttributeOverrides | null; callFlowSid?: string | null }) => ({
    sid: r.sid,
    attributes: r.attributes ?? null,
    callFlowSid: r.callFlowSid ?? null,
  });
  const account = (sid: string) => d.accounts.find((a) => a.sid === sid);

  return {
    data: d,
    async findNumber(digits: string): Promise<NumberMatch | null> {
      for (const did of d.dids) {
        if (normalizeDialed(did.phonenumber) !== digits) continue;
        const acc = account(did.accountSid);
        if (!acc) continue;
        const group = did.didGroupSid
          ? d.didGroups.find((g) => g.sid === did.didGroupSid && g.accountSid === acc.sid)
          : undefined;
        return {
          kind: "did",
          account: level(acc),
          did: { ...level(did), phonenumber: normalizeDialed(did.phonenumber) },
          didGroup: group ? level(group) : null,
        };
      }
      let best: { prefix: string; accountSid: string } | undefined;
      for (const p of d.prefixes) {
        if (p.prefix.length > 0 && digits.startsWith(p.prefix) && account(p.accountSid)) {
          if (!best || p.prefix.length > best.prefix.length) best = p;
        }
      }
      const acc = best && account(best.accountSid);
      return best && acc ? { kind: "prefix", account: level(acc), prefix: best.prefix } : null;
    },
    async findAccessCode(accountSid: string, code: string): Promise<AccessCodeMatch | null> {
      for (const room of d.meetingRooms) {
        if (room.accountSid !== accountSid) continue;
        const ac = room.accessCodes.find((c) => c.accessCode === code);
        if (!ac) continue;
        return {
          meetingRoom: { ...level(room), name: room.name, didGroupSid: room.didGroupSid ?? null },
          role: ac.role,
        };
      }
      return null;
    },
  };
}
