// Case 6: the replication slot is lost while sluice is down, under load: (a)
// dropped by hand, (b) invalidated by PostgreSQL (max_slot_wal_keep_size). A
// plain `sluice run` must refuse to start, naming the slot and --resnapshot (the
// changes in between are gone: resuming would silently skip them); `sluice run
// --resnapshot` must then rebuild the sink so that nothing has drifted.
#include <gtest/gtest.h>

#include <thread>

#include "faults/fault_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class LostSlotTest : public FaultTest {
 protected:
  // sluice streams under load for a while, then the load ends and sluice is killed.
  void stream_then_kill(const std::string& config) {
    auto sluice = start_sluice(config);
    ASSERT_TRUE(wait_streaming(*sluice));
    start_load(4);
    wait_load();
    sluice->kill9();
    ASSERT_TRUE(sluice->wait(10s));
  }

  // `sluice run` refuses to start; `sluice run --resnapshot` rebuilds under load.
  void refuse_then_resnapshot(const std::string& config, const std::string& expected_reason) {
    auto [code, output] = run_sluice({"run", "--config", config}, env, 60s);
    EXPECT_NE(code, 0) << output;
    EXPECT_NE(output.find("slot '" + std::string(kSlot) + "' " + expected_reason), std::string::npos) << output;
    EXPECT_NE(output.find("--resnapshot"), std::string::npos) << output;

    start_load(15);
    std::this_thread::sleep_for(1s);
    auto started = Clock::now();
    auto sluice = start_sluice(config, {"--resnapshot"});
    ASSERT_TRUE(wait_streaming(*sluice, 1, 120s));
    report.recovery_s.push_back(seconds_since(started));
    auto target = wal_lsn();
    ASSERT_TRUE(target);
    auto caught_up = time_until_sink_reaches(*target, started, sluice.get(), 60s);
    ASSERT_TRUE(caught_up) << sluice->output();
    report.secondary_s.push_back(*caught_up);
    ASSERT_TRUE(load && !load->done()) << "the load ended before the rebuild: lengthen it";
    finish_case(config);
    EXPECT_TRUE(sluice->running()) << sluice->output();
  }

  long committed() { return std::stol(try_scalar("SELECT count(*) FROM pgbench_history").value_or("-1")); }
  void note_gap(long before, const std::string& when) {
    report.notes = std::to_string(committed() - before) + " transactions committed " + when +
                   ": only the rebuild brings them to Redis";
  }

  void describe_measures() {
    report.recovery_measure = "start of `sluice run --resnapshot` under load -> 'streaming from slot' (the sink rebuilt)";
    report.secondary_measure =
        "start of `sluice run --resnapshot` -> the sink checkpoint reaches the WAL position read once streaming";
  }
};

TEST_F(LostSlotTest, DroppedSlotStopsTheRunAndResnapshotRebuildsUnderLoad) {
  describe_measures();
  auto config = write_config();
  stream_then_kill(config);
  // The walsender of the killed process may take a moment to let the slot go.
  ASSERT_TRUE(eventually([&] {
    return try_scalar("SELECT count(*) FROM (SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                      "WHERE slot_name = '" + std::string(kSlot) + "' AND NOT active) d")
               .value_or("0") == "1";
  }, 30s));
  ++report.faults_injected;
  long before = committed();
  start_load(3);  // changes that no slot keeps
  wait_load();
  note_gap(before, "after the slot was dropped");
  refuse_then_resnapshot(config, "does not exist");
}

TEST_F(LostSlotTest, InvalidatedSlotStopsTheRunAndResnapshotRebuildsUnderLoad) {
  describe_measures();
  pg->set_config("max_slot_wal_keep_size = '32MB'");
  pg->stop();
  pg->start();
  forget_connections();
  auto config = write_config();
  stream_then_kill(config);
  // While sluice is away, load and more WAL than the slot may keep go by.
  long before = committed();
  start_load(4);
  db().exec("CREATE TABLE wal_filler (id int, pad text)");
  for (int i = 0; i < 6; ++i) {
    db().exec("INSERT INTO wal_filler SELECT g, repeat('w', 200) FROM generate_series(1, 20000) g");
    db().exec("SELECT pg_switch_wal()");
  }
  wait_load();
  note_gap(before, "while sluice was down and the slot lost its WAL");
  ASSERT_TRUE(eventually([&] {
    db().exec("CHECKPOINT");
    return try_scalar("SELECT coalesce(wal_status, '') FROM pg_replication_slots WHERE slot_name = '" +
                      std::string(kSlot) + "'") == "lost";
  }, 60s)) << try_scalar("SELECT coalesce(wal_status, 'null') FROM pg_replication_slots").value_or("?");
  ++report.faults_injected;
  refuse_then_resnapshot(config, "was invalidated");
}

}  // namespace
}  // namespace sluice::test
