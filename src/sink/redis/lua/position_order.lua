-- Prepended to every script that compares positions (batch_script.cc,
-- redis_sink.cc): pos_cmp(a, b) is -1, 0 or 1 as position a is older than, the
-- same as, or newer than b.
--
-- Positions are strings of printable ASCII whose byte order is their order
-- (core/position.h). The bytes are compared as bytes: Lua's '<' on strings uses
-- strcoll (Redis sets LC_COLLATE from its environment), and they must never
-- become numbers. Eight at a time (string.byte returns them all in one call): in
-- Redis this costs less than a number compare of a hex prefix did, and as little
-- when two positions differ only near their end (docs/benchmarks.md, A/B).
local function pos_cmp(a, b)
  if a == b then return 0 end
  local la, lb = #a, #b
  local n = la < lb and la or lb
  local i = 1
  while i <= n do
    local a1, a2, a3, a4, a5, a6, a7, a8 = string.byte(a, i, i + 7)
    local b1, b2, b3, b4, b5, b6, b7, b8 = string.byte(b, i, i + 7)
    -- Past the end of a string its bytes are nil: the shorter one is older.
    if a1 ~= b1 then if a1 < b1 then return -1 end return 1 end
    if a2 ~= b2 then if (a2 or -1) < (b2 or -1) then return -1 end return 1 end
    if a3 ~= b3 then if (a3 or -1) < (b3 or -1) then return -1 end return 1 end
    if a4 ~= b4 then if (a4 or -1) < (b4 or -1) then return -1 end return 1 end
    if a5 ~= b5 then if (a5 or -1) < (b5 or -1) then return -1 end return 1 end
    if a6 ~= b6 then if (a6 or -1) < (b6 or -1) then return -1 end return 1 end
    if a7 ~= b7 then if (a7 or -1) < (b7 or -1) then return -1 end return 1 end
    if a8 ~= b8 then if (a8 or -1) < (b8 or -1) then return -1 end return 1 end
    i = i + 8
  end
  if la < lb then return -1 end
  if la > lb then return 1 end
  return 0
end
