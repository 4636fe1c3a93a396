local stored = redis.call('HGET', KEYS[1], 'position') or ''
if stored == ARGV[2] then return 0 end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply("SLUICE_RESET the checkpoint of sink '" .. ARGV[3] .. "' is gone: the Redis data was flushed or lost (" .. KEYS[1] .. ' does not exist)')
end
if stored ~= '' and ARGV[1] ~= '' and pos_cmp(stored, ARGV[1]) < 0 then
  return redis.error_reply("SLUICE_RESET the checkpoint of sink '" .. ARGV[3] .. "' went back from " .. ARGV[1] .. ' to ' .. stored .. ': writes Redis had acknowledged were lost (a failover to a replica that had not received them, or a restart from older data) (' .. KEYS[1] .. ')')
end
if stored ~= ARGV[1] then
  return redis.error_reply("SLUICE_STATE the checkpoint of sink '" .. ARGV[3] .. "' is at " .. stored .. ' but this sink last left it at ' .. ARGV[1] .. ': another process writes to the same state (' .. KEYS[1] .. ')')
end
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 4))
redis.call('HSET', KEYS[1], 'position', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'dead_letters', 1)
return 1
