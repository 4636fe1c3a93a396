local removed = 0
for i = 2, #ARGV do
  local entry = redis.call('HGET', KEYS[1], ARGV[i])
  if entry then
    local space = string.find(entry, ' ', 1, true)
    if space and pos_cmp(string.sub(entry, 1, space - 1), ARGV[1]) < 0 then
      redis.call('DEL', string.sub(entry, space + 1))
      redis.call('HDEL', KEYS[1], ARGV[i])
      removed = removed + 1
    end
  end
end
return tostring(removed)
