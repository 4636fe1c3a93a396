// Case 8: two instances on one config under load. The second waits as a
// standby; each time the active one is killed (-9), the standby takes over and a
// new standby is started. There is never more than one active instance.
#include <gtest/gtest.h>

#include <thread>

#include "faults/fault_fixture.h"
#include "harness/tcp_proxy.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class StandbyTakeoverTest : public FaultTest {
 protected:
  ::testing::AssertionResult wait_standby(SluiceProcess& process) {
    return wait_for_output(process, "waiting as a standby", 1, 30s);
  }
  // The standby has not started streaming, nor said it took over.
  static ::testing::AssertionResult still_standby(const SluiceProcess& standby) {
    if (occurrences(standby, "streaming from slot") == 0 && occurrences(standby, "took over") == 0) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "the standby became active while the active instance ran:\n"
                                         << standby.output();
  }
};

TEST_F(StandbyTakeoverTest, KilledActiveIsReplacedByTheStandbyUnderLoad) {
  constexpr int kTakeovers = 4;
  auto config = write_config();
  auto active = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*active));
  start_load(32);
  auto standby = start_sluice(config);
  ASSERT_TRUE(wait_standby(*standby));
  report.recovery_measure = "kill -9 of the active instance -> the standby logs 'streaming from slot'";
  report.secondary_measure = "kill -9 of the active instance -> the standby logs 'took over as the active instance'";

  for (int takeover = 0; takeover < kTakeovers; ++takeover) {
    // Let the active instance work, checking all along that the standby waits.
    auto until = Clock::now() + 2s;
    while (Clock::now() < until) {
      ASSERT_TRUE(active->running()) << active->output();
      ASSERT_TRUE(standby->running()) << standby->output();
      ASSERT_TRUE(still_standby(*standby));
      std::this_thread::sleep_for(100ms);
    }
    auto killed_wall = std::chrono::system_clock::now();
    active->kill9();
    ASSERT_TRUE(active->wait(10s));
    ++report.faults_injected;
    ASSERT_TRUE(wait_streaming(*standby, 1, 30s));
    auto streaming = seconds_to_line(*standby, "streaming from slot", killed_wall);
    auto took_over = seconds_to_line(*standby, "took over as the active instance", killed_wall);
    ASSERT_TRUE(streaming && took_over) << standby->output();
    report.recovery_s.push_back(*streaming);
    report.secondary_s.push_back(*took_over);
    active = std::move(standby);
    standby = start_sluice(config);
    ASSERT_TRUE(wait_standby(*standby));
  }
  ASSERT_TRUE(load && !load->done()) << "the load ended before the last takeover: lengthen it";
  finish_case(config);
  EXPECT_TRUE(active->running()) << active->output();
  EXPECT_TRUE(still_standby(*standby));
}

// The active instance holds its claim (a PostgreSQL advisory lock) on a
// connection of its own. When only that connection breaks, the standby gets the
// lock: the active one must notice and stop streaming before the standby may
// stream, or there are two active instances.
TEST_F(StandbyTakeoverTest, ActiveThatLosesItsLockConnectionIsNotJoinedByASecondActive) {
  constexpr int kCuts = 2;
  TcpProxy proxy(pg->port());
  auto config = write_config();
  auto active = start_sluice(write_config("", proxy.port(), 0, "", "active.toml"));
  ASSERT_TRUE(wait_streaming(*active));
  start_load(14);
  auto standby = start_sluice(config);
  ASSERT_TRUE(wait_standby(*standby));
  std::this_thread::sleep_for(1s);
  report.recovery_measure = "cut of every connection of the active instance -> the sink checkpoint reaches the "
                            "WAL position read then";

  std::optional<std::string> two_actives;  // what was seen, the first time
  for (int cut = 0; cut < kCuts; ++cut) {
    proxy.cut();
    ++report.faults_injected;
    auto from = Clock::now();
    auto target = wal_lsn();
    ASSERT_TRUE(target);
    auto recovered = time_until_sink_reaches(*target, from, nullptr, 60s);
    ASSERT_TRUE(recovered) << active->output() << standby->output();
    report.recovery_s.push_back(*recovered);
    auto until = from + 4s;
    while (Clock::now() < until) {
      bool both_running = active->running() && standby->running();
      if (both_running && !two_actives && !still_standby(*standby)) {
        two_actives = "after cut " + std::to_string(cut + 1) + ", the active instance still running:\n" +
                      standby->output();
      }
      std::this_thread::sleep_for(50ms);
    }
  }
  report.notes = two_actives ? "the standby became active while the active instance ran (bug)"
                             : "the standby kept waiting";
  finish_case(config);
  EXPECT_FALSE(two_actives) << two_actives.value_or("") << "\nactive instance:\n" << active->output();
  EXPECT_TRUE(active->running() || standby->running());
}

// The active instance is cut off from PostgreSQL for longer than the standby
// waits: the standby takes the lock, waits for the slot to be let go and
// streams. When the old active instance reaches PostgreSQL again it finds the
// lock taken: it must stop (non-zero, saying why) and never stream again.
TEST_F(StandbyTakeoverTest, ActiveCutOffWhileTheStandbyTakesOverStepsDown) {
  TcpProxy proxy(pg->port());
  auto config = write_config();
  auto active = start_sluice(write_config("", proxy.port(), 0, "", "active.toml"));
  ASSERT_TRUE(wait_streaming(*active));
  start_load(16);
  auto standby = start_sluice(config);
  ASSERT_TRUE(wait_standby(*standby));
  std::this_thread::sleep_for(1s);
  report.recovery_measure = "cut of the active instance (and 5 s of refused connections) -> the standby logs "
                            "'streaming from slot'";
  report.secondary_measure = "the old active reaches PostgreSQL again -> it has exited";

  const auto streamed_before = occurrences(*active, "streaming from slot");
  auto cut_wall = std::chrono::system_clock::now();
  proxy.set_accepting(false);
  proxy.cut();
  ++report.faults_injected;
  ASSERT_TRUE(wait_streaming(*standby, 1, 30s));
  auto streaming = seconds_to_line(*standby, "streaming from slot", cut_wall);
  ASSERT_TRUE(streaming) << standby->output();
  report.recovery_s.push_back(*streaming);
  std::this_thread::sleep_until(cut_wall + 5s);
  ASSERT_TRUE(active->running()) << "the cut-off instance exited before it could know:\n" << active->output();
  auto reopened = Clock::now();
  proxy.set_accepting(true);
  auto code = active->wait(15s);
  ASSERT_TRUE(code) << "the old active instance did not stop:\n" << active->output();
  report.secondary_s.push_back(seconds_since(reopened));
  EXPECT_NE(*code, 0);
  EXPECT_NE(active->output().find("lost the instance lock for slot '" + std::string(kSlot) + "'"), std::string::npos)
      << active->output();
  EXPECT_EQ(occurrences(*active, "streaming from slot"), streamed_before)
      << "the old active instance streamed again after the standby took over:\n" << active->output();
  finish_case(config);
  EXPECT_TRUE(standby->running()) << standby->output();
}

}  // namespace
}  // namespace sluice::test
