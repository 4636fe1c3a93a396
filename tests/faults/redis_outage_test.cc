// Case 2: Redis restarts (a clean SHUTDOWN, then a SIGKILL, both with AOF) and a
// 20 s outage, all under load. sluice must keep running, hold its position while
// Redis is away, and drain the backlog once it is back.
#include <gtest/gtest.h>

#include <thread>

#include "faults/fault_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class RedisOutageTest : public FaultTest {
 protected:
  // Redis back -> the sink's checkpoint reaches the WAL position read then.
  void measure_recovery(SluiceProcess& sluice) {
    auto back = Clock::now();
    forget_connections();
    auto target = wal_lsn();
    ASSERT_TRUE(target);
    auto recovered = time_until_sink_reaches(*target, back, &sluice, 120s);
    ASSERT_TRUE(recovered) << sluice.output();
    report.recovery_s.push_back(*recovered);
  }

  // Redis stays down for `down`; sluice must still be running all along.
  void stay_down(SluiceProcess& sluice, std::chrono::seconds down) {
    auto until = Clock::now() + down;
    while (Clock::now() < until) {
      ASSERT_TRUE(sluice.running()) << "sluice exited while Redis was down:\n" << sluice.output();
      std::this_thread::sleep_for(200ms);
    }
  }
};

TEST_F(RedisOutageTest, RestartsAndALongOutageUnderLoadAreRiddenOut) {
  auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(40);
  std::this_thread::sleep_for(2s);
  report.recovery_measure =
      "Redis started again -> the sink checkpoint reaches the WAL position read then; "
      "[SHUTDOWN+start after 1 s, SIGKILL+start after 1 s, SHUTDOWN+start after 20 s (backlog drain)]";

  redis->stop();
  ++report.faults_injected;
  stay_down(*sluice, 1s);
  redis->start();
  measure_recovery(*sluice);
  std::this_thread::sleep_for(2s);

  redis->kill();
  ++report.faults_injected;
  stay_down(*sluice, 1s);
  redis->start();
  measure_recovery(*sluice);
  std::this_thread::sleep_for(1s);

  redis->stop();
  ++report.faults_injected;
  auto backlog_from = wal_lsn();
  stay_down(*sluice, 21s);
  redis->start();
  auto backlog_to = wal_lsn();
  measure_recovery(*sluice);
  if (backlog_from && backlog_to) {
    report.notes = "WAL written during the 21 s outage: " + std::to_string((*backlog_to - *backlog_from) / 1024) + " KiB";
  }
  ASSERT_TRUE(load && !load->done()) << "the load ended before the drain: lengthen it";
  finish_case(config);
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

}  // namespace
}  // namespace sluice::test
