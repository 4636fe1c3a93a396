// Outages and interruptions: PostgreSQL restarts, an interrupted snapshot, a
// Redis that stalls longer than PostgreSQL's wal_sender_timeout.
#include <gtest/gtest.h>

#include <thread>

#include "integration/pipeline_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class ResilienceTest : public PipelineTest {};

TEST_F(ResilienceTest, PostgresCrashAndRestartIsRetriedAndCaughtUp) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_streaming(*sluice));
  db->exec("INSERT INTO user_account (email, display_name) VALUES ('before@x', 'b')");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  db.reset();
  pg->crash();
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(sluice->running()) << sluice->output();
  pg->start();
  db = std::make_unique<PgClient>(pg->dsn());
  db->exec("INSERT INTO user_account (email, display_name) VALUES ('after@x', 'a')");
  db->exec("UPDATE channel SET name = 'after restart' WHERE channel_id = 2");
  ASSERT_TRUE(wait_until_synced(60s)) << sluice->output();
  EXPECT_TRUE(sluice->running());
  // The outage is logged once, not per attempt.
  auto output = sluice->output();
  size_t lost = 0;
  for (size_t at = output.find("retrying with backoff"); at != std::string::npos;
       at = output.find("retrying with backoff", at + 1)) {
    ++lost;
  }
  EXPECT_EQ(lost, 1u) << output;
}

TEST_F(ResilienceTest, InterruptedSnapshotRestartsCleanly) {
  db->exec("INSERT INTO user_account (email, display_name) SELECT 'bulk' || g || '@x', repeat('n', 100) "
           "FROM generate_series(1, 150000) g");
  auto config = write_config("batch_max_changes = 500\n", "snapshot_chunk_rows = 1000\nsnapshot_workers = 1\n");
  auto sluice = start_sluice(config);
  ASSERT_TRUE(eventually([&] { return cache->keys("user_account:1*").size() > 100; }, 60s)) << sluice->output();
  sluice->kill9();
  // Rows deleted between the two attempts must not survive from the first one.
  db->exec("DELETE FROM user_account WHERE user_account_id BETWEEN 3 AND 50");
  sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice, 120s));
  EXPECT_NE(sluice->output().find("interrupted"), std::string::npos) << sluice->output();
  ASSERT_TRUE(wait_until_synced(60s)) << sluice->output();
}

TEST_F(ResilienceTest, SlowRedisDoesNotTimeOutTheWalsender) {
  pg->set_config("wal_sender_timeout = '2s'");
  pg->stop();
  pg->start();
  db = std::make_unique<PgClient>(pg->dsn());
  auto sluice = start_sluice(write_config("queue_max_bytes = 65536\nbatch_max_bytes = 32768\n"));
  ASSERT_TRUE(wait_streaming(*sluice));
  std::thread stall([&] {
    RedisClient admin(redis->port());
    admin.command({"DEBUG", "SLEEP", "6"});
  });
  std::this_thread::sleep_for(200ms);
  db->exec("INSERT INTO user_account (email, display_name) SELECT 'slow' || g || '@x', repeat('s', 200) "
           "FROM generate_series(1, 3000) g");
  stall.join();
  ASSERT_TRUE(wait_until_synced(60s)) << sluice->output();
  EXPECT_EQ(sluice->output().find("PostgreSQL source (slot"), std::string::npos)
      << "the walsender dropped the connection while Redis stalled:\n" << sluice->output();
}

}  // namespace
}  // namespace sluice::test
