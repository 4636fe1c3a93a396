-- Prepended to every script that compares positions (batch_script.cc,
-- redis_sink.cc): pos_cmp(a, b) is -1, 0 or 1 as position a is older than, the
-- same as, or newer than b.
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
