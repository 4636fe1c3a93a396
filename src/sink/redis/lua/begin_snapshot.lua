local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'none' and t ~= 'hash' then
  return redis.error_reply('SLUICE_STATE the checkpoint key ' .. KEYS[1] .. " of sink '" .. ARGV[2] .. "' holds a " .. t .. ', not a hash')
end
redis.call('HSET', KEYS[1], 'snapshot', 'in_progress', 'slot', ARGV[1], 'snapshot_at', ARGV[3])
redis.call('HDEL', KEYS[1], 'position')
return 1
