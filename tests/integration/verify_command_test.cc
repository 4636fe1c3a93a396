// `sluice verify` against real PostgreSQL and Redis.
#include <gtest/gtest.h>

#include <thread>

#include "integration/pipeline_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class VerifyCommandTest : public PipelineTest {};

TEST_F(VerifyCommandTest, InSyncCacheHasNoDrift) {
  auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  auto [code, output] = run_sluice({"verify", "--config", config}, env);
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("public.user_account: 2 rows checked, 0 missing, 0 different, 0 extra"), std::string::npos)
      << output;
  EXPECT_NE(output.find("no drift"), std::string::npos) << output;
}

TEST_F(VerifyCommandTest, ReportsMissingDifferentAndExtraKeys) {
  auto config = write_config();
  {
    auto sluice = start_sluice(config);
    ASSERT_TRUE(wait_streaming(*sluice));
    ASSERT_TRUE(wait_until_synced()) << sluice->output();
    sluice->terminate();
    ASSERT_EQ(sluice->wait(30s), 0) << sluice->output();
  }
  cache->command({"DEL", "user_account:1"});
  cache->command({"SET", "channel:1", "{\"channel_id\":1}"});
  db->exec("DELETE FROM media WHERE media_id = 2");  // sluice is stopped: m:2:2 stays behind
  auto [code, output] = run_sluice({"verify", "--config", config}, env);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("public.user_account: 2 rows checked, 1 missing, 0 different, 0 extra"), std::string::npos)
      << output;
  EXPECT_NE(output.find("missing: user_account:1"), std::string::npos) << output;
  EXPECT_NE(output.find("public.channel: 2 rows checked, 0 missing, 1 different, 0 extra"), std::string::npos)
      << output;
  EXPECT_NE(output.find("different: channel:1"), std::string::npos) << output;
  EXPECT_NE(output.find("public.media: 1 rows checked, 0 missing, 0 different, 1 extra"), std::string::npos)
      << output;
  EXPECT_NE(output.find("extra: m:2:2"), std::string::npos) << output;
  // --table limits the check.
  auto [code2, output2] = run_sluice({"verify", "--config", config, "--table", "public.media"}, env);
  EXPECT_EQ(code2, 1) << output2;
  EXPECT_EQ(output2.find("user_account"), std::string::npos) << output2;

  // --repair rewrites each drifted key from the source; then nothing is left.
  auto [code3, output3] = run_sluice({"verify", "--config", config, "--repair"}, env);
  EXPECT_EQ(code3, 0) << output3;
  EXPECT_NE(output3.find("public.media: 1 rows checked, 0 missing, 0 different, 0 extra (1 keys repaired)"),
            std::string::npos) << output3;
  EXPECT_FALSE(cache->get("m:2:2"));
  EXPECT_TRUE(all_tables_match());
  auto [code4, output4] = run_sluice({"verify", "--config", config}, env);
  EXPECT_EQ(code4, 0) << output4;
  // Streaming resumes on top of the repaired keys.
  auto sluice = start_sluice(config);
  db->exec("UPDATE user_account SET display_name = 'after repair' WHERE user_account_id = 1");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
}

TEST_F(VerifyCommandTest, ChangesCommittedDuringVerifyAreNotDrift) {
  db->exec("INSERT INTO user_account (email, display_name) SELECT 'v' || g || '@x', 'v' FROM generate_series(1, 20000) g");
  auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice, 60s));
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    PgClient w(pg->dsn());
    for (int i = 0; writing && i < 3000; ++i) {
      w.exec("UPDATE user_account SET display_name = 'w" + std::to_string(i) + "' WHERE user_account_id = " +
             std::to_string(1 + (i * 7919) % 20000));
      if (i % 50 == 0) w.exec("DELETE FROM user_account WHERE user_account_id = " + std::to_string(20000 - i / 50));
    }
  });
  auto [code, output] = run_sluice({"verify", "--config", config}, env);
  writing = false;
  writer.join();
  EXPECT_EQ(code, 0) << output << sluice->output();
}

// More drift than verify holds at once (it decides and repairs suspects in
// groups of 10,000 so memory stays flat): every key is counted, a few shown,
// and --repair mends them all.
TEST_F(VerifyCommandTest, ManyDriftedKeysAreCountedAndRepairedInGroups) {
  db->exec("INSERT INTO user_account (email, display_name) SELECT 'm' || g || '@x', 'm' FROM generate_series(1, 25000) g");
  auto config = write_config();
  {
    auto sluice = start_sluice(config);
    ASSERT_TRUE(wait_streaming(*sluice, 60s));
    ASSERT_TRUE(wait_until_synced()) << sluice->output();
    sluice->terminate();
    ASSERT_EQ(sluice->wait(30s), 0) << sluice->output();
  }
  cache->command({"EVAL",
                  "local n = 0 for _, k in ipairs(redis.call('KEYS', 'user_account:*')) do "
                  "if n < 22000 then redis.call('DEL', k) else redis.call('SET', k, '{}') end n = n + 1 end return n",
                  "0"});
  auto [code, output] = run_sluice({"verify", "--config", config, "--table", "public.user_account"}, env);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("public.user_account: 25002 rows checked, 22000 missing, 3002 different, 0 extra"),
            std::string::npos) << output;
  auto lines_with = [&](const std::string& text) {
    size_t n = 0;
    for (auto at = output.find(text); at != std::string::npos; at = output.find(text, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(lines_with("  missing: "), 3u) << output;
  EXPECT_EQ(lines_with("  different: "), 3u) << output;
  auto [code2, output2] = run_sluice({"verify", "--config", config, "--repair"}, env);
  EXPECT_EQ(code2, 0) << output2;
  EXPECT_NE(output2.find("(25002 keys repaired)"), std::string::npos) << output2;
  EXPECT_TRUE(all_tables_match());
}

TEST_F(VerifyCommandTest, HashFormatIsVerifiedToo) {
  auto config = write_config("", "", "upsert", "hash");
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  db->exec("UPDATE media SET description = NULL WHERE media_id = 2");
  ASSERT_TRUE(eventually([&] { return cache->command({"HEXISTS", "m:2:2", "description"})[0] == std::string("0"); }));
  auto [code, output] = run_sluice({"verify", "--config", config}, env);
  EXPECT_EQ(code, 0) << output;
  cache->command({"HSET", "m:1:1", "title", "tampered"});
  auto [code2, output2] = run_sluice({"verify", "--config", config}, env);
  EXPECT_EQ(code2, 1) << output2;
  EXPECT_NE(output2.find("different: m:1:1"), std::string::npos) << output2;
}

}  // namespace
}  // namespace sluice::test
