local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then
  return redis.error_reply("SLUICE_STATE the checkpoint of sink '" .. ARGV[3] .. "' is gone: the Redis data was flushed or lost during the snapshot (" .. KEYS[1] .. ' does not exist)')
end
if t ~= 'hash' then
  return redis.error_reply('SLUICE_STATE the checkpoint key ' .. KEYS[1] .. " of sink '" .. ARGV[3] .. "' holds a " .. t .. ', not a hash')
end
local snap = redis.call('HGET', KEYS[1], 'snapshot')
if snap ~= 'in_progress' then
  return redis.error_reply("SLUICE_STATE cannot finish the snapshot of sink '" .. ARGV[3] .. "': its checkpoint says snapshot=" .. tostring(snap or 'none') .. ', not in_progress (' .. KEYS[1] .. ')')
end
redis.call('HSET', KEYS[1], 'position', ARGV[1], 'snapshot', 'done', 'slot', ARGV[2])
redis.call('HDEL', KEYS[1], 'snapshot_at')
return 1
