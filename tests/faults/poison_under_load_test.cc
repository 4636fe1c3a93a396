// Case 7: a change the sink rejects (its key holds a Redis hash where the sink
// writes a JSON string: WRONGTYPE), under load. By default sluice stops without
// acknowledging the change; once the key is fixed a restart converges. With
// on_error = "dead_letter" it records the change and goes on; `sluice verify
// --repair` then rewrites the key.
//
// The poisoned row is an extra teller (tid 11) that pgbench never touches, so
// the rejected change is one this test makes, in a transaction whose xid it knows.
#include <gtest/gtest.h>

#include <thread>

#include "faults/fault_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class PoisonUnderLoadTest : public FaultTest {
 protected:
  static constexpr const char* kKey = "pgbench_tellers:11";

  void SetUp() override {
    FaultTest::SetUp();
    db().exec("INSERT INTO pgbench_tellers (tid, bid, tbalance) VALUES (11, 1, 0)");
  }

  // The key now holds a hash: the next write of the row is rejected.
  void poison() {
    cache().command({"DEL", kKey});
    cache().command({"HSET", kKey, "poisoned", "yes"});
    ++report.faults_injected;
  }

  // Updates teller 11; returns the transaction's xid.
  std::string update_teller_11() {
    db().exec("BEGIN");
    db().exec("UPDATE pgbench_tellers SET tbalance = tbalance + 1 WHERE tid = 11");
    std::string xid = db().scalar("SELECT pg_current_xact_id()::text");
    db().exec("COMMIT");
    ++manual_changes;
    return xid;
  }

  // The commit LSN of transaction `xid`, read from the slot without consuming
  // it: the pgoutput Commit message ('C', flags, commit LSN as 8 bytes, ...).
  std::optional<uint64_t> commit_lsn_in_slot(const std::string& xid) {
    auto hex = try_scalar(
        "SELECT coalesce((SELECT encode(substring(data from 3 for 8), 'hex') FROM "
        "pg_logical_slot_peek_binary_changes('" + std::string(kSlot) + "', NULL, NULL, 'proto_version', '1', "
        "'publication_names', 'sluice_cache') WHERE xid = '" + xid + "'::xid AND get_byte(data, 0) = 67), '')");
    if (!hex || hex->size() != 16) return std::nullopt;
    return std::stoull(*hex, nullptr, 16);
  }
};

TEST_F(PoisonUnderLoadTest, StopsWithoutAcknowledgingThenDeadLettersAndRepairs) {
  report.recovery_measure =
      "restart after the key was fixed -> the sink checkpoint reaches the WAL position read at the restart";
  auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(10);
  std::this_thread::sleep_for(2s);

  // on_error = "stop" (the default).
  poison();
  std::string xid = update_teller_11();
  auto code = sluice->wait(30s);
  ASSERT_TRUE(code) << "sluice did not stop on the rejected change:\n" << sluice->output();
  EXPECT_NE(*code, 0);
  EXPECT_NE(sluice->output().find(kKey), std::string::npos) << sluice->output();
  EXPECT_NE(sluice->output().find("WRONGTYPE"), std::string::npos) << sluice->output();
  EXPECT_EQ(cache().command({"TYPE", kKey})[0], std::string("hash")) << "part of the rejected batch was written";
  auto commit = commit_lsn_in_slot(xid);
  auto confirmed = slot_confirmed_lsn();
  ASSERT_TRUE(commit) << "transaction " << xid << " is no longer in the slot: it was acknowledged";
  ASSERT_TRUE(confirmed);
  EXPECT_LE(*confirmed, *commit) << "the slot was acknowledged past the rejected change";

  cache().command({"DEL", kKey});  // the fix
  auto target = wal_lsn();
  ASSERT_TRUE(target);
  auto restarted = Clock::now();
  sluice = start_sluice(config);
  auto recovered = time_until_sink_reaches(*target, restarted, sluice.get(), 60s);
  ASSERT_TRUE(recovered) << sluice->output();
  report.recovery_s.push_back(*recovered);
  EXPECT_EQ(cache().command({"TYPE", kKey})[0], std::string("string"));
  ASSERT_TRUE(load && !load->done()) << "the load ended before the restart: lengthen it";
  // `sluice verify` once the load is over: the end state must have no drift.
  wait_load();
  ASSERT_TRUE(wait_caught_up());
  EXPECT_TRUE(verify_no_drift(config)) << "after the fix and a restart";

  // on_error = "dead_letter".
  sluice->terminate();
  ASSERT_EQ(sluice->wait(30s), 0) << sluice->output();
  config = write_config("on_error = \"dead_letter\"\n");
  sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(10);
  std::this_thread::sleep_for(2s);
  poison();
  update_teller_11();
  ASSERT_TRUE(eventually([&] {
    auto length = cache().command({"XLEN", kDeadLetterKey});
    return !length.empty() && length[0] && std::stol(*length[0]) >= 1;
  }, 30s)) << sluice->output();
  EXPECT_EQ(cache().command({"XLEN", kDeadLetterKey})[0], std::string("1"));
  EXPECT_EQ(cache().command({"HGET", kCheckpointKey, "dead_letters"})[0], std::string("1"));
  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(sluice->running()) << "sluice stopped on a dead-lettered change:\n" << sluice->output();
  cache().command({"DEL", kKey});  // the fix; the dead-lettered update is what verify must repair
  ASSERT_TRUE(load && !load->done()) << "the load ended before the dead letter: lengthen it";
  wait_load();
  ASSERT_TRUE(wait_caught_up());
  auto repair = run_verify(config, /*repair=*/true);
  EXPECT_EQ(repair.code, 0) << repair.output;
  EXPECT_NE(repair.output.find("(1 keys repaired)"), std::string::npos) << repair.output;
  report.notes = "captured_changes includes the 2 updates of the poisoned row; the second was dead-lettered and "
                 "repaired by `sluice verify --repair`";
  finish_case(config);
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

}  // namespace
}  // namespace sluice::test
