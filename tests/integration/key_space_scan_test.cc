// RedisSink's key-space scan and its guarded delete (sink/redis/key_space_scan.h)
// against a real redis-server.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "integration/redis_sink_fixture.h"

namespace sluice {
namespace {

using namespace redis_test;

TEST_F(RedisSinkTest, ScanKeysVisitsEveryMatchingKeyButNoStateKey) {
  auto sink = started(config());
  sink->apply(batch({ins(users(), pos(0x200), {T("1"), T("ann"), N, N})}));  // state: checkpoint, index
  client_.command({"EVAL", "for i = 1, 2500 do redis.call('SET', 'sluice:x' .. i, '1') end return 1", "0"});
  client_.command({"SET", "other", "1"});
  std::set<std::string> seen;
  size_t batches = 0;
  sink->scan_keys("sluice:*", [&](const std::vector<std::string>& keys) {
    ++batches;
    seen.insert(keys.begin(), keys.end());
  });
  EXPECT_EQ(seen.size(), 2500u);
  EXPECT_GT(batches, 1u);  // cursor-based, a batch at a time
  EXPECT_FALSE(seen.count("sluice:cache:checkpoint"));
  EXPECT_FALSE(seen.count("sluice:cache:index:public.users"));
  EXPECT_FALSE(seen.count("other"));
}

TEST_F(RedisSinkTest, IdentityFromIsTheIndexField) {
  auto sink = started(config());
  sink->apply(batch({ins(users(), pos(0x200), {T("5"), T("ann"), N, N})}));
  auto identity = sink->identity_from(users(), {T("5"), N, N, N});
  ASSERT_TRUE(identity);
  EXPECT_TRUE(hget("sluice:cache:index:public.users", *identity));
  EXPECT_FALSE(sink->identity_from(users(), {N, T("ann"), N, N}));  // the key column is missing
}

TEST_F(RedisSinkTest, GuardedDeleteKeepsAKeyTheIndexNames) {
  auto sink = started(config());
  sink->apply(batch({ins(users(), pos(0x200), {T("5"), T("ann"), N, N})}));
  client_.command({"SET", "users:6", "{}"});
  const std::string token = sink->checkpoint_token();
  std::vector<UnownedKey> keys{{"users:5", {{"public.users", *sink->identity_from(users(), {T("5"), N, N, N})}}, false},
                               {"users:6", {{"public.users", *sink->identity_from(users(), {T("6"), N, N, N})}}, false}};
  auto probes = sink->probe_keys(keys);
  EXPECT_TRUE(probes[0].exists && probes[0].indexed);
  EXPECT_TRUE(probes[1].exists && !probes[1].indexed);
  // Even when told to, the delete keeps what a row owns by now.
  RemovedKeys removed = sink->remove_unowned_keys(keys, token);
  EXPECT_EQ(removed.removed, 1u);
  EXPECT_EQ(removed.kept, std::vector<std::string>{"users:5"});
  EXPECT_TRUE(client_.get("users:5"));
  EXPECT_FALSE(client_.get("users:6"));
}

TEST_F(RedisSinkTest, GuardedDeleteWithoutIdentityNeedsAQuietSink) {
  auto sink = started(config());
  sink->apply(batch({ins(users(), pos(0x200), {T("5"), T("ann"), N, N})}));
  const std::string before = sink->checkpoint_token();
  EXPECT_EQ(before, pos(0x200).encode());
  client_.command({"SET", "u:x", "{}"});
  sink->apply(batch({ins(users(), pos(0x300), {T("7"), T("bob"), N, N})}));  // a batch since: not quiet
  std::vector<UnownedKey> keys{{"u:x", {}, true}};
  EXPECT_EQ(sink->remove_unowned_keys(keys, before).kept, std::vector<std::string>{"u:x"});
  EXPECT_TRUE(client_.get("u:x"));
  EXPECT_EQ(sink->remove_unowned_keys(keys, sink->checkpoint_token()).removed, 1u);
  EXPECT_FALSE(client_.get("u:x"));
}

// Rows copied by a snapshot or a rebuild do not move the checkpoint: nothing
// is deleted while a copy runs.
TEST_F(RedisSinkTest, GuardedDeleteKeepsEverythingWhileRowsAreCopied) {
  auto sink = started(config());
  sink->apply(batch({ins(users(), pos(0x200), {T("5"), T("ann"), N, N})}));
  client_.command({"SET", "u:x", "{}"});
  std::vector<UnownedKey> keys{{"u:x", {}, false}};
  client_.command({"HSET", "sluice:cache:checkpoint", "rebuild", pos(0x300).encode()});
  EXPECT_EQ(sink->remove_unowned_keys(keys, sink->checkpoint_token()).kept, std::vector<std::string>{"u:x"});
  client_.command({"HDEL", "sluice:cache:checkpoint", "rebuild"});
  client_.command({"HSET", "sluice:cache:checkpoint", "snapshot", "in_progress"});
  EXPECT_EQ(sink->remove_unowned_keys(keys, sink->checkpoint_token()).kept, std::vector<std::string>{"u:x"});
  EXPECT_TRUE(client_.get("u:x"));
  client_.command({"HSET", "sluice:cache:checkpoint", "snapshot", "done"});
  EXPECT_EQ(sink->remove_unowned_keys(keys, sink->checkpoint_token()).removed, 1u);
  EXPECT_FALSE(client_.get("u:x"));
}

}  // namespace
}  // namespace sluice
