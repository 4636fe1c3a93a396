// Case 1: sluice is killed with SIGKILL at random moments under load and
// restarted each time; every restart must resume exactly where the sink's
// checkpoint says, with nothing lost, nothing going backwards, no drift.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <thread>

#include "faults/fault_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class SluiceKillTest : public FaultTest {};

TEST_F(SluiceKillTest, KillNineAtRandomMomentsUnderLoadLosesNothing) {
  constexpr int kKills = 11;
  const unsigned seed = std::random_device{}();
  std::printf("SluiceKillTest seed: %u\n", seed);
  report.seed = std::to_string(seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> gap_ms(300, 2000);

  auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(22);
  std::this_thread::sleep_for(1s);

  report.recovery_measure =
      "restart after kill -9 -> the sink checkpoint reaches the WAL position read at the restart "
      "(measured when reached before the next kill)";
  report.secondary_measure = "restart after kill -9 -> 'streaming from slot' logged (from its timestamp)";
  std::optional<std::chrono::system_clock::time_point> started_wall;  // of the running instance, if a restart
  auto note_streaming = [&](const SluiceProcess& process) {
    if (!started_wall) return;
    if (auto s = seconds_to_line(process, "streaming from slot", *started_wall)) report.secondary_s.push_back(*s);
  };

  int before_recovery = 0;  // kills that came before the previous restart had caught up
  for (int kill = 0; kill < kKills; ++kill) {
    ASSERT_TRUE(sluice->running()) << sluice->output();
    sluice->kill9();
    ASSERT_TRUE(sluice->wait(10s));
    ++report.faults_injected;
    note_streaming(*sluice);
    auto target = wal_lsn();
    ASSERT_TRUE(target);
    auto restarted = Clock::now();
    started_wall = std::chrono::system_clock::now();
    sluice = start_sluice(config);
    if (kill + 1 == kKills) {
      // The last restart is left to run, and is measured to the end.
      auto recovered = time_until_sink_reaches(*target, restarted, sluice.get(), 60s);
      ASSERT_TRUE(recovered) << sluice->output();
      report.recovery_s.push_back(*recovered);
      ASSERT_TRUE(wait_streaming(*sluice));
      note_streaming(*sluice);
      break;
    }
    // Kill again at a random moment, whether or not it has caught up by then:
    // some kills land in the start-up, most while streaming and applying.
    auto kill_at = restarted + std::chrono::milliseconds(gap_ms(rng));
    auto recovered = time_until_sink_reaches(*target, restarted, sluice.get(),
                                             std::chrono::duration_cast<std::chrono::milliseconds>(kill_at - Clock::now()));
    if (recovered) {
      report.recovery_s.push_back(*recovered);
    } else {
      ++before_recovery;
    }
    std::this_thread::sleep_until(kill_at);
  }
  ASSERT_TRUE(load && !load->done()) << "the load ended before the last kill: lengthen it";
  report.notes = std::to_string(before_recovery) + " of " + std::to_string(report.faults_injected) +
                 " kills came before that restart had caught up (not in recovery_s)";
  finish_case(config);
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

}  // namespace
}  // namespace sluice::test
