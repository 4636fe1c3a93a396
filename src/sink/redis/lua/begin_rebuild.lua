local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'none' and t ~= 'hash' then
  return redis.error_reply('SLUICE_STATE the checkpoint key ' .. KEYS[1] .. " of sink '" .. ARGV[4] .. "' holds a " .. t .. ', not a hash')
end
redis.call('HSET', KEYS[1], 'snapshot', 'done', 'slot', ARGV[2])
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'position', ARGV[1]) else redis.call('HDEL', KEYS[1], 'position') end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'rebuild', ARGV[3]) else redis.call('HDEL', KEYS[1], 'rebuild') end
return 1
