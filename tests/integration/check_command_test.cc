// `sluice check` and the fatal start-up errors of `sluice run`, against real servers.
#include <gtest/gtest.h>

#include "integration/pipeline_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class CheckCommandTest : public PipelineTest {};

TEST_F(CheckCommandTest, HealthySetupPassesAndPrintsThePlan) {
  auto [code, output] = run_sluice({"check", "--config", write_config()}, env);
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("wal_level = logical"), std::string::npos) << output;
  EXPECT_NE(output.find("run would:"), std::string::npos) << output;
  EXPECT_EQ(output.find("app-secret"), std::string::npos) << output;
}

TEST_F(CheckCommandTest, WalLevelReplicaIsReportedWithTheFix) {
  pg->set_config("wal_level = replica");
  pg->stop();
  pg->start();
  auto config = write_config();
  auto [code, output] = run_sluice({"check", "--config", config}, env);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("wal_level is 'replica'"), std::string::npos) << output;
  EXPECT_NE(output.find("ALTER SYSTEM SET wal_level = logical"), std::string::npos) << output;
  auto [run_code, run_output] = run_sluice({"run", "--config", config}, env);
  EXPECT_EQ(run_code, 1) << run_output;
  EXPECT_NE(run_output.find("wal_level"), std::string::npos) << run_output;
}

TEST_F(CheckCommandTest, MissingTableAndMissingPrimaryKeyAreNamed) {
  db->exec("ALTER TABLE channel DROP CONSTRAINT channel_pkey CASCADE");
  db->exec("DROP TABLE media");
  auto [code, output] = run_sluice({"check", "--config", write_config()}, env);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("table public.media does not exist"), std::string::npos) << output;
  EXPECT_NE(output.find("public.channel has no primary key"), std::string::npos) << output;
}

TEST_F(CheckCommandTest, BadPasswordIsReportedWithoutThePassword) {
  env = {"APP_PG_PASSWORD=wrong-secret-123"};
  auto config = write_config();
  auto [code, output] = run_sluice({"check", "--config", config}, env);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("password authentication failed"), std::string::npos) << output;
  EXPECT_EQ(output.find("wrong-secret-123"), std::string::npos) << output;
  auto [run_code, run_output] = run_sluice({"run", "--config", config}, env);
  EXPECT_EQ(run_code, 1);
  EXPECT_EQ(run_output.find("wrong-secret-123"), std::string::npos) << run_output;
}

TEST_F(CheckCommandTest, UnsetEnvironmentVariableIsAConfigError) {
  auto [code, output] = run_sluice({"check", "--config", write_config()}, {});
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("APP_PG_PASSWORD"), std::string::npos) << output;
  EXPECT_NE(output.find("sluice.toml:"), std::string::npos) << output;
}

TEST_F(CheckCommandTest, UnreachableRedisIsAProblem) {
  redis->stop();
  auto [code, output] = run_sluice({"check", "--config", write_config()}, env);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("sink 'cache'"), std::string::npos) << output;
}

TEST_F(CheckCommandTest, DroppedSlotStopsTheRunWithRecoveryAdvice) {
  auto config = write_config();
  {
    auto sluice = start_sluice(config);
    // Past the snapshot (a stop during it would rightly restart the snapshot).
    ASSERT_TRUE(wait_streaming(*sluice));
    sluice->terminate();
    ASSERT_EQ(sluice->wait(30s), 0) << sluice->output();
  }
  db->exec("SELECT pg_drop_replication_slot('sluice_cache')");
  auto [code, output] = run_sluice({"run", "--config", config}, env, 60s);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("slot 'sluice_cache' does not exist"), std::string::npos) << output;
  EXPECT_NE(output.find("--resnapshot"), std::string::npos) << output;
  // --resnapshot rebuilds.
  auto sluice = start_sluice(config, {"--resnapshot"});
  db->exec("UPDATE user_account SET display_name = 'after' WHERE user_account_id = 1");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
}

TEST_F(CheckCommandTest, InvalidatedSlotStopsTheRunAndResnapshotRecovers) {
  pg->set_config("max_slot_wal_keep_size = '32MB'");
  pg->stop();
  pg->start();
  db = std::make_unique<PgClient>(pg->dsn());
  auto config = write_config();
  {
    auto sluice = start_sluice(config);
    ASSERT_TRUE(wait_streaming(*sluice));
    sluice->terminate();
    ASSERT_EQ(sluice->wait(30s), 0) << sluice->output();
  }
  // While sluice is away, more WAL than the slot may keep goes by.
  for (int i = 0; i < 6; ++i) {
    db->exec("INSERT INTO user_account (email, display_name) SELECT 'w" + std::to_string(i) +
             "-' || g || '@x', repeat('w', 200) FROM generate_series(1, 20000) g");
    db->exec("SELECT pg_switch_wal()");
  }
  db->exec("CHECKPOINT");
  ASSERT_TRUE(eventually([&] {
    return db->scalar("SELECT coalesce(wal_status, '') FROM pg_replication_slots WHERE slot_name = 'sluice_cache'") == "lost";
  })) << db->scalar("SELECT coalesce(wal_status, 'null') FROM pg_replication_slots WHERE slot_name = 'sluice_cache'");
  auto [code, output] = run_sluice({"run", "--config", config}, env, 60s);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("slot 'sluice_cache' was invalidated"), std::string::npos) << output;
  EXPECT_NE(output.find("--resnapshot"), std::string::npos) << output;
  auto sluice = start_sluice(config, {"--resnapshot"});
  ASSERT_TRUE(wait_streaming(*sluice, 60s));
  db->exec("UPDATE user_account SET display_name = 'after' WHERE user_account_id = 1");
  ASSERT_TRUE(wait_until_synced(60s)) << sluice->output();
}

}  // namespace
}  // namespace sluice::test
