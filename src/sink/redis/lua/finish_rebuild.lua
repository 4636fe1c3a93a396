if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply("SLUICE_RESET the checkpoint of sink '" .. ARGV[2] .. "' is gone: the Redis data was flushed or lost during its rebuild (" .. KEYS[1] .. ' does not exist)')
end
local at = redis.call('HGET', KEYS[1], 'rebuild')
if at ~= ARGV[1] then
  return redis.error_reply("SLUICE_STATE the rebuild of sink '" .. ARGV[2] .. "' at " .. ARGV[1] .. ' is no longer in progress (' .. KEYS[1] .. ' says rebuild=' .. tostring(at or 'none') .. ')')
end
redis.call('HDEL', KEYS[1], 'rebuild')
for i = 4, #ARGV do redis.call('DEL', ARGV[3] .. ':tomb:' .. ARGV[i]) end
return 1
