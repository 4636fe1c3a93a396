// pos_cmp (src/sink/redis/lua/position_order.lua), the one position compare of
// the Redis sink's scripts, run by a real Redis: it orders any two strings of
// printable bytes as their bytes do, whatever their lengths (eight bytes a step,
// so strings that end inside a step, or at its edge, are in the set), and never
// as numbers or by the server's locale.
#include <gtest/gtest.h>

#include <string>

#include "harness/servers.h"
#include "sink/redis/lua_scripts.h"

namespace sluice::test {
namespace {

// Every string of up to three of these characters (digits, upper- and
// lower-case hex letters, the 'x' of "0x", punctuation that a locale may
// ignore), then each again behind seven bytes; every pair compared both ways
// against a plain byte compare. Returns the number of pairs and of mismatches.
constexpr const char* kCheck = R"(
local chars = {'0', '9', 'A', 'F', 'a', 'x', ':', '-', '~', '!'}
local strs = {}
local function gen(prefix, depth)
  strs[#strs + 1] = prefix
  if depth == 0 then return end
  for _, c in ipairs(chars) do gen(prefix .. c, depth - 1) end
end
gen('', 3)
local function bytes(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then if x < y then return -1 end return 1 end
  end
  if #a < #b then return -1 elseif #a > #b then return 1 end
  return 0
end
local pairs_checked, bad = 0, 0
for _, a in ipairs(strs) do
  for _, b in ipairs(strs) do
    for _, pad in ipairs({'', 'ZZZZZZZ', '00000016B374D84'}) do
      pairs_checked = pairs_checked + 1
      if pos_cmp(pad .. a, pad .. b) ~= bytes(pad .. a, pad .. b) then bad = bad + 1 end
    end
  end
end
return {pairs_checked, bad}
)";

TEST(RedisPositionOrderTest, PosCmpIsByteOrderForAnyPrintableStrings) {
  RedisServer redis;
  RedisClient client(redis.port());
  const std::string script = std::string(lua::kPositionOrder) + kCheck;
  const auto reply = client.command({"EVAL", script, "0"});
  ASSERT_EQ(reply.size(), 2u);
  EXPECT_EQ(reply[0], std::to_string(1111 * 1111 * 3));
  EXPECT_EQ(reply[1], "0");
}

TEST(RedisPositionOrderTest, PostgresPositionsCompareInCommitOrder) {
  RedisServer redis;
  RedisClient client(redis.port());
  const std::string script = std::string(lua::kPositionOrder) + "return pos_cmp(ARGV[1], ARGV[2])";
  auto cmp = [&](const std::string& a, const std::string& b) { return client.command({"EVAL", script, "0", a, b}).at(0); };
  EXPECT_EQ(cmp("00000016B374D848:00000001", "00000016B374D848:00000002"), "-1");
  EXPECT_EQ(cmp("00000016B374D849:00000001", "00000016B374D848:FFFFFFFF"), "1");
  EXPECT_EQ(cmp("0000000000000010:00000005", "0000000000000010:00000005"), "0");
}

}  // namespace
}  // namespace sluice::test
