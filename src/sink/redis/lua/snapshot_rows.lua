if mode ~= 'upsert' or newcp ~= '' then
  return redis.error_reply('SLUICE_INTERNAL the snapshot-rows script got a ' .. mode .. ' batch with checkpoint ' .. newcp)
end
local st = redis.call('HMGET', cpkey, 'snapshot', 'snapshot_at')
if st[1] ~= 'in_progress' then
  return redis.error_reply('SLUICE_STATE snapshot rows for ' .. who .. ' but its checkpoint says snapshot=' .. tostring(st[1] or 'none') .. ', not in_progress (' .. cpkey .. ')')
end
local snap_at = st[2]
local want = 'string'
if format == 'hash' then want = 'hash' end

-- Phase 1: the layout, each row's version, every target's type, before any
-- write. docs: key/document pairs (JSON); hrow: key -> the start of its last
-- hash row, in first-seen order in hkeys; entries: per table, index pairs.
local keys, docs, hrow, hkeys, indexes, entries = {}, {}, {}, {}, {}, {}
local i = 11
for n = 1, nops do
  local code, tbl, ver, id, key = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 5]
  local start = i
  if code == 'U' then
    if ARGV[i + 7] == nil then
      return redis.error_reply('SLUICE_INTERNAL the batch arguments end early (at ' .. i .. ')')
    end
    i = i + 8
  elseif code == 'H' then
    local nfield = tonumber(ARGV[i + 7])
    if not nfield or ARGV[i + 8 + 2 * nfield] ~= '0' then
      return redis.error_reply('SLUICE_INTERNAL malformed snapshot hash row at argument ' .. i)
    end
    i = i + 9 + 2 * nfield
  else
    return redis.error_reply('SLUICE_INTERNAL op ' .. tostring(code) .. ' in snapshot rows at argument ' .. i)
  end
  if key == nil or key == '' or id == nil or id == '' then
    return redis.error_reply('SLUICE_INTERNAL snapshot row without a key at argument ' .. start)
  end
  if ver ~= snap_at then
    return redis.error_reply('SLUICE_STATE snapshot rows at ' .. tostring(ver) .. ' for ' .. who .. ', but the snapshot in progress is at ' .. tostring(snap_at or 'none') .. ': another process writes to the same state (' .. cpkey .. ')')
  end
  local l = entries[tbl]
  if not l then
    local idx = prefix .. ':index:' .. tbl
    local it = redis.call('TYPE', idx).ok
    if it ~= 'none' and it ~= 'hash' then
      return redis.error_reply('SLUICE_STATE ' .. who .. ': the index ' .. idx .. ' holds a ' .. it .. ', not a hash')
    end
    l = {}
    indexes[tbl], entries[tbl] = idx, l
  end
  l[#l + 1] = id
  l[#l + 1] = ver .. ' ' .. key
  keys[n] = key
  if code == 'U' then
    docs[#docs + 1] = key
    docs[#docs + 1] = ARGV[start + 7]
  else
    if not hrow[key] then hkeys[#hkeys + 1] = key end
    hrow[key] = start
  end
end
if ARGV[i] ~= nil then
  return redis.error_reply('SLUICE_INTERNAL unread batch arguments from ' .. i)
end
local function table_of(key)  -- (for a message) the table of the first row at key
  for n = 1, nops do
    if keys[n] == key then
      local j = 11
      for _ = 2, n do
        if ARGV[j] == 'U' then j = j + 8 else j = j + 9 + 2 * tonumber(ARGV[j + 7]) end
      end
      return ARGV[j + 1]
    end
  end
end
for j = 1, nops, BULK do
  local last = math.min(j + BULK - 1, nops)
  local unknown = keys  -- the keys not known to be strings, j..last
  local from, to = j, last
  if want == 'string' then
    local r = redis.call('MGET', unpack(keys, j, last))
    unknown, from, to = {}, 1, 0
    for k = 1, #r do
      if not r[k] then
        to = to + 1
        unknown[to] = keys[j + k - 1]
      end
    end
  end
  if to >= from and redis.call('EXISTS', unpack(unknown, from, to)) > 0 then
    for k = from, to do
      local t = redis.call('TYPE', unknown[k]).ok
      if t ~= 'none' and t ~= want then
        return redis.error_reply('SLUICE_INPUT ' .. who .. ': table ' .. table_of(unknown[k]) .. ': key ' .. unknown[k] .. ': WRONGTYPE Operation against a key holding the wrong kind of value (it holds a ' .. t .. '; this sink writes a ' .. want .. ')')
      end
    end
  end
end

-- Phase 2: the writes.
write_bulk('MSET', nil, docs, 2 * BULK)
write_bulk('DEL', nil, hkeys, BULK)
for _, k in ipairs(hkeys) do
  local j = hrow[k]
  local nfield = tonumber(ARGV[j + 7])
  if nfield > 0 then redis.call('HSET', k, unpack(ARGV, j + 8, j + 7 + 2 * nfield)) end
end
for tbl, l in pairs(entries) do write_bulk('HSET', indexes[tbl], l, 2 * BULK) end
return {'applied', nops, 0}
