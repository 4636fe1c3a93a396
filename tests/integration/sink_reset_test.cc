// Sink reset end to end: Redis comes back empty while sluice streams, and the
// sink is rebuilt from a fresh consistent snapshot while changes keep flowing —
// deletes, truncates and unchanged-TOAST updates made during the rebuild
// included — or after sluice was stopped in the middle of the rebuild.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "integration/pipeline_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// Rows enough that the rebuild's copy of user_account takes seconds; with one
// worker, tables are copied in the configured order (user_account, channel,
// media), so the last users and media are copied seconds after the copy point.
constexpr int kUsers = 150000;

class SinkResetTest : public PipelineTest {
 protected:
  void add_users() {
    db->exec("INSERT INTO user_account (email, display_name) SELECT 'u' || g || '@x', 'user ' || g "
             "FROM generate_series(1, " + std::to_string(kUsers) + ") g");
  }
  // `sluice verify` (chunked, fast on many rows) reports no drift, once caught up.
  ::testing::AssertionResult verified(const std::string& config) {
    std::string output;
    if (eventually([&] {
          auto [code, out] = run_sluice({"verify", "--config", config}, env);
          output = out;
          return code == 0;
        }, 90s)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << output;
  }
  std::string copy_config() { return write_config("", "snapshot_workers = 1\n"); }

  // Changes streamed while the copy runs, to rows it has not reached yet: newer
  // than the copy point, so the copied rows must not undo them. Media 1's update
  // leaves its TOASTed description unchanged, and media is copied last: that
  // update waits for the row (streaming into this sink pauses until then).
  void write_during_rebuild() {
    db->exec("UPDATE user_account SET display_name = 'changed' WHERE user_account_id > " +
             std::to_string(kUsers - 1000) + " AND user_account_id % 7 = 0");
    db->exec("DELETE FROM user_account WHERE user_account_id BETWEEN " + std::to_string(kUsers - 100) + " AND " +
             std::to_string(kUsers - 55));
    db->exec("INSERT INTO user_account (email, display_name) VALUES ('late@x', 'late')");
  }
  // Last: it holds the sink's stream until media is copied.
  void update_uncopied_toasted_row() {
    db->exec("UPDATE media SET title = 'retitled during the rebuild' WHERE media_id = 1");
  }
  // The copy of kUsers rows takes seconds: up to 90 s for each step of a rebuild.
  ::testing::AssertionResult logged(SluiceProcess& sluice, const std::string& text) {
    return wait_for_output(sluice, text, 1, 90s);
  }
  // Flushes Redis, and makes the sink notice with one more change.
  void flush_redis() {
    cache->command({"FLUSHALL"});
    db->exec("UPDATE channel SET name = 'noticed' WHERE channel_id = 1");
  }
};

TEST_F(SinkResetTest, FlushWhileStreamingRebuildsWhileChangesKeepFlowing) {
  add_users();
  auto config = copy_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(logged(*sluice, "streaming from slot"));
  flush_redis();
  ASSERT_TRUE(logged(*sluice, "copying every table at"));
  write_during_rebuild();
  // The deletes, newer than the copy point, leave tombstones while it runs.
  ASSERT_TRUE(eventually([&] {
    return cache->command({"HLEN", "sluice:cache:tomb:public.user_account"}).at(0) == std::string("46");
  })) << sluice->output();
  update_uncopied_toasted_row();
  ASSERT_TRUE(logged(*sluice, "rebuild of sink 'cache': done"));
  EXPECT_TRUE(sluice->running()) << sluice->output();
  // Media 1's update waited for its row to be copied, then kept the description.
  ASSERT_TRUE(eventually([&] { return bool(table_matches("media")); })) << table_matches("media");
  db->exec("UPDATE media SET duration_seconds = 1 WHERE media_id = 1");  // TOAST unchanged again, after it
  ASSERT_TRUE(verified(config)) << sluice->output();
  EXPECT_EQ(cache->keys("sluice:cache:tomb:*"), std::vector<std::string>{});
  EXPECT_EQ(cache->command({"HGET", "sluice:cache:checkpoint", "rebuild"}).at(0), std::nullopt);
}

// Redis goes back in time while sluice streams (writes it had acknowledged are
// lost, as in a failover to a replica that had not received them): the
// checkpoint went back behind the one the sink wrote, which is a reset, and the
// rebuild also removes the rows deleted since the older data was saved.
TEST_F(SinkResetTest, RedisGoingBackInTimeIsAResetAndTheRebuildRemovesRowsDeletedSince) {
  auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice)) << sluice->output();
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  ASSERT_EQ(cache->command({"SAVE"}).at(0), std::string("OK"));
  const std::string deleted_key = "m:" + db->scalar("SELECT channel_id FROM media WHERE media_id = 2") + ":2";
  // After the save: a delete, an insert and an update that the older data lacks.
  db->exec("DELETE FROM media WHERE media_id = 2");
  db->exec("INSERT INTO user_account (email, display_name) VALUES ('after-save@x', 'after the save')");
  db->exec("UPDATE user_account SET display_name = 'changed after the save' WHERE user_account_id = 1");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  ASSERT_EQ(cache->command({"DEBUG", "RELOAD", "NOSAVE"}).at(0), std::string("OK"));  // back to the save
  ASSERT_TRUE(cache->get(deleted_key).has_value());  // the deleted row is back in Redis
  db->exec("UPDATE channel SET name = 'noticed' WHERE channel_id = 1");
  ASSERT_TRUE(logged(*sluice, "went back from")) << sluice->output();
  ASSERT_TRUE(logged(*sluice, "rebuild of sink 'cache': done")) << sluice->output();
  ASSERT_TRUE(wait_until_synced()) << sluice->output();  // no key of a row that is gone
  EXPECT_EQ(cache->get(deleted_key), std::nullopt);
  EXPECT_TRUE(logged(*sluice, "removed 1 rows the copy did not have")) << sluice->output();
  EXPECT_TRUE(verified(config)) << sluice->output();
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

TEST_F(SinkResetTest, RebuildInterruptedBySluiceStoppingStartsAgainOnTheNextRun) {
  add_users();
  auto config = copy_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(logged(*sluice, "streaming from slot"));
  flush_redis();
  ASSERT_TRUE(logged(*sluice, "copying every table at"));
  write_during_rebuild();
  update_uncopied_toasted_row();
  sluice->kill9();
  ASSERT_TRUE(cache->command({"HGET", "sluice:cache:checkpoint", "rebuild"}).at(0).has_value());
  db->exec("DELETE FROM user_account WHERE user_account_id BETWEEN 10 AND 20");
  sluice = start_sluice(config);
  ASSERT_TRUE(logged(*sluice, "rebuilding sink 'cache' while streaming"));
  ASSERT_TRUE(logged(*sluice, "rebuild of sink 'cache': done"));
  ASSERT_TRUE(verified(config)) << sluice->output();
}

TEST_F(SinkResetTest, FlushWhileSluiceIsDownIsRebuiltAtStart) {
  auto config = write_config();
  {
    auto sluice = start_sluice(config);
    ASSERT_TRUE(wait_streaming(*sluice)) << sluice->output();
    ASSERT_TRUE(wait_until_synced()) << sluice->output();
    sluice->terminate();
    ASSERT_EQ(sluice->wait(30s), 0) << sluice->output();
  }
  cache->command({"FLUSHALL"});
  db->exec("UPDATE user_account SET display_name = 'while down' WHERE user_account_id = 1");
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_until_synced(60s)) << sluice->output();
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

TEST_F(SinkResetTest, OneOfTwoSinksEmptiedWhileSluiceIsDownIsRebuiltWhileTheOtherResumes) {
  TomlWriter toml = config_toml();
  redis_sink(toml, "mirror", redis->url(1)).set("key", "{table}:{pk}");
  toml.array_table("sinks.tables").set("table", "public.media").set("key", "m:{channel_id}:{media_id}");
  const std::string config = write_config(toml, "two-sinks.toml");
  {
    auto sluice = start_sluice(config);
    ASSERT_TRUE(wait_streaming(*sluice)) << sluice->output();
    ASSERT_TRUE(wait_until_synced()) << sluice->output();
    sluice->terminate();
    ASSERT_EQ(sluice->wait(30s), 0) << sluice->output();
  }
  RedisClient mirror(redis->port(), 1);
  mirror.command({"FLUSHDB"});
  db->exec("UPDATE user_account SET display_name = 'while down' WHERE user_account_id = 1");
  db->exec("DELETE FROM media WHERE media_id = 2");
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_for_output(*sluice, "rebuilding sink 'mirror' while streaming"));
  ASSERT_TRUE(wait_for_output(*sluice, "rebuild of sink 'mirror': done"));
  EXPECT_EQ(sluice->output().find("rebuild of sink 'cache'"), std::string::npos) << sluice->output();
  ASSERT_TRUE(verified(config)) << sluice->output();
  EXPECT_TRUE(mirror.get("user_account:1")->find("while down") != std::string::npos);
}

}  // namespace
}  // namespace sluice::test
