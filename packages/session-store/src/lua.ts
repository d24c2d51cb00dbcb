/**
 * The Redis adapter's operations as Lua scripts: Redis runs a script to the end before
 * any other command, so join/leave/update/end/renew/reap cannot interleave, and each is
 * one round trip.
 *
 * Key layout under the prefix P (ARGV[1] of every script):
 *   P m:<meeting_sid>   hash  meeting fields + key, node, lease (ms)
 *   P c:<call_sid>      hash  call fields + node
 *   P k:<meeting key>   string -> meeting_sid
 *   P mc:<meeting_sid>  set   call sids of the meeting
 *   P am:<account_sid>  set   meeting sids of the account
 *   P ac:<account_sid>  set   call sids of the account
 *   P nm:<node_id>      set   meeting sids owned by the node
 *   P leases            zset  meeting_sid scored by lease expiry (ms)
 * Scripts derive key names from their arguments, which a standalone server allows; on
 * Redis Cluster, put a hash tag in the prefix (e.g. `{conf}:`) so all keys share a slot.
 *
 * ARGV[2] is always `now` in ms from the store's clock, so leases follow one clock that
 * tests can drive. A meeting is alive while its lease is greater than now.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

const PRELUDE = `
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local LEASES = P .. 'leases'
local COUNTER = { host = 'hosts', participant = 'participants', listener = 'listeners' }
local function mk(s) return P .. 'm:' .. s end
local function ck(s) return P .. 'c:' .. s end
local function alive(msid)
  local l = redis.call('ZSCORE', LEASES, msid)
  return l ~= false and tonumber(l) > NOW
end
-- Removes a meeting, its calls and every index entry; returns { meeting, { call, ... } }.
local function destroy(msid)
  local k = mk(msid)
  local m = redis.call('HGETALL', k)
  if #m == 0 then
    redis.call('ZREM', LEASES, msid)
    return false
  end
  local acct = redis.call('HGET', k, 'account_sid')
  local key = redis.call('HGET', k, 'key')
  local node = redis.call('HGET', k, 'node')
  local mc = P .. 'mc:' .. msid
  local sids = redis.call('SMEMBERS', mc)
  local calls = {}
  for i = 1, #sids do
    local c = ck(sids[i])
    local h = redis.call('HGETALL', c)
    if #h > 0 then calls[#calls + 1] = h end
    redis.call('DEL', c)
    redis.call('SREM', P .. 'ac:' .. acct, sids[i])
  end
  redis.call('DEL', k, mc)
  if redis.call('GET', P .. 'k:' .. key) == msid then redis.call('DEL', P .. 'k:' .. key) end
  redis.call('SREM', P .. 'am:' .. acct, msid)
  redis.call('SREM', P .. 'nm:' .. node, msid)
  redis.call('ZREM', LEASES, msid)
  return { m, calls }
end
`;

const SCRIPTS = {
  /**
   * ARGV: 3 lease, 4 key, 5 new meeting sid, 6 account, 7 room ('' = none), 8 node,
   * 9 participant_muted, 10 on_hold, 11 call sid, 12 role, 13 access_code, 14 codecs,
   * 15 number_src, 16 number_dst, 17 name, 18 direction, 19 date_created, 20 muted,
   * 21 on_hold (call), 22 gain_level.
   * -> { 'ok', created, meeting, call, reaped|nil } | { 'locked', meeting, reaped|nil } | { 'duplicate' }
   */
  join: `
local kk = P .. 'k:' .. ARGV[4]
local msid = redis.call('GET', kk)
local reaped = false
if msid and not alive(msid) then
  reaped = destroy(msid)
  msid = false
end
local callSid = ARGV[11]
if redis.call('EXISTS', ck(callSid)) == 1 then return { 'duplicate' } end
local role = ARGV[12]
local created = 0
if msid then
  if role ~= 'host' and redis.call('HGET', mk(msid), 'locked') == '1' then
    return { 'locked', redis.call('HGETALL', mk(msid)), reaped }
  end
else
  created = 1
  msid = ARGV[5]
  redis.call('HSET', mk(msid), 'account_sid', ARGV[6], 'meeting_sid', msid, 'date_created', ARGV[2],
    'locked', '0', 'on_hold', ARGV[10], 'participant_muted', ARGV[9], 'recording', '0',
    'hosts', '0', 'participants', '0', 'listeners', '0', 'key', ARGV[4], 'node', ARGV[8], 'lease', ARGV[3])
  if ARGV[7] ~= '' then redis.call('HSET', mk(msid), 'meeting_room_sid', ARGV[7]) end
  redis.call('SET', kk, msid)
  redis.call('SADD', P .. 'am:' .. ARGV[6], msid)
  redis.call('SADD', P .. 'nm:' .. ARGV[8], msid)
  redis.call('ZADD', LEASES, ARGV[3], msid)
end
local m = mk(msid)
local acct = redis.call('HGET', m, 'account_sid')
local room = redis.call('HGET', m, 'meeting_room_sid')
local c = ck(callSid)
redis.call('HSET', c, 'access_code', ARGV[13], 'account_sid', acct, 'call_sid', callSid, 'codecs', ARGV[14],
  'date_created', ARGV[19], 'date_joined', ARGV[2], 'direction', ARGV[18], 'gain_level', ARGV[22],
  'meeting_sid', msid, 'muted', ARGV[20], 'name', ARGV[17], 'number_dst', ARGV[16], 'number_src', ARGV[15],
  'on_hold', ARGV[21], 'role', role, 'node', ARGV[8])
if room then redis.call('HSET', c, 'meeting_room_sid', room) end
redis.call('SADD', P .. 'mc:' .. msid, callSid)
redis.call('SADD', P .. 'ac:' .. acct, callSid)
redis.call('HINCRBY', m, COUNTER[role], 1)
return { 'ok', created, redis.call('HGETALL', m), redis.call('HGETALL', c), reaped }
`,
  /** ARGV: 3 call sid. -> nil | { call, meeting|nil, ended } */
  leave: `
local c = ck(ARGV[3])
local call = redis.call('HGETALL', c)
if #call == 0 then return false end
local msid = redis.call('HGET', c, 'meeting_sid')
local role = redis.call('HGET', c, 'role')
local acct = redis.call('HGET', c, 'account_sid')
redis.call('DEL', c)
redis.call('SREM', P .. 'mc:' .. msid, ARGV[3])
redis.call('SREM', P .. 'ac:' .. acct, ARGV[3])
local m = mk(msid)
if redis.call('EXISTS', m) == 0 then return { call, false, 1 } end
redis.call('HINCRBY', m, COUNTER[role], -1)
if redis.call('SCARD', P .. 'mc:' .. msid) == 0 then
  local d = destroy(msid)
  return { call, d[1], 1 }
end
return { call, redis.call('HGETALL', m), 0 }
`,
  /** ARGV: 3 call sid. -> nil | call */
  getCall: `
local c = ck(ARGV[3])
local msid = redis.call('HGET', c, 'meeting_sid')
if not msid or not alive(msid) then return false end
return redis.call('HGETALL', c)
`,
  /** ARGV: 3 meeting sid. -> nil | meeting */
  getMeeting: `
if not alive(ARGV[3]) then return false end
return redis.call('HGETALL', mk(ARGV[3]))
`,
  /** ARGV: 3 meeting key. -> nil | meeting */
  getMeetingByKey: `
local msid = redis.call('GET', P .. 'k:' .. ARGV[3])
if not msid or not alive(msid) then return false end
return redis.call('HGETALL', mk(msid))
`,
  /** ARGV: 3 account. -> { sawExpired, { call, ... } } */
  listCalls: `
local sids = redis.call('SMEMBERS', P .. 'ac:' .. ARGV[3])
local seen = {}
local out = {}
local expired = 0
for i = 1, #sids do
  local c = ck(sids[i])
  local msid = redis.call('HGET', c, 'meeting_sid')
  if msid then
    local a = seen[msid]
    if a == nil then
      a = alive(msid)
      seen[msid] = a
    end
    if a then out[#out + 1] = redis.call('HGETALL', c) else expired = 1 end
  end
end
return { expired, out }
`,
  /** ARGV: 3 account. -> { sawExpired, { meeting, ... } } */
  listMeetings: `
local sids = redis.call('SMEMBERS', P .. 'am:' .. ARGV[3])
local out = {}
local expired = 0
for i = 1, #sids do
  if alive(sids[i]) then
    local h = redis.call('HGETALL', mk(sids[i]))
    if #h > 0 then out[#out + 1] = h end
  else
    expired = 1
  end
end
return { expired, out }
`,
  /** ARGV: 3 meeting sid. -> { call, ... } */
  listCallsOfMeeting: `
local out = {}
if not alive(ARGV[3]) then return out end
local sids = redis.call('SMEMBERS', P .. 'mc:' .. ARGV[3])
for i = 1, #sids do
  local h = redis.call('HGETALL', ck(sids[i]))
  if #h > 0 then out[#out + 1] = h end
end
return out
`,
  /** ARGV: 3 call sid, then field, value pairs. -> nil | { call, { changed field, ... } } */
  updateCall: `
local c = ck(ARGV[3])
local msid = redis.call('HGET', c, 'meeting_sid')
if not msid or not alive(msid) then return false end
local changed = {}
for i = 4, #ARGV, 2 do
  if redis.call('HGET', c, ARGV[i]) ~= ARGV[i + 1] then
    redis.call('HSET', c, ARGV[i], ARGV[i + 1])
    changed[#changed + 1] = ARGV[i]
  end
end
return { redis.call('HGETALL', c), changed }
`,
  /** ARGV: 3 meeting sid, then field, value pairs. -> nil | { meeting, { changed field, ... } } */
  updateMeeting: `
if not alive(ARGV[3]) then return false end
local m = mk(ARGV[3])
if redis.call('EXISTS', m) == 0 then return false end
local changed = {}
for i = 4, #ARGV, 2 do
  if redis.call('HGET', m, ARGV[i]) ~= ARGV[i + 1] then
    redis.call('HSET', m, ARGV[i], ARGV[i + 1])
    changed[#changed + 1] = ARGV[i]
  end
end
return { redis.call('HGETALL', m), changed }
`,
  /** ARGV: 3 meeting sid. -> nil | destroyed */
  endMeeting: `
if not alive(ARGV[3]) then return false end
return destroy(ARGV[3])
`,
  /** ARGV: 3 node, 4 new lease. -> { renewed, { destroyed, ... } } */
  renewLease: `
local nm = P .. 'nm:' .. ARGV[3]
local ms = redis.call('SMEMBERS', nm)
local renewed = 0
local lost = {}
for i = 1, #ms do
  if alive(ms[i]) then
    redis.call('HSET', mk(ms[i]), 'lease', ARGV[4])
    redis.call('ZADD', LEASES, ARGV[4], ms[i])
    renewed = renewed + 1
  else
    local d = destroy(ms[i])
    if d then lost[#lost + 1] = d else redis.call('SREM', nm, ms[i]) end
  end
end
return { renewed, lost }
`,
  /** ARGV: 3 limit. -> { destroyed, ... } */
  reapExpired: `
local ms = redis.call('ZRANGEBYSCORE', LEASES, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i = 1, #ms do
  local d = destroy(ms[i])
  if d then out[#out + 1] = d end
end
return out
`,
  /** ARGV: 3 meeting sid, 4 channel prefix, 5 payload. -> nil | receivers */
  publishToOwner: `
if not alive(ARGV[3]) then return false end
local node = redis.call('HGET', mk(ARGV[3]), 'node')
if not node then return false end
return redis.call('PUBLISH', ARGV[4] .. node, ARGV[5])
`,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

interface Compiled {
  lua: string;
  sha: string;
}

const compiled = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, body]) => {
    const lua = PRELUDE + body;
    return [name, { lua, sha: createHash("sha1").update(lua).digest("hex") }];
  }),
) as Record<ScriptName, Compiled>;

/**
 * Runs a script by its SHA1 (EVALSHA) and, when the server does not have it yet (after
 * a restart or a SCRIPT FLUSH), by its text (EVAL), which also caches it there.
 */
export async function runScript(redis: Redis, name: ScriptName, args: readonly (string | number)[]): Promise<unknown> {
  const s = compiled[name];
  try {
    return await redis.evalsha(s.sha, 0, ...args);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("NOSCRIPT")) return redis.eval(s.lua, 0, ...args);
    throw err;
  }
}
