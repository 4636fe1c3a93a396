// A change the sink rejects ("poison"): by default sluice stops without
// acknowledging it; with on_error = "dead_letter" it is recorded and skipped.
#include <gtest/gtest.h>

#include "integration/pipeline_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class PoisonChangeTest : public PipelineTest {
 protected:
  // user_account:1 holds a list: the next write of that row is rejected (WRONGTYPE).
  void poison_user_1() {
    cache->command({"DEL", "user_account:1"});
    cache->command({"RPUSH", "user_account:1", "not a document"});
  }
};

TEST_F(PoisonChangeTest, StopsByDefaultWithoutAcknowledging) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_streaming(*sluice));
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  poison_user_1();
  db->exec("UPDATE user_account SET display_name = 'poisoned' WHERE user_account_id = 1");
  std::string after = db->scalar("SELECT pg_current_wal_lsn()::text");
  auto code = sluice->wait(30s);
  ASSERT_TRUE(code) << sluice->output();
  EXPECT_NE(*code, 0);
  EXPECT_NE(sluice->output().find("user_account:1"), std::string::npos) << sluice->output();
  EXPECT_EQ(db->scalar("SELECT (confirmed_flush_lsn < '" + after +
                       "'::pg_lsn)::text FROM pg_replication_slots WHERE slot_name = 'sluice_cache'"),
            "true");
  // Nothing of the rejected batch was written.
  EXPECT_EQ(cache->command({"TYPE", "user_account:1"})[0], std::string("list"));
}

TEST_F(PoisonChangeTest, DeadLetterRecordsTheChangeAndGoesOn) {
  auto sluice = start_sluice(write_config("on_error = \"dead_letter\"\n"));
  ASSERT_TRUE(wait_streaming(*sluice));
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  poison_user_1();
  db->exec("BEGIN; UPDATE user_account SET display_name = 'poisoned' WHERE user_account_id = 1; "
           "UPDATE user_account SET display_name = 'fine' WHERE user_account_id = 2; COMMIT;");
  db->exec("UPDATE channel SET name = 'later' WHERE channel_id = 1");
  ASSERT_TRUE(eventually([&] {
    auto doc = cache->get("channel:1");
    return doc && doc->find("later") != std::string::npos;
  })) << sluice->output();
  EXPECT_NE(cache->get("user_account:2")->find("fine"), std::string::npos);
  EXPECT_EQ(cache->command({"XLEN", "sluice:cache:dead_letter"})[0], std::string("1"));
  auto entry = cache->command({"XRANGE", "sluice:cache:dead_letter", "-", "+"});
  std::string flat;
  for (const auto& e : entry) flat += (e ? *e : "nil") + "|";
  EXPECT_NE(flat.find("|table|public.user_account|"), std::string::npos) << flat;
  EXPECT_NE(flat.find("|op|update|"), std::string::npos) << flat;
  EXPECT_NE(flat.find("WRONGTYPE"), std::string::npos) << flat;
  EXPECT_NE(flat.find("poisoned"), std::string::npos) << flat;
  EXPECT_EQ(cache->command({"HGET", "sluice:cache:checkpoint", "dead_letters"})[0], std::string("1"));
  EXPECT_TRUE(sluice->running()) << sluice->output();
  // The rest of the tables still match the database.
  EXPECT_TRUE(table_matches("channel"));
  EXPECT_TRUE(table_matches("media"));
}

}  // namespace
}  // namespace sluice::test
