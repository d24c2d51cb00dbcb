/**
 * The Redis adapter's operations as Lua scripts: Redis runs a script to the end before
 * any other command, so join/leave/update/end/renew/reap cannot interleave, and each is
 * one round trip.
 *
 * Key layout under the prefix P (ARGV[1] of every script):
 *   P m:<meeting_sid>   string  MeetingRecord as JSON (records.ts), incl. key, node, lease
 *   P c:<call_sid>      string  CallRecord as JSON, incl. node
 *   P k:<meeting key>   string  -> meeting_sid
 *   P mc:<meeting_sid>  set     call sids of the meeting
 *   P am:<account_sid>  set     meeting sids of the account
 *   P ac:<account_sid>  set     call sids of the account
 *   P nm:<node_id>      set     meeting sids owned by the node
 *   P leases            zset    meeting_sid scored by lease expiry (ms); equal to the record's `lease`
 *   P l:<call_sid>      string  LobbyRecord as JSON: a call at the access-code prompt (its own lease)
 *   P al:<account_sid>  set     call sids of the account at the prompt
 *   P nl:<node_id>      set     call sids at the prompt on the node (renewed with its meetings)
 *   P lobby             zset    lobby call sid scored by lease expiry (ms); equal to the record's `lease`
 *   P epoch             string  a random id written by the first client to find it missing:
 *                               a client that knew another one knows Redis lost its data
 *   P settling          string  (expires) set by the client that found the epoch gone: the
 *                               time the mixers have to restore their meetings (store.ts)
 * Records are JSON rather than hashes because listing is the hot read: MGET of a few
 * thousand strings costs Redis well under a millisecond, where an HGETALL per call in a
 * script cost tens. Scripts that change a record decode and re-encode it with cjson.
 * cjson prints numbers with 14 significant digits: ms timestamps have 13 until 2286.
 *
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
local LOBBY = P .. 'lobby'
local COUNTER = { host = 'hosts', participant = 'participants', listener = 'listeners' }
local CHUNK = 500
local function mk(s) return P .. 'm:' .. s end
local function ck(s) return P .. 'c:' .. s end
local function lk(s) return P .. 'l:' .. s end
-- Removes a lobby record and its index entries; returns its JSON, or false when there is none.
local function dropLobby(sid)
  local s = redis.call('GET', lk(sid))
  redis.call('ZREM', LOBBY, sid)
  if not s then return false end
  local l = cjson.decode(s)
  redis.call('DEL', lk(sid))
  redis.call('SREM', P .. 'al:' .. l.account_sid, sid)
  redis.call('SREM', P .. 'nl:' .. l.node, sid)
  return s
end
local function alive(msid)
  local l = redis.call('ZSCORE', LEASES, msid)
  return l ~= false and tonumber(l) > NOW
end
local function getm(msid)
  local s = redis.call('GET', mk(msid))
  if s then return cjson.decode(s) end
  return nil
end
-- GET of many keys, in chunks (unpack has a stack limit); missing keys are skipped.
local function mget(keys, out)
  for i = 1, #keys, CHUNK do
    local vals = redis.call('MGET', unpack(keys, i, math.min(i + CHUNK - 1, #keys)))
    for j = 1, #vals do
      if vals[j] then out[#out + 1] = vals[j] end
    end
  end
  return out
end
local function callsOf(msid)
  local sids = redis.call('SMEMBERS', P .. 'mc:' .. msid)
  for i = 1, #sids do sids[i] = ck(sids[i]) end
  return mget(sids, {})
end
-- Removes a meeting, its calls and every index entry; returns { meeting, { call, ... } } as JSON.
local function destroy(msid)
  local s = redis.call('GET', mk(msid))
  if not s then
    redis.call('ZREM', LEASES, msid)
    return false
  end
  local m = cjson.decode(s)
  local mc = P .. 'mc:' .. msid
  local sids = redis.call('SMEMBERS', mc)
  local calls = {}
  for i = 1, #sids do
    local c = ck(sids[i])
    local cs = redis.call('GET', c)
    if cs then calls[#calls + 1] = cs end
    redis.call('DEL', c)
    redis.call('SREM', P .. 'ac:' .. m.account_sid, sids[i])
  end
  redis.call('DEL', mk(msid), mc)
  local kk = P .. 'k:' .. m.key
  if redis.call('GET', kk) == msid then redis.call('DEL', kk) end
  redis.call('SREM', P .. 'am:' .. m.account_sid, msid)
  redis.call('SREM', P .. 'nm:' .. m.node, msid)
  redis.call('ZREM', LEASES, msid)
  return { s, calls }
end
-- The store's epoch (see the key layout): creates it when missing. A client that knew an
-- epoch and finds none has found Redis emptied under it, and opens the settling window.
local function epoch(known, candidate, grace)
  local cur = redis.call('GET', P .. 'epoch')
  if cur then return cur end
  redis.call('SET', P .. 'epoch', candidate)
  if known ~= '' then redis.call('SET', P .. 'settling', candidate, 'PX', grace) end
  return candidate
end
local function settling() return redis.call('EXISTS', P .. 'settling') == 1 end
-- Stores call c as a member of meeting m (sid msid), counted in its attendees (the
-- caller writes m), and drops its record at the prompt; returns the call's JSON.
local function attach(c, m, msid)
  c.account_sid = m.account_sid
  c.meeting_room_sid = m.meeting_room_sid
  c.meeting_sid = msid
  local f = COUNTER[c.role]
  m[f] = m[f] + 1
  local cs = cjson.encode(c)
  redis.call('SET', ck(c.call_sid), cs)
  redis.call('SADD', P .. 'mc:' .. msid, c.call_sid)
  redis.call('SADD', P .. 'ac:' .. m.account_sid, c.call_sid)
  dropLobby(c.call_sid)
  return cs
end
-- Sets the fields of a JSON patch on a decoded record; returns the names of those that changed.
local function patch(r, json)
  local changed = {}
  for k, v in pairs(cjson.decode(json)) do
    if r[k] ~= v then
      r[k] = v
      changed[#changed + 1] = k
    end
  end
  return changed
end
`;

const SCRIPTS = {
  /**
   * ARGV: 3 meeting key, 4 new MeetingRecord JSON (used if none is alive for the key),
   * 5 CallRecord JSON (account_sid, meeting_room_sid, meeting_sid filled in here),
   * 6 known epoch ('' if none), 7 new epoch candidate, 8 settling window ms, 9 '1': create
   * even while settling.
   * -> { 'ok', created, meeting, call, reaped|nil, epoch } | { 'locked', meeting, reaped|nil, epoch }
   *  | { 'duplicate', epoch } | { 'wait', epoch } (no live meeting for the key while settling)
   */
  join: `
local ep = epoch(ARGV[6], ARGV[7], ARGV[8])
local kk = P .. 'k:' .. ARGV[3]
local msid = redis.call('GET', kk)
if (not msid or not alive(msid)) and ARGV[9] ~= '1' and settling() then return { 'wait', ep } end
local reaped = false
if msid and not alive(msid) then
  reaped = destroy(msid)
  msid = false
end
local c = cjson.decode(ARGV[5])
if redis.call('EXISTS', ck(c.call_sid)) == 1 then return { 'duplicate', ep } end
local m = msid and getm(msid)
if msid and not m then
  -- An index entry without its record (only if someone deleted keys by hand): start afresh.
  destroy(msid)
  msid = false
end
local created = 0
if msid then
  if c.role ~= 'host' and m.locked then return { 'locked', cjson.encode(m), reaped, ep } end
else
  created = 1
  m = cjson.decode(ARGV[4])
  msid = m.meeting_sid
  redis.call('SET', kk, msid)
  redis.call('SADD', P .. 'am:' .. m.account_sid, msid)
  redis.call('SADD', P .. 'nm:' .. m.node, msid)
  redis.call('ZADD', LEASES, m.lease, msid)
end
-- The caller at the prompt is this call now: same sid, one record.
local cs = attach(c, m, msid)
local ms = cjson.encode(m)
redis.call('SET', mk(msid), ms)
return { 'ok', created, ms, cs, reaped, ep }
`,
  /** ARGV: 3 call sid. -> nil | { call, meeting|nil, ended } */
  leave: `
local cs = redis.call('GET', ck(ARGV[3]))
if not cs then return false end
local c = cjson.decode(cs)
redis.call('DEL', ck(ARGV[3]))
redis.call('SREM', P .. 'mc:' .. c.meeting_sid, ARGV[3])
redis.call('SREM', P .. 'ac:' .. c.account_sid, ARGV[3])
local m = getm(c.meeting_sid)
if not m then return { cs, false, 1 } end
local f = COUNTER[c.role]
m[f] = m[f] - 1
local ms = cjson.encode(m)
redis.call('SET', mk(c.meeting_sid), ms)
if redis.call('SCARD', P .. 'mc:' .. c.meeting_sid) == 0 then
  destroy(c.meeting_sid)
  return { cs, ms, 1 }
end
return { cs, ms, 0 }
`,
  /**
   * ARGV: 3 call sid. -> nil | { call, lease of its meeting|nil } | { lobby record, its lease|nil }
   * (a lobby record's JSON has "meeting_sid":null)
   */
  getCall: `
local cs = redis.call('GET', ck(ARGV[3]))
if not cs then
  local ls = redis.call('GET', lk(ARGV[3]))
  if not ls then return false end
  return { ls, redis.call('ZSCORE', LOBBY, ARGV[3]) }
end
return { cs, redis.call('ZSCORE', LEASES, cjson.decode(cs).meeting_sid) }
`,
  /** ARGV: 3 call sid, 4 LobbyRecord JSON, 5 account, 6 node, 7 lease. -> 1 | 0 (call sid in use) */
  enter: `
if redis.call('EXISTS', ck(ARGV[3])) == 1 or redis.call('EXISTS', lk(ARGV[3])) == 1 then return 0 end
redis.call('SET', lk(ARGV[3]), ARGV[4])
redis.call('SADD', P .. 'al:' .. ARGV[5], ARGV[3])
redis.call('SADD', P .. 'nl:' .. ARGV[6], ARGV[3])
redis.call('ZADD', LOBBY, ARGV[7], ARGV[3])
return 1
`,
  /** ARGV: 3 call sid. -> nil | lobby record (removed, alive or not) */
  leaveLobby: `
return dropLobby(ARGV[3])
`,
  /** ARGV: 3 meeting key. -> { meeting|nil, settling (0|1) } */
  getMeetingByKey: `
local msid = redis.call('GET', P .. 'k:' .. ARGV[3])
local ms = msid and redis.call('GET', mk(msid))
return { ms, settling() and 1 or 0 }
`,
  /**
   * ARGV: 3 account. -> { { call, ... }, { meeting sid, ... }, { lease|nil, ... }, { lobby record, ... } }
   * (lobby records carry their lease: the reader keeps the live ones)
   */
  listCalls: `
local sids = redis.call('SMEMBERS', P .. 'ac:' .. ARGV[3])
for i = 1, #sids do sids[i] = ck(sids[i]) end
local calls = mget(sids, {})
local msids = redis.call('SMEMBERS', P .. 'am:' .. ARGV[3])
local leases = {}
for i = 1, #msids, CHUNK do
  local part = redis.call('ZMSCORE', LEASES, unpack(msids, i, math.min(i + CHUNK - 1, #msids)))
  for j = 1, #part do leases[#leases + 1] = part[j] end
end
local lsids = redis.call('SMEMBERS', P .. 'al:' .. ARGV[3])
for i = 1, #lsids do lsids[i] = lk(lsids[i]) end
return { calls, msids, leases, mget(lsids, {}) }
`,
  /**
   * ARGV: 3 account, 4 offset, 5 limit. -> { { call, ... }, total, sawExpired (0|1) }
   * The calls of listCalls in the same order (the account's set, those of live meetings),
   * but only the page's records are read. When every meeting of the account is alive,
   * every call of the set counts; otherwise the live meetings' call sets say which do.
   */
  listCallsPage: `
local offset = tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
local msids = redis.call('SMEMBERS', P .. 'am:' .. ARGV[3])
local live = nil
local expired = 0
for i = 1, #msids, CHUNK do
  local part = { unpack(msids, i, math.min(i + CHUNK - 1, #msids)) }
  local leases = redis.call('ZMSCORE', LEASES, unpack(part))
  for j = 1, #part do
    if leases[j] and tonumber(leases[j]) > NOW then
      if live then live[part[j]] = true end
    else
      if not live then
        -- First dead meeting: the live ones seen so far, then the rest as they come.
        live = {}
        for k = 1, i + j - 2 do live[msids[k]] = true end
      end
      expired = 1
    end
  end
end
local liveCalls = nil
if live then
  liveCalls = {}
  for msid in pairs(live) do
    local cs = redis.call('SMEMBERS', P .. 'mc:' .. msid)
    for j = 1, #cs do liveCalls[cs[j]] = true end
  end
end
local sids = redis.call('SMEMBERS', P .. 'ac:' .. ARGV[3])
local keys = {}
local total = 0
for i = 1, #sids do
  if liveCalls == nil or liveCalls[sids[i]] then
    total = total + 1
    if total > offset and total <= offset + limit then keys[#keys + 1] = ck(sids[i]) end
  end
end
-- Then the calls at the prompt whose lease has not run out, in the set's order.
local lsids = redis.call('SMEMBERS', P .. 'al:' .. ARGV[3])
for i = 1, #lsids, CHUNK do
  local part = { unpack(lsids, i, math.min(i + CHUNK - 1, #lsids)) }
  local leases = redis.call('ZMSCORE', LOBBY, unpack(part))
  for j = 1, #part do
    if leases[j] and tonumber(leases[j]) > NOW then
      total = total + 1
      if total > offset and total <= offset + limit then keys[#keys + 1] = lk(part[j]) end
    else
      expired = 1
    end
  end
end
return { mget(keys, {}), total, expired }
`,
  /** ARGV: 3 account. -> { meeting, ... } */
  listMeetings: `
local sids = redis.call('SMEMBERS', P .. 'am:' .. ARGV[3])
for i = 1, #sids do sids[i] = mk(sids[i]) end
return mget(sids, {})
`,
  /** ARGV: 3 meeting sid. -> { meeting|nil, { call, ... } } */
  listCallsOfMeeting: `
local ms = redis.call('GET', mk(ARGV[3]))
if not ms then return { false, {} } end
return { ms, callsOf(ARGV[3]) }
`,
  /** ARGV: 3 call sid, 4 patch JSON. -> nil | { call, { changed field, ... } } */
  updateCall: `
local cs = redis.call('GET', ck(ARGV[3]))
if not cs then return false end
local c = cjson.decode(cs)
if not alive(c.meeting_sid) then return false end
local changed = patch(c, ARGV[4])
if #changed > 0 then
  cs = cjson.encode(c)
  redis.call('SET', ck(ARGV[3]), cs)
end
return { cs, changed }
`,
  /** ARGV: 3 meeting sid, 4 patch JSON. -> nil | { meeting, { changed field, ... } } */
  updateMeeting: `
if not alive(ARGV[3]) then return false end
local m = getm(ARGV[3])
if not m then return false end
local changed = patch(m, ARGV[4])
local ms = cjson.encode(m)
if #changed > 0 then redis.call('SET', mk(ARGV[3]), ms) end
return { ms, changed }
`,
  /** ARGV: 3 meeting sid. -> nil | destroyed */
  endMeeting: `
if not alive(ARGV[3]) then return false end
return destroy(ARGV[3])
`,
  /** ARGV: 3 node, 4 new lease, 5 known epoch, 6 epoch candidate, 7 settling ms. -> { renewed, { destroyed, ... }, epoch } */
  renewLease: `
local ep = epoch(ARGV[5], ARGV[6], ARGV[7])
local nm = P .. 'nm:' .. ARGV[3]
local lease = tonumber(ARGV[4])
local ms = redis.call('SMEMBERS', nm)
local renewed = 0
local lost = {}
for i = 1, #ms do
  local m = alive(ms[i]) and getm(ms[i])
  if m then
    m.lease = lease
    redis.call('SET', mk(ms[i]), cjson.encode(m))
    redis.call('ZADD', LEASES, ARGV[4], ms[i])
    renewed = renewed + 1
  else
    local d = destroy(ms[i])
    if d then lost[#lost + 1] = d else redis.call('SREM', nm, ms[i]) end
  end
end
-- Its calls at the prompt too; one whose lease ran out is the reaper's (not revived).
local nl = P .. 'nl:' .. ARGV[3]
local ls = redis.call('SMEMBERS', nl)
for i = 1, #ls do
  local s = redis.call('GET', lk(ls[i]))
  if not s then
    redis.call('SREM', nl, ls[i])
  else
    local l = cjson.decode(s)
    if l.lease > NOW then
      l.lease = lease
      redis.call('SET', lk(ls[i]), cjson.encode(l))
      redis.call('ZADD', LOBBY, ARGV[4], ls[i])
    end
  end
end
return { renewed, lost, ep }
`,
  /** ARGV: 3 known epoch, 4 candidate, 5 settling ms. -> epoch */
  epoch: `
return epoch(ARGV[3], ARGV[4], ARGV[5])
`,
  /**
   * ARGV: 3 MeetingRecord JSON (counters 0; node and lease of the restoring node),
   * 4 JSON array of CallRecords. Writes a meeting a node still mixes back after Redis
   * lost it. A live meeting of that sid (restored by another node mixing some of its
   * calls) keeps its record and gains the missing calls. The meeting key goes to the
   * older of this meeting and one created for the key in the meantime (see store.ts).
   * -> { 'created'|'merged', meeting, { added call, ... }, tookKey (0|1) }
   */
  restore: `
local m = cjson.decode(ARGV[3])
local calls = cjson.decode(ARGV[4])
local msid = m.meeting_sid
local status = 'merged'
local cur = alive(msid) and getm(msid)
if not cur then
  if redis.call('EXISTS', mk(msid)) == 1 then destroy(msid) end
  status = 'created'
  cur = m
  redis.call('SADD', P .. 'am:' .. m.account_sid, msid)
  redis.call('SADD', P .. 'nm:' .. m.node, msid)
  redis.call('ZADD', LEASES, m.lease, msid)
end
local kk = P .. 'k:' .. cur.key
local other = redis.call('GET', kk)
local tookKey = 0
if other and other ~= msid and not alive(other) then
  destroy(other)
  other = false
end
if other ~= msid then
  local o = other and getm(other)
  if not o or o.date_created > cur.date_created then
    redis.call('SET', kk, msid)
    tookKey = 1
  end
end
local added = {}
for i = 1, #calls do
  local c = calls[i]
  if redis.call('EXISTS', ck(c.call_sid)) == 0 then added[#added + 1] = attach(c, cur, msid) end
end
local ms = cjson.encode(cur)
redis.call('SET', mk(msid), ms)
return { status, ms, added, tookKey }
`,
  /** ARGV: 3 limit. -> { { destroyed, ... }, { lobby record, ... } } (at most `limit` of each) */
  reapExpired: `
-- Passes the first ARGV[3] members of sorted set z whose lease (score) is over to drop;
-- returns what it returned for them (nothing for those already gone).
local function sweep(z, drop)
  local sids = redis.call('ZRANGEBYSCORE', z, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
  local out = {}
  for i = 1, #sids do
    local d = drop(sids[i])
    if d then out[#out + 1] = d end
  end
  return out
end
return { sweep(LEASES, destroy), sweep(LOBBY, dropLobby) }
`,
  /**
   * Failover. ARGV: 3 meeting sid, 4 from node, 5 to node, 6 new lease. The owner becomes
   * the new node if it is the old one (the record is kept, live or not). -> nil | meeting
   */
  moveMeeting: `
local m = getm(ARGV[3])
if not m then return false end
if m.node == ARGV[4] then
  redis.call('SREM', P .. 'nm:' .. m.node, ARGV[3])
  m.node = ARGV[5]
  m.lease = tonumber(ARGV[6])
  redis.call('SADD', P .. 'nm:' .. m.node, ARGV[3])
  redis.call('ZADD', LEASES, ARGV[6], ARGV[3])
  local ms = cjson.encode(m)
  redis.call('SET', mk(ARGV[3]), ms)
  return ms
end
return cjson.encode(m)
`,
  /** ARGV: 3 meeting sid, 4 channel prefix, 5 payload. -> nil | receivers */
  publishToOwner: `
if not alive(ARGV[3]) then return false end
local m = getm(ARGV[3])
if not m then return false end
return redis.call('PUBLISH', ARGV[4] .. m.node, ARGV[5])
`,
  /** ARGV: 3 meeting sid, 4 channel prefix, 5 payload. -> nil | receivers (owner and every call's node, once each) */
  publishToMeeting: `
if not alive(ARGV[3]) then return false end
local m = getm(ARGV[3])
if not m then return false end
local seen = { [m.node] = true }
local n = redis.call('PUBLISH', ARGV[4] .. m.node, ARGV[5])
local calls = callsOf(ARGV[3])
for i = 1, #calls do
  local node = cjson.decode(calls[i]).node
  if node and not seen[node] then
    seen[node] = true
    n = n + redis.call('PUBLISH', ARGV[4] .. node, ARGV[5])
  end
end
return n
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
