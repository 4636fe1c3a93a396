local position = ''
local copying = false
if redis.call('TYPE', KEYS[1]).ok == 'hash' then
  position = redis.call('HGET', KEYS[1], 'position') or ''
  -- Rows copied by a snapshot or a rebuild do not move the position: keep
  -- everything while one runs.
  copying = redis.call('HGET', KEYS[1], 'snapshot') == 'in_progress' or redis.call('HEXISTS', KEYS[1], 'rebuild') == 1
end
local quiet = position == ARGV[1]
local removed = 0
local kept = {}
local i = 3
while i <= #ARGV do
  local key = ARGV[i]
  local n = tonumber(ARGV[i + 2])
  local owned = false
  for j = 0, n - 1 do
    local entry = redis.call('HGET', ARGV[2] .. ARGV[i + 3 + 2 * j], ARGV[i + 4 + 2 * j])
    if entry then
      local space = string.find(entry, ' ', 1, true)
      if space and string.sub(entry, space + 1) == key then owned = true end
    end
  end
  if copying or owned or (ARGV[i + 1] == '1' and not quiet) then
    kept[#kept + 1] = key
  else
    removed = removed + redis.call('DEL', key)
  end
  i = i + 3 + 2 * n
end
return {removed, kept}
