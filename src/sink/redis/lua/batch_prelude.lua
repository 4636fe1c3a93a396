local LAYOUT = '1'
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

-- Positions are strings of printable ASCII whose byte order is their order
-- (core/position.h). Compare the bytes: Lua's '<' on strings uses strcoll
-- (locale-dependent), and they must never become numbers.
local function pos_cmp(a, b)
  if a == b then return 0 end
  -- Most compares are decided within a leading run of upper-case hex digits
  -- (PostgreSQL's positions start with 16 of them): compared as numbers they
  -- order like their bytes ('0'-'9' < 'A'-'F'). tonumber reads 16 digits
  -- exactly; rounding to a double keeps their order, so only a tie, which may
  -- be a rounding, falls through to the bytes.
  local ha, hb = string.sub(a, 1, 16), string.sub(b, 1, 16)
  if #ha == 16 and #hb == 16 and not string.find(ha, '[^0-9A-F]') and not string.find(hb, '[^0-9A-F]') then
    local x, y = tonumber(ha, 16), tonumber(hb, 16)
    if x ~= y then
      if x < y then return -1 end
      return 1
    end
  end
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      if x < y then return -1 end
      return 1
    end
  end
  if #a < #b then return -1 end
  return 1
end

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
