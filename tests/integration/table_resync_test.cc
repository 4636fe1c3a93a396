// Table re-sync (issue 12): schema changes that PostgreSQL logs no row change
// for converge while streaming goes on, and `sluice resync` reads a table again
// on request — under writes, and across kill -9.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "integration/pipeline_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class TableResyncTest : public PipelineTest {
 protected:
  // Writes to channel (updates and inserts) until stopped.
  void start_writer() {
    writer_ = std::thread([this] {
      PgClient w(pg->dsn());
      for (int i = 0; writing_; ++i) {
        w.exec("UPDATE channel SET name = 'w" + std::to_string(i) + "' WHERE channel_id = " + std::to_string(1 + i % 2));
        if (i % 5 == 0) w.exec("INSERT INTO channel (user_account_id, name) VALUES (1, 'n" + std::to_string(i) + "')");
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  void stop_writer() {
    writing_ = false;
    if (writer_.joinable()) writer_.join();
  }
  void TearDown() override {
    stop_writer();
    PipelineTest::TearDown();
  }

  std::atomic<bool> writing_{true};
  std::thread writer_;
};

// Every document equals to_jsonb(row) again after each kind of schema change,
// without any row being written, while another table (and, for channel, the
// same one) takes writes.
TEST_F(TableResyncTest, AddDropRenameAndRetypeConvergeUnderWrites) {
  const auto config = write_config("", "schema_check_interval_ms = 200\nsnapshot_chunk_rows = 50\n");
  db->exec("INSERT INTO user_account (email, display_name) SELECT 'u' || g || '@x', 'U' || g "
           "FROM generate_series(1, 500) g");
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  start_writer();

  db->exec("ALTER TABLE user_account ADD COLUMN karma int NOT NULL DEFAULT 7");
  ASSERT_TRUE(eventually([&] { return table_matches("user_account"); }, 30s)) << table_matches("user_account");
  db->exec("ALTER TABLE channel ADD COLUMN rank int");  // the table being written to
  db->exec("ALTER TABLE user_account DROP COLUMN karma");
  ASSERT_TRUE(eventually([&] { return table_matches("user_account"); }, 30s)) << table_matches("user_account");
  db->exec("ALTER TABLE user_account RENAME COLUMN display_name TO nick");
  ASSERT_TRUE(eventually([&] { return table_matches("user_account"); }, 30s)) << table_matches("user_account");
  db->exec("ALTER TABLE media ALTER COLUMN duration_seconds TYPE float8");  // 12.500 -> 12.5
  ASSERT_TRUE(eventually([&] { return table_matches("media"); }, 30s)) << table_matches("media");

  stop_writer();
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  auto [code, output] = run_sluice({"verify", "--config", config}, env);
  EXPECT_EQ(code, 0) << output;
  EXPECT_TRUE(sluice->running()) << sluice->output();
  EXPECT_NE(sluice->output().find("re-sync of public.user_account: every row read again"), std::string::npos)
      << sluice->output();
}

// A sink edited by hand is mended by `sluice resync`, safely under writes.
TEST_F(TableResyncTest, ResyncCommandRestoresHandEditedDocuments) {
  const auto config = write_config("", "schema_check_interval_ms = 0\n");
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  start_writer();
  cache->command({"DEL", "user_account:1"});
  cache->command({"SET", "user_account:2", "{\"edited\": true}"});
  ASSERT_FALSE(table_matches("user_account"));
  auto [code, output] = run_sluice({"resync", "--config", config, "--table", "public.user_account"}, env);
  ASSERT_EQ(code, 0) << output;
  EXPECT_NE(output.find("asked the instance streaming slot 'sluice_cache' to re-sync public.user_account"),
            std::string::npos) << output;
  ASSERT_TRUE(eventually([&] { return table_matches("user_account"); }, 30s)) << table_matches("user_account")
                                                                              << sluice->output();
  stop_writer();
  ASSERT_TRUE(wait_until_synced()) << sluice->output();

  auto [bad_code, bad_output] = run_sluice({"resync", "--config", config, "--table", "public.nope"}, env);
  EXPECT_EQ(bad_code, 1);
  EXPECT_NE(bad_output.find("public.nope is not captured"), std::string::npos) << bad_output;
}

// kill -9 in the middle of a requested re-sync: the next run re-syncs the table
// again (the request was recorded in the sink before it was acknowledged).
TEST_F(TableResyncTest, Kill9DuringAResyncStartsItAgainOnTheNextRun) {
  db->exec("INSERT INTO user_account (email, display_name) SELECT 'u' || g || '@x', 'U' || g "
           "FROM generate_series(1, 20000) g");
  const auto config = write_config("", "schema_check_interval_ms = 0\nsnapshot_chunk_rows = 20\n");
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice, 60s));
  ASSERT_TRUE(wait_until_synced(60s)) << sluice->output();
  cache->command({"DEL", "user_account:19999"});  // only a completed re-sync brings it back
  start_writer();
  auto [code, output] = run_sluice({"resync", "--config", config, "--table", "public.user_account"}, env);
  ASSERT_EQ(code, 0) << output;
  ASSERT_TRUE(wait_for_output(*sluice, "reading it again", 1, 30s));
  std::this_thread::sleep_for(300ms);
  sluice->kill9();
  ASSERT_FALSE(cache->get("user_account:19999")) << "the re-sync finished before the kill; nothing was tested";
  auto [status_code, status_output] = run_sluice({"status", "--config", config}, env);
  EXPECT_EQ(status_code, 0) << status_output;
  EXPECT_NE(status_output.find("public.user_account: re-sync pending or running"), std::string::npos)
      << status_output;
  EXPECT_EQ(status_output.find("public.channel: re-sync"), std::string::npos) << status_output;

  auto again = start_sluice(config);
  ASSERT_TRUE(wait_for_output(*again, "every row read again", 1, 90s));
  stop_writer();
  ASSERT_TRUE(wait_until_synced(60s)) << again->output();
  auto [verify_code, verify_output] = run_sluice({"verify", "--config", config}, env);
  EXPECT_EQ(verify_code, 0) << verify_output;
}

}  // namespace
}  // namespace sluice::test
