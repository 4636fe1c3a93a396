// Case 5: the sink is reset under load — Redis comes back empty, once flushed
// (FLUSHALL) and once restarted without its data (the AOF removed, as a Redis
// without persistence restarts). The sink's checkpoint is gone with it, so
// sluice must notice before it writes anything and, with on_reset = "rebuild"
// (the default), rebuild the sink from a fresh consistent snapshot while
// streaming goes on — again from the start when it is emptied during a copy; with on_reset = "stop" it must stop, saying how to
// recover, and `sluice run --resnapshot` must then rebuild it.
//
// The regression watcher keeps its baseline across the resets: a rebuilt row is
// versioned at the rebuild's copy point or by a newer streamed change, so no
// version seen before the reset may come back older.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "faults/fault_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class SinkResetUnderLoadTest : public FaultTest {
 protected:
  static constexpr const char* kRebuilt = "the sink is whole again";

  // Redis restarts with nothing: what a server without persistence does.
  void restart_redis_empty() {
    redis->stop();
    std::filesystem::remove_all(std::filesystem::path(redis->dir()) / "appendonlydir");
    std::filesystem::remove(std::filesystem::path(redis->dir()) / "dump.rdb");
    redis->start();
    forget_connections();
  }

  // From `reset_wall` to the `nth` "the sink is whole again"; and from `reset`
  // until the sink's checkpoint reaches the WAL position read then.
  void measure(SluiceProcess& sluice, Clock::time_point reset, std::chrono::system_clock::time_point reset_wall,
               std::size_t nth) {
    auto target = wal_lsn();
    ASSERT_TRUE(target);
    auto streamed = time_until_sink_reaches(*target, reset, &sluice, 60s);
    ASSERT_TRUE(streamed) << sluice.output();
    report.secondary_s.push_back(*streamed);
    ASSERT_TRUE(wait_for_output(sluice, kRebuilt, nth, 120s));
    auto rebuilt = seconds_to_line(sluice, kRebuilt, reset_wall, nth);
    ASSERT_TRUE(rebuilt) << sluice.output();
    report.recovery_s.push_back(*rebuilt);
  }
};

TEST_F(SinkResetUnderLoadTest, EmptiedRedisIsRebuiltWhileStreamingGoesOn) {
  auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(40);
  std::this_thread::sleep_for(2s);
  report.recovery_measure = "Redis emptied -> sluice logs the rebuild done (100,011 rows copied while streaming); "
                            "[FLUSHALL, restart without data, FLUSHALL during the copy of the rebuild a FLUSHALL started]";
  report.secondary_measure = "Redis emptied -> the sink checkpoint reaches the WAL position read then (streaming "
                             "goes on during the copy)";

  auto reset = Clock::now();
  auto reset_wall = std::chrono::system_clock::now();
  cache().command({"FLUSHALL"});
  ++report.faults_injected;
  measure(*sluice, reset, reset_wall, 1);
  std::this_thread::sleep_for(2s);

  reset = Clock::now();
  reset_wall = std::chrono::system_clock::now();
  restart_redis_empty();
  ++report.faults_injected;
  measure(*sluice, reset, reset_wall, 2);
  std::this_thread::sleep_for(1s);

  // Emptied, then emptied again while that rebuild copies: it starts over.
  cache().command({"FLUSHALL"});
  ++report.faults_injected;
  ASSERT_TRUE(wait_for_output(*sluice, "copying every table", 3));
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(occurrences(*sluice, kRebuilt), 2u) << "the copy was over before the next reset: " << sluice->output();
  reset = Clock::now();
  reset_wall = std::chrono::system_clock::now();
  cache().command({"FLUSHALL"});
  ++report.faults_injected;
  measure(*sluice, reset, reset_wall, 3);
  EXPECT_EQ(occurrences(*sluice, "copying every table"), 4u) << sluice->output();
  ASSERT_TRUE(load && !load->done()) << "the load ended before the last rebuild: lengthen it";
  report.notes = "rebuilds started: " + std::to_string(occurrences(*sluice, "copying every table"));
  finish_case(config);
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

TEST_F(SinkResetUnderLoadTest, WithOnResetStopItStopsAndResnapshotRebuilds) {
  auto config = write_config("on_reset = \"stop\"\n");
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(20);
  std::this_thread::sleep_for(2s);
  report.recovery_measure = "start of `sluice run --resnapshot` under load -> 'streaming from slot' (the sink rebuilt)";
  report.secondary_measure = "Redis flushed -> sluice has exited";

  auto flushed = Clock::now();
  cache().command({"FLUSHALL"});
  ++report.faults_injected;
  auto code = sluice->wait(30s);
  ASSERT_TRUE(code) << "sluice did not stop on the reset:\n" << sluice->output();
  report.secondary_s.push_back(seconds_since(flushed));
  EXPECT_NE(*code, 0);
  EXPECT_NE(sluice->output().find("on_reset = \"stop\""), std::string::npos) << sluice->output();
  EXPECT_NE(sluice->output().find("--resnapshot"), std::string::npos) << sluice->output();
  auto keys = cache().command({"DBSIZE"});
  EXPECT_EQ(keys[0], std::string("0")) << "sluice wrote into the emptied Redis before stopping";

  auto started = Clock::now();
  sluice = start_sluice(config, {"--resnapshot"});
  ASSERT_TRUE(wait_streaming(*sluice, 1, 120s));
  report.recovery_s.push_back(seconds_since(started));
  ASSERT_TRUE(load && !load->done()) << "the load ended before the rebuild: lengthen it";
  finish_case(config);
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

}  // namespace
}  // namespace sluice::test
