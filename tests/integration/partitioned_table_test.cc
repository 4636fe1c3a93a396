// Partitioned tables (issue 12): a listed partitioned table is captured under its
// own name whichever partition holds a row; publications that would send its
// changes under other names are refused with the statement that fixes them;
// a change sluice cannot place stops the run instead of being skipped.
#include <gtest/gtest.h>

#include "integration/pipeline_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class PartitionedTableTest : public PipelineTest {
 protected:
  void SetUp() override {
    PipelineTest::SetUp();
    // Like Pagila's payment: the key's order (payment_date, payment_id) is not
    // the column order.
    db->exec(R"(
      CREATE TABLE payment (payment_id int NOT NULL, customer_id int NOT NULL, amount numeric(5,2) NOT NULL,
                            payment_date timestamptz NOT NULL, PRIMARY KEY (payment_date, payment_id))
        PARTITION BY RANGE (payment_date);
      CREATE TABLE payment_p2022_01 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');
      CREATE TABLE payment_p2022_02 PARTITION OF payment FOR VALUES FROM ('2022-02-01') TO ('2022-03-01');
      INSERT INTO payment SELECT g, g % 7, g / 10.0, '2022-01-01'::timestamptz + g * interval '7 hours'
        FROM generate_series(1, 200) g;)");
  }

  // The fixture's config with public.payment captured too.
  std::string payment_config(const std::string& source_extra = "") {
    capture("public.payment");
    return write_config("", source_extra);
  }

  // `sluice verify` over every table: 0 when the cache equals the database.
  std::pair<int, std::string> verify(const std::string& config) {
    return run_sluice({"verify", "--config", config}, env);
  }

  // Waits until Redis holds one payment key per row and verify finds no drift.
  ::testing::AssertionResult payments_match(const std::string& config, SluiceProcess& sluice) {
    const bool counted = eventually([&] {
      return cache->keys("payment:*").size() == std::stoul(db->scalar("SELECT count(*) FROM payment"));
    }, 30s);
    if (!counted) {
      return ::testing::AssertionFailure() << cache->keys("payment:*").size() << " payment keys for "
                                           << db->scalar("SELECT count(*) FROM payment") << " rows\n"
                                           << sluice.output();
    }
    auto [code, output] = verify(config);
    if (code != 0) return ::testing::AssertionFailure() << "verify:\n" << output << "\nsluice:\n" << sluice.output();
    return ::testing::AssertionSuccess();
  }
};

TEST_F(PartitionedTableTest, EveryChangeOfEveryPartitionArrivesUnderTheParentsNameAndKey) {
  const auto config = payment_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  ASSERT_TRUE(payments_match(config, *sluice));
  // {pk} is in the key's order: payment_date first.
  EXPECT_TRUE(cache->get("payment:2022-01-01T07\\:00\\:00+00\\:00:1")) << cache->keys("payment:*").front();

  db->exec("INSERT INTO payment VALUES (1001, 1, 9.99, '2022-02-03 10:00+00')");     // second partition
  db->exec("UPDATE payment SET amount = 1.23 WHERE payment_id = 2");                 // in place
  db->exec("UPDATE payment SET payment_date = '2022-02-20 12:00+00' WHERE payment_id = 3");  // moves partition
  db->exec("DELETE FROM payment WHERE payment_id = 4");
  ASSERT_TRUE(payments_match(config, *sluice));

  // A partition attached later is captured too.
  db->exec("CREATE TABLE payment_p2022_03 (LIKE payment INCLUDING ALL)");
  db->exec("ALTER TABLE payment ATTACH PARTITION payment_p2022_03 FOR VALUES FROM ('2022-03-01') TO ('2022-04-01')");
  db->exec("INSERT INTO payment VALUES (1002, 2, 5.00, '2022-03-04 00:00+00')");
  db->exec("UPDATE payment SET payment_date = '2022-03-05 00:00+00' WHERE payment_id = 1001");  // into the new one
  ASSERT_TRUE(payments_match(config, *sluice));

  // TRUNCATE of the parent empties every partition, and the cache with it.
  db->exec("TRUNCATE payment");
  ASSERT_TRUE(eventually([&] { return cache->keys("payment:*").empty(); }, 20s)) << sluice->output();
  db->exec("INSERT INTO payment VALUES (2001, 3, 1.00, '2022-01-09 00:00+00')");
  ASSERT_TRUE(payments_match(config, *sluice));
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

TEST_F(PartitionedTableTest, ListedPartitionsThemselvesKeepWorking) {
  capture("public.payment_p2022_01");
  const auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  const auto rows = [&] { return std::stoul(db->scalar("SELECT count(*) FROM payment_p2022_01")); };
  ASSERT_TRUE(eventually([&] { return cache->keys("payment_p2022_01:*").size() == rows(); })) << sluice->output();
  db->exec("INSERT INTO payment VALUES (1001, 1, 9.99, '2022-01-03 10:00+00')");
  db->exec("INSERT INTO payment VALUES (1002, 1, 9.99, '2022-02-03 10:00+00')");  // another partition: not captured
  db->exec("DELETE FROM payment WHERE payment_id = 5");
  ASSERT_TRUE(eventually([&] { return cache->keys("payment_p2022_01:*").size() == rows(); })) << sluice->output();
  auto [code, output] = verify(config);
  EXPECT_EQ(code, 0) << output;
}

// A DBA's publication without publish_via_partition_root sends the changes
// under the partitions' names: check says so with the statement that fixes
// it, and that statement does.
TEST_F(PartitionedTableTest, PublicationOfPartitionsIsRefusedWithTheStatementThatFixesIt) {
  db->exec("CREATE PUBLICATION sluice_cache FOR TABLE user_account, channel, media, payment");
  const auto config = payment_config();
  auto [code, output] = run_sluice({"check", "--config", config}, env);
  EXPECT_EQ(code, 1) << output;
  const std::string fix = "ALTER PUBLICATION sluice_cache SET (publish_via_partition_root = true);";
  EXPECT_NE(output.find("publishes the partitions of public.payment under their own names"), std::string::npos)
      << output;
  EXPECT_NE(output.find(fix), std::string::npos) << output;
  auto [run_code, run_output] = run_sluice({"run", "--config", config}, env);
  EXPECT_EQ(run_code, 1) << run_output;
  EXPECT_NE(run_output.find(fix), std::string::npos) << run_output;

  db->exec(fix);
  auto [fixed_code, fixed_output] = run_sluice({"check", "--config", config}, env);
  EXPECT_EQ(fixed_code, 0) << fixed_output;
}

TEST_F(PartitionedTableTest, PublicationLackingATableGetsAnAddTableThatWorks) {
  db->exec("CREATE PUBLICATION sluice_cache FOR TABLE user_account, channel, media "
           "WITH (publish_via_partition_root = true)");
  const auto config = payment_config();
  auto [code, output] = run_sluice({"check", "--config", config}, env);
  EXPECT_EQ(code, 1) << output;
  const std::string fix = "ALTER PUBLICATION sluice_cache ADD TABLE public.payment;";
  EXPECT_NE(output.find("publication 'sluice_cache' does not publish public.payment: " + fix), std::string::npos)
      << output;
  db->exec(fix);
  auto [fixed_code, fixed_output] = run_sluice({"check", "--config", config}, env);
  EXPECT_EQ(fixed_code, 0) << fixed_output;
}

// The issue's second failure: the publication sluice created itself must pass
// the restart's check.
TEST_F(PartitionedTableTest, RestartAfterCreatingThePublicationIsAccepted) {
  const auto config = payment_config();
  {
    auto sluice = start_sluice(config);
    ASSERT_TRUE(wait_streaming(*sluice));
    sluice->terminate();
    ASSERT_EQ(sluice->wait(20s), 0) << sluice->output();
  }
  EXPECT_EQ(db->scalar("SELECT pubviaroot::text FROM pg_publication WHERE pubname = 'sluice_cache'"), "true");
  auto [code, output] = run_sluice({"check", "--config", config}, env);
  EXPECT_EQ(code, 0) << output;
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  db->exec("INSERT INTO payment VALUES (1001, 1, 9.99, '2022-02-03 10:00+00')");
  ASSERT_TRUE(payments_match(config, *sluice));
}

// Tables the publication has but sluice does not capture: a warning, and their
// changes are left out and counted, not an error.
TEST_F(PartitionedTableTest, ExtraPublishedTablesAreLeftOutAndCounted) {
  db->exec("CREATE TABLE audit (id int PRIMARY KEY, what text)");
  db->exec("CREATE PUBLICATION sluice_cache FOR TABLE user_account, channel, media, audit");
  const auto config = write_config();
  auto [code, output] = run_sluice({"check", "--config", config}, env);
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("also publishes 1 table(s) sluice does not capture (public.audit)"), std::string::npos)
      << output;
  EXPECT_NE(output.find("ALTER PUBLICATION sluice_cache DROP TABLE public.audit;"), std::string::npos) << output;

  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  db->exec("INSERT INTO audit VALUES (1, 'x'), (2, 'y')");
  db->exec("UPDATE channel SET name = 'after audit' WHERE channel_id = 1");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  EXPECT_TRUE(cache->keys("audit:*").empty());
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

// The publication changes while sluice streams, so that PostgreSQL sends a
// captured table's changes under a partition's name: the run stops naming it.
TEST_F(PartitionedTableTest, ChangeUnderAPartitionsNameStopsTheRunNamingIt) {
  const auto config = payment_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  ASSERT_TRUE(payments_match(config, *sluice));
  db->exec("ALTER PUBLICATION sluice_cache SET (publish_via_partition_root = false)");
  db->exec("INSERT INTO payment VALUES (1001, 1, 9.99, '2022-02-03 10:00+00')");
  auto code = sluice->wait(30s);
  ASSERT_TRUE(code.has_value()) << "sluice kept running past a change it cannot place:\n" << sluice->output();
  EXPECT_NE(*code, 0);
  const std::string out = sluice->output();
  EXPECT_NE(out.find("public.payment_p2022_02"), std::string::npos) << out;
  EXPECT_NE(out.find("a partition of captured table public.payment"), std::string::npos) << out;
  EXPECT_EQ(cache->get("payment:2022-02-03T10\\:00\\:00+00\\:00:1001"), std::nullopt);
  EXPECT_NE(out.find("sluice run --resnapshot"), std::string::npos) << out;
  // The advice works: fixed and started afresh, the change is there.
  db->exec("ALTER PUBLICATION sluice_cache SET (publish_via_partition_root = true)");
  auto again = start_sluice(config, {"--resnapshot"});
  ASSERT_TRUE(payments_match(config, *again));
  db->exec("INSERT INTO payment VALUES (1003, 1, 9.99, '2022-02-04 10:00+00')");
  ASSERT_TRUE(payments_match(config, *again));
}

TEST_F(PartitionedTableTest, RenamedCapturedTableStopsTheRunNamingBothNames) {
  const auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  db->exec("ALTER TABLE channel RENAME TO tv_channel");
  db->exec("UPDATE tv_channel SET name = 'renamed' WHERE channel_id = 1");
  auto code = sluice->wait(30s);
  ASSERT_TRUE(code.has_value()) << "a change of a renamed captured table was skipped:\n" << sluice->output();
  EXPECT_NE(*code, 0);
  const std::string out = sluice->output();
  EXPECT_NE(out.find("captured table public.channel"), std::string::npos) << out;
  EXPECT_NE(out.find("is now called public.tv_channel"), std::string::npos) << out;
}

// mode = "upsert" refuses a template that could give two rows one key.
TEST_F(PartitionedTableTest, UpsertTemplateThatDoesNotCoverAKeyIsRefused) {
  const auto config_keying_users_by = [&](const std::string& key) {
    return write_config(config_toml().array_table("sinks.tables").set("table", "public.user_account").set("key", key));
  };
  const auto config = config_keying_users_by("u:{display_name}");
  auto [code, output] = run_sluice({"check", "--config", config}, env);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("table public.user_account: key template 'u:{display_name}'"), std::string::npos) << output;
  EXPECT_NE(output.find("do not include the primary key (user_account_id) or a unique key"), std::string::npos)
      << output;
  auto [run_code, run_output] = run_sluice({"run", "--config", config}, env);
  EXPECT_EQ(run_code, 1) << run_output;
  EXPECT_NE(run_output.find("key template 'u:{display_name}'"), std::string::npos) << run_output;
  // A unique key (email is UNIQUE NOT NULL in the seed) is enough.
  auto [ok_code, ok_output] = run_sluice({"check", "--config", config_keying_users_by("u:{email}")}, env);
  EXPECT_EQ(ok_code, 0) << ok_output;
}

}  // namespace
}  // namespace sluice::test

namespace sluice::test {
namespace {

// Rows that enter or leave a partitioned table without a logged row change
// (ATTACH, DETACH, TRUNCATE of one partition) converge through a re-sync.
TEST_F(PartitionedTableTest, DetachAttachAndTruncateOfOnePartitionConverge) {
  const auto config = payment_config("schema_check_interval_ms = 200\n");
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  ASSERT_TRUE(payments_match(config, *sluice));

  db->exec("ALTER TABLE payment DETACH PARTITION payment_p2022_02");
  ASSERT_TRUE(payments_match(config, *sluice));

  db->exec("CREATE TABLE payment_p2022_03 (LIKE payment INCLUDING ALL)");
  db->exec("INSERT INTO payment_p2022_03 SELECT g, 1, 2.50, '2022-03-01'::timestamptz + (g - 5000) * interval '1 hour' "
           "FROM generate_series(5001, 5040) g");
  db->exec("ALTER TABLE payment ATTACH PARTITION payment_p2022_03 FOR VALUES FROM ('2022-03-01') TO ('2022-04-01')");
  ASSERT_TRUE(payments_match(config, *sluice));

  db->exec("TRUNCATE payment_p2022_01");  // PostgreSQL sends nothing for it (publish_via_partition_root)
  ASSERT_TRUE(payments_match(config, *sluice));
  EXPECT_EQ(db->scalar("SELECT count(*) FROM payment"), "40");
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

}  // namespace
}  // namespace sluice::test

namespace sluice::test {
namespace {

// A cache written by an earlier version: keys in column order and unescaped, no
// stored table shapes. The first run re-syncs every table, which moves each
// document to its new key.
TEST_F(PartitionedTableTest, FirstRunAfterTheKeyChangeMovesDocumentsToTheirNewKeys) {
  const auto config = payment_config();
  const std::string new_key = "payment:2022-01-01T07\\:00\\:00+00\\:00:1";
  const std::string old_key = "payment:1:2022-01-01T07:00:00+00:00";
  {
    auto sluice = start_sluice(config);
    ASSERT_TRUE(wait_streaming(*sluice));
    ASSERT_TRUE(payments_match(config, *sluice));
    sluice->terminate();
    ASSERT_EQ(sluice->wait(20s), 0) << sluice->output();
  }
  ASSERT_TRUE(cache->get(new_key));
  // Make it look like the earlier version's state for that row.
  const std::string index = "sluice:cache:index:public.payment";
  auto entries = cache->command({"HGETALL", index});
  bool moved = false;
  for (size_t i = 0; i + 1 < entries.size(); i += 2) {
    const std::string& entry = *entries[i + 1];
    if (entry.size() > new_key.size() && entry.compare(entry.size() - new_key.size(), new_key.size(), new_key) == 0) {
      cache->command({"HSET", index, *entries[i], entry.substr(0, entry.find(' ')) + " " + old_key});
      cache->command({"RENAME", new_key, old_key});
      moved = true;
    }
  }
  ASSERT_TRUE(moved);
  cache->command({"DEL", "sluice:cache:shapes"});

  auto sluice = start_sluice(config);
  ASSERT_TRUE(eventually([&] { return cache->get(new_key).has_value() && !cache->get(old_key); }, 30s))
      << sluice->output();
  ASSERT_TRUE(payments_match(config, *sluice));
}

}  // namespace
}  // namespace sluice::test
