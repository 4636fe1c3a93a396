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
  void stay_down(SluiceProcess& sluice, std::chrono::seconds down) { FaultTest::stay_down(sluice, down, "Redis"); }
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

  ride_out_long_outage(*sluice, [&] { redis->stop(); }, [&] { redis->start(); }, 21s, "Redis");
  ASSERT_TRUE(load && !load->done()) << "the load ended before the drain: lengthen it";
  finish_case(config);
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

}  // namespace
}  // namespace sluice::test
