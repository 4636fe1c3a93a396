// Case 3: PostgreSQL crashes (pg_ctl stop -m immediate) and comes back at once,
// several times, while sluice streams under load. sluice must reconnect by
// itself and resume from the slot without losing or reordering anything.
#include <gtest/gtest.h>

#include <thread>

#include "faults/fault_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class PostgresCrashTest : public FaultTest {};

TEST_F(PostgresCrashTest, CrashesUnderLoadAreReconnectedAndCaughtUp) {
  constexpr int kCrashes = 3;
  auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(32);
  std::this_thread::sleep_for(2s);
  report.recovery_measure =
      "PostgreSQL accepting connections again -> the sink checkpoint reaches the WAL position read then "
      "(pgbench, which fails with the server, restarts by itself)";
  report.secondary_measure = "PostgreSQL accepting connections again -> 'streaming from slot' logged again";

  for (int crash = 0; crash < kCrashes; ++crash) {
    forget_connections();
    pg->crash();
    ++report.faults_injected;
    std::this_thread::sleep_for(1s);
    ASSERT_TRUE(sluice->running()) << "sluice exited while PostgreSQL was down:\n" << sluice->output();
    pg->start();
    auto back = Clock::now();
    auto back_wall = std::chrono::system_clock::now();
    auto target = wal_lsn();
    ASSERT_TRUE(target);
    auto recovered = time_until_sink_reaches(*target, back, sluice.get(), 60s);
    ASSERT_TRUE(recovered) << "no catch-up after crash " << crash + 1 << ":\n" << sluice->output();
    report.recovery_s.push_back(*recovered);
    ASSERT_TRUE(wait_streaming(*sluice, crash + 2, 30s));
    if (auto s = seconds_to_line(*sluice, "streaming from slot", back_wall, crash + 2)) report.secondary_s.push_back(*s);
    std::this_thread::sleep_for(3s);
  }
  ASSERT_TRUE(load && !load->done()) << "the load ended before the last crash was recovered: lengthen it";
  report.notes = "pgbench runs: " + std::to_string(load->runs()) + " (" + std::to_string(load->failed_runs()) +
                 " ended by a crash)";
  finish_case(config);
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

}  // namespace
}  // namespace sluice::test
