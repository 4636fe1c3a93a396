local LAYOUT = '2'
if ARGV[1] ~= LAYOUT then
  return redis.error_reply('SLUICE_INTERNAL batch layout ' .. tostring(ARGV[1]) .. ', the script expects ' .. LAYOUT)
end
local sink, prefix, mode, format = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local expect_checkpoint, expected, newcp = ARGV[6] == '1', ARGV[7], ARGV[8]
local nops, maxlen = tonumber(ARGV[9]), ARGV[10]
local cpkey = prefix .. ':checkpoint'
local who = "sink '" .. sink .. "'"

local function fail(code, msg) error({err = code .. ' ' .. msg}) end
local function show(pos) if pos == '' then return 'none' end return pos end

local BULK = 500  -- keys per bulk call (Lua's unpack has a stack limit)
local function write_bulk(cmd, key, list, step)  -- cmd [key] items, step items a call
  for j = 1, #list, step do
    local last = math.min(j + step - 1, #list)
    if key then redis.call(cmd, key, unpack(list, j, last)) else redis.call(cmd, unpack(list, j, last)) end
  end
end

-- Fencing: the checkpoint must be where this sink left it.
local cptype = redis.call('TYPE', cpkey).ok
if cptype ~= 'none' and cptype ~= 'hash' then
  return redis.error_reply('SLUICE_STATE the checkpoint key ' .. cpkey .. ' of ' .. who .. ' holds a ' .. cptype .. ', not a hash')
end
if cptype == 'none' and expect_checkpoint then
  return redis.error_reply('SLUICE_RESET the checkpoint of ' .. who .. ' is gone: the Redis data was flushed or lost (' .. cpkey .. ' does not exist)')
end
