local stored = redis.call('HGET', cpkey, 'position') or ''
-- A rebuild after a reset is copying rows at this position (false: none).
local rebuild_at = false
if cptype == 'hash' then rebuild_at = redis.call('HGET', cpkey, 'rebuild') end
local repair = newcp == 'repair'
local rebuild_rows = string.sub(newcp, 1, 8) == 'rebuild:'
if rebuild_rows then
  -- Rows copied by a rebuild: only while that rebuild is the one in progress.
  local at = string.sub(newcp, 9)
  if rebuild_at ~= at then
    return redis.error_reply('SLUICE_STATE the rebuild of ' .. who .. ' at ' .. at .. ' is no longer in progress (' .. cpkey .. ' says rebuild=' .. tostring(rebuild_at or 'none') .. ')')
  end
  newcp = ''
elseif repair then
  -- `sluice verify --repair`: rows rewritten from the source through the per-row
  -- version guard; the checkpoint stays where streaming left it.
  if cptype == 'none' then
    return redis.error_reply('SLUICE_STATE cannot repair ' .. who .. ': it has no checkpoint (' .. cpkey .. ')')
  end
  -- The initial snapshot writes its rows without the guard (Sink::begin_snapshot).
  if redis.call('HGET', cpkey, 'snapshot') == 'in_progress' then
    return redis.error_reply('SLUICE_STATE cannot repair ' .. who .. ' while its initial snapshot is in progress (' .. cpkey .. '): verify it again once that has finished')
  end
  newcp = ''
elseif newcp ~= '' then
  if stored == newcp then
    -- An earlier attempt of this batch was applied; its reply was lost.
    return {'already_applied', 0, 0}
  end
  if stored ~= expected then
    if stored ~= '' and expected ~= '' and pos_cmp(stored, expected) < 0 then
      return redis.error_reply('SLUICE_RESET the checkpoint of ' .. who .. ' went back from ' .. expected .. ' to ' .. stored .. ': writes Redis had acknowledged were lost (a failover to a replica that had not received them, or a restart from older data) (' .. cpkey .. ')')
    end
    return redis.error_reply('SLUICE_STATE the checkpoint of ' .. who .. ' is at ' .. show(stored) .. ' but this sink last left it at ' .. show(expected) .. ': another process writes to the same state (' .. cpkey .. ')')
  end
else
  local snap = redis.call('HGET', cpkey, 'snapshot')
  if snap ~= 'in_progress' then
    return redis.error_reply('SLUICE_STATE snapshot rows for ' .. who .. ' but its checkpoint says snapshot=' .. tostring(snap or 'none') .. ', not in_progress (' .. cpkey .. ')')
  end
end

-- ---- overlay: what the keys will hold after the writes planned so far --------
-- Phase 2 writes the overlay's final state (each key's last planned content),
-- in bulk: every write touches one key, and a script is atomic, so only each
-- key's final content is ever seen.
local W = {}        -- writes that keep their order: stream entries, tombstones
local touched = {}  -- keys with planned content, in first-write order
local PC = {}       -- key -> planned content: a string, a hash {field = value}, or false (none)
local KT = {}       -- key -> its type in Redis (read, or bulk-read up front)
local IX = {}       -- index key -> {cleared = bool, e = {field = entry | false}}
local PF = {}       -- index key -> {field = entry | false}: read in bulk up front

local function key_type(k)
  local c = PC[k]
  if c ~= nil then
    if c == false then return 'none' end
    if type(c) == 'string' then return 'string' end
    return 'hash'
  end
  local t = KT[k]
  if t == nil then
    t = redis.call('TYPE', k).ok
    KT[k] = t
  end
  return t
end
local function hash_fields(k, fields)  -- values in field order, false when absent
  local c = PC[k]
  if c ~= nil then
    local h = type(c) == 'table' and c or {}
    local out = {}
    for j = 1, #fields do out[j] = h[fields[j]] or false end
    return out
  end
  return redis.call('HMGET', k, unpack(fields))
end
local function plan(k, c)
  if PC[k] == nil then touched[#touched + 1] = k end
  PC[k] = c
end
local function set_hash(k, flat)
  if #flat == 0 then return plan(k, false) end
  local h = {}
  for j = 1, #flat, 2 do h[flat[j]] = flat[j + 1] end
  plan(k, h)
end
local function del_key(k) plan(k, false) end
local function check_target(k, want, tbl)
  local t = key_type(k)
  if t ~= 'none' and t ~= want then
    fail('SLUICE_INPUT', who .. ': table ' .. tbl .. ': key ' .. k .. ': WRONGTYPE Operation against a key holding the wrong kind of value (it holds a ' .. t .. '; this sink writes a ' .. want .. ')')
  end
end

local index_of = {}  -- table -> its index key, checked
local function index_key(tbl)
  local idx = index_of[tbl]
  if idx then return idx end
  idx = prefix .. ':index:' .. tbl
  local t = key_type(idx)
  if t ~= 'none' and t ~= 'hash' then
    fail('SLUICE_STATE', who .. ': the index ' .. idx .. ' holds a ' .. t .. ', not a hash')
  end
  index_of[tbl] = idx
  return idx
end
local function index_get(idx, f)
  local o = IX[idx]
  if o then
    local v = o.e[f]
    if v ~= nil then return v or nil end
    if o.cleared then return nil end
  end
  local v
  local pf = PF[idx]
  if pf and pf[f] ~= nil then v = pf[f] else v = redis.call('HGET', idx, f) end
  if not v then return nil end
  local space = string.find(v, ' ', 1, true)
  if not space or space == 1 or space == #v then
    fail('SLUICE_STATE', who .. ': malformed entry in ' .. idx .. ': ' .. v)
  end
  return v
end
local function overlay(idx)
  local o = IX[idx]
  if not o then
    o = {cleared = false, e = {}}
    IX[idx] = o
  end
  return o
end
local function index_set(idx, f, v) overlay(idx).e[f] = v end
local function index_del(idx, f) overlay(idx).e[f] = false end
local function index_entries(idx)  -- every entry in effect
  local o = IX[idx]
  local out = {}
  if not o then
    out = redis.call('HVALS', idx)
  else
    if not o.cleared then
      local flat = redis.call('HGETALL', idx)
      for j = 1, #flat, 2 do
        if o.e[flat[j]] == nil then out[#out + 1] = flat[j + 1] end
      end
    end
    for _, v in pairs(o.e) do
      if v then out[#out + 1] = v end
    end
  end
  return out
end
-- An index entry is "<version> <key>"; a version (an encoded position) has no space.
local function version_of(e) return string.sub(e, 1, string.find(e, ' ', 1, true) - 1) end
local function key_of(e) return string.sub(e, string.find(e, ' ', 1, true) + 1) end

-- ---- ops -----------------------------------------------------------------------
local argi = 11
local function arg()
  local v = ARGV[argi]
  if v == nil then fail('SLUICE_INTERNAL', 'the batch arguments end early (at ' .. argi .. ')') end
  argi = argi + 1
  return v
end
local function take(n)  -- the next n arguments
  local i = argi
  if ARGV[i + n - 1] == nil then fail('SLUICE_INTERNAL', 'the batch arguments end early (at ' .. i .. ')') end
  argi = i + n
  return unpack(ARGV, i, i + n - 1)
end
local function count()
  local n = tonumber(arg())
  if not n then fail('SLUICE_INTERNAL', 'expected a count at argument ' .. (argi - 1)) end
  return n
end

-- The per-row version guard: true when the row's stored version is not older
-- than this change (never go backwards). A repair at position (L, 0) is the
-- source's row read after L, so it also replaces rows copied at that very point
-- (an idle source: the copy point can equal L); only a newer one is kept.
local function stale(entry, ver)
  if not entry then return false end
  local c = pos_cmp(version_of(entry), ver)
  if repair then return c > 0 end
  return c >= 0
end

-- The version guard and the keys of an insert/update: the index, the row's key,
-- the key its stored value is at, and its two index entries; nil when stale().
local function upsert_prepare(tbl, ver, id_new, id_old, newkey, oldkey)
  local idx = index_key(tbl)
  local e_new = index_get(idx, id_new)
  if stale(e_new, ver) then return nil end
  local e_old = nil
  if id_old ~= '' then
    e_old = index_get(idx, id_old)
    if stale(e_old, ver) then return nil end
  end
  local prev = e_old or e_new
  local key = newkey
  if key == '' then
    if not prev then
      fail('SLUICE_STATE', who .. ': table ' .. tbl .. ': a key column is an unchanged TOAST value and the row has no index entry to take its key from')
    end
    key = key_of(prev)
  end
  local src = key
  if prev then src = key_of(prev) elseif oldkey ~= '' then src = oldkey end
  return idx, key, src, e_new, e_old
end
local function upsert_commit(idx, key, e_new, e_old, ver, id_new, id_old, oldkey)
  index_set(idx, id_new, ver .. ' ' .. key)
  if id_old ~= '' then index_del(idx, id_old) end
  -- The keys the row was stored at before, where they are not its key now.
  local k1 = e_new and key_of(e_new)
  local k2 = e_old and key_of(e_old)
  if k1 and k1 ~= key then del_key(k1) end
  if k2 and k2 ~= key and k2 ~= k1 then del_key(k2) end
  if oldkey ~= '' and oldkey ~= key and oldkey ~= k1 and oldkey ~= k2 then del_key(oldkey) end
end
local function toast_source_missing(tbl, col, k, what)
  fail('SLUICE_STATE', who .. ': table ' .. tbl .. ': column ' .. col .. ' is an unchanged TOAST value, but ' .. what .. ' at key ' .. k .. ' (the value cannot be kept, and it is never written as null)')
end

-- ---- rebuild after a reset ------------------------------------------------------
-- While a rebuild copies rows at rebuild_at, streamed deletes and truncates newer
-- than that leave tombstones (P:tomb:<schema.table>: identity or 'truncate' ->
-- version) so that a copied row never brings back a row deleted after the copy
-- point; the copied rows go through them and through the version guard.
local function tomb_key(tbl) return prefix .. ':tomb:' .. tbl end
local function tomb_blocks(tbl, ident, ver)
  local v = redis.call('HMGET', tomb_key(tbl), ident, 'truncate')
  return (v[1] and pos_cmp(v[1], ver) >= 0) or (v[2] and pos_cmp(v[2], ver) >= 0) or false
end
local function tomb_set(tbl, field, ver)
  if rebuild_at and pos_cmp(ver, rebuild_at) > 0 then W[#W + 1] = {'HSET', tomb_key(tbl), field, ver} end
end
-- An unchanged TOAST value of a row the rebuild has not copied yet: a change not
-- newer than the copy point is part of the copied row (true: skip it); a newer one
-- must wait until the row is copied (the sink retries the batch).
local function awaiting_copy(tbl, col, ver, k)
  if pos_cmp(ver, rebuild_at) <= 0 then return true end
  fail('SLUICE_WAIT', who .. ': table ' .. tbl .. ': column ' .. col .. ' is an unchanged TOAST value of a row the rebuild has not copied yet (key ' .. k .. '); waiting for the copy')
end

-- ---- bulk reads ------------------------------------------------------------------
-- A redis.call costs several times the command behind it, so before planning,
-- every index entry the ops will look up is read with one HMGET per index and
-- chunk, and the targets' types with one MGET (JSON documents: a string comes
-- back as a value) and one EXISTS (all missing: 'none') per chunk. What this
-- cannot tell is read per key when asked. The pre-pass only reads the op layout;
-- it stops at anything malformed, which plan_ops() then names.
local function prefetch()
  local fields, keys = {}, {}  -- table -> the identities to read; the target keys
  local function ids_of(tbl)
    local l = fields[tbl]
    if not l then
      l = {}
      fields[tbl] = l
    end
    return l
  end
  local i = 11
  for _ = 1, nops do
    local code = ARGV[i]
    if code == 'U' or code == 'H' then
      if ARGV[i + 7] == nil then break end
      local l = ids_of(ARGV[i + 1])
      l[#l + 1] = ARGV[i + 3]
      if ARGV[i + 4] ~= '' then l[#l + 1] = ARGV[i + 4] end
      if ARGV[i + 5] ~= '' then keys[#keys + 1] = ARGV[i + 5] end
      if code == 'U' then
        i = i + 8
      else
        local n = tonumber(ARGV[i + 7])
        if not n then break end
        local t = tonumber(ARGV[i + 8 + 2 * n])
        if not t then break end
        i = i + 9 + 2 * n + t
      end
    elseif code == 'D' then
      if ARGV[i + 4] == nil then break end
      local l = ids_of(ARGV[i + 1])
      l[#l + 1] = ARGV[i + 3]
      i = i + 5
    elseif code == 'T' then
      i = i + 3
    else
      break  -- K and S ops (invalidate, stream) read no index
    end
  end
  -- (A repeated identity or key is read again: harmless, and cheaper than
  -- finding it.)
  for tbl, l in pairs(fields) do
    local idx = index_key(tbl)
    local m = {}
    for j = 1, #l, BULK do
      local r = redis.call('HMGET', idx, unpack(l, j, math.min(j + BULK - 1, #l)))
      for n = 1, #r do m[l[j + n - 1]] = r[n] end
    end
    PF[idx] = m
  end
  for j = 1, #keys, BULK do
    local last = math.min(j + BULK - 1, #keys)
    local unknown = {}
    if format == 'json' then
      local r = redis.call('MGET', unpack(keys, j, last))
      for n = 1, #r do
        if r[n] then KT[keys[j + n - 1]] = 'string' else unknown[#unknown + 1] = keys[j + n - 1] end
      end
    else
      for n = j, last do unknown[#unknown + 1] = keys[n] end
    end
    if #unknown > 0 and redis.call('EXISTS', unpack(unknown)) == 0 then
      for n = 1, #unknown do KT[unknown[n]] = 'none' end
    end
  end
end

local applied, skipped = 0, 0
local function plan_ops()
  prefetch()
  for _ = 1, nops do
    local code = arg()
    if code == 'U' then
      -- A whole document: one whose unchanged TOAST values must be kept from the
      -- stored one is spliced on the C++ side (plain_batch.h), never here.
      local tbl, ver, id_new, id_old, newkey, oldkey, doc = take(7)
      local idx, key, src, e_new, e_old
      if not (rebuild_rows and tomb_blocks(tbl, id_new, ver)) then
        idx, key, src, e_new, e_old = upsert_prepare(tbl, ver, id_new, id_old, newkey, oldkey)
      end
      if not idx then
        skipped = skipped + 1
      else
        check_target(key, 'string', tbl)
        plan(key, doc)
        upsert_commit(idx, key, e_new, e_old, ver, id_new, id_old, oldkey)
        applied = applied + 1
      end
    elseif code == 'H' then
      local tbl, ver, id_new, id_old, newkey, oldkey = take(6)
      local nfield = count()
      local flat = {}
      for _ = 1, nfield do
        flat[#flat + 1] = arg()
        flat[#flat + 1] = arg()
      end
      local ntoast = count()
      local tf = {}
      for j = 1, ntoast do tf[j] = arg() end
      local idx, key, src, e_new, e_old
      if not (rebuild_rows and tomb_blocks(tbl, id_new, ver)) then
        idx, key, src, e_new, e_old = upsert_prepare(tbl, ver, id_new, id_old, newkey, oldkey)
      end
      if not idx then
        skipped = skipped + 1
      elseif ntoast > 0 and rebuild_at and key_type(src) == 'none' and awaiting_copy(tbl, tf[1], ver, src) then
        skipped = skipped + 1
      else
        check_target(key, 'hash', tbl)
        if ntoast > 0 then
          local t = key_type(src)
          if t == 'none' then toast_source_missing(tbl, tf[1], src, 'the existing hash is missing') end
          if t ~= 'hash' then toast_source_missing(tbl, tf[1], src, 'the existing value is a ' .. t) end
          local vals = hash_fields(src, tf)
          for j = 1, ntoast do
            if not vals[j] then toast_source_missing(tbl, tf[j], src, 'the existing hash has no such field') end
            flat[#flat + 1] = tf[j]
            flat[#flat + 1] = vals[j]
          end
        end
        set_hash(key, flat)
        upsert_commit(idx, key, e_new, e_old, ver, id_new, id_old, oldkey)
        applied = applied + 1
      end
    elseif code == 'D' then
      local tbl, ver, ident, oldkey = take(4)
      local idx = index_key(tbl)
      local e = index_get(idx, ident)
      if stale(e, ver) then
        skipped = skipped + 1
      else
        if e then
          del_key(key_of(e))
          index_del(idx, ident)
        end
        if oldkey ~= '' and not (e and key_of(e) == oldkey) then del_key(oldkey) end
        tomb_set(tbl, ident, ver)
        applied = applied + 1
      end
    elseif code == 'T' then
      local tbl = arg()
      local ver = arg()  -- a truncate removes every row whatever its version
      local idx = index_key(tbl)
      tomb_set(tbl, 'truncate', ver)
      for _, e in ipairs(index_entries(idx)) do del_key(key_of(e)) end
      IX[idx] = {cleared = true, e = {}}
      applied = applied + 1
    elseif code == 'K' then
      local n = count()
      for _ = 1, n do del_key(arg()) end
      applied = applied + 1
    elseif code == 'S' then
      local skey, tbl = arg(), arg()
      local nfield = count()
      local c = {'XADD', skey}
      if maxlen ~= '' then
        c[#c + 1] = 'MAXLEN'
        c[#c + 1] = '~'
        c[#c + 1] = maxlen
      end
      c[#c + 1] = '*'
      for _ = 1, nfield do
        c[#c + 1] = arg()
        c[#c + 1] = arg()
      end
      check_target(skey, 'stream', tbl)
      KT[skey] = 'stream'
      W[#W + 1] = c
      applied = applied + 1
    else
      fail('SLUICE_INTERNAL', 'unknown op ' .. tostring(code) .. ' at argument ' .. (argi - 1))
    end
  end
  if ARGV[argi] ~= nil then fail('SLUICE_INTERNAL', 'unread batch arguments from ' .. argi) end
end

local ok, e = pcall(plan_ops)
if not ok then
  if type(e) == 'table' and e.err then return e end
  return redis.error_reply(tostring(e))
end

-- Phase 2: the overlay's final state, in bulk, then the ordered writes.
local dels, sets, hashes = {}, {}, {}
for _, k in ipairs(touched) do
  local c = PC[k]
  if type(c) == 'string' then
    sets[#sets + 1] = k
    sets[#sets + 1] = c
  else
    dels[#dels + 1] = k  -- deleted, or a hash rewritten whole
    if c then hashes[#hashes + 1] = k end
  end
end
write_bulk('DEL', nil, dels, BULK)
write_bulk('MSET', nil, sets, 2 * BULK)
for _, k in ipairs(hashes) do
  local flat = {}
  for f, v in pairs(PC[k]) do
    flat[#flat + 1] = f
    flat[#flat + 1] = v
  end
  write_bulk('HSET', k, flat, 2 * BULK)
end
for idx, o in pairs(IX) do
  if o.cleared then redis.call('DEL', idx) end
  local set, del = {}, {}
  for f, v in pairs(o.e) do
    if v then
      set[#set + 1] = f
      set[#set + 1] = v
    else
      del[#del + 1] = f
    end
  end
  write_bulk('HSET', idx, set, 2 * BULK)
  write_bulk('HDEL', idx, del, BULK)
end
for j = 1, #W do redis.call(unpack(W[j])) end
if newcp ~= '' and (expected == '' or pos_cmp(newcp, expected) > 0) then
  redis.call('HSET', cpkey, 'position', newcp)
end
return {'applied', applied, skipped}
