#include "core/health.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

using namespace std::chrono_literals;
using Clock = Health::Clock;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class HealthTest : public ::testing::Test {
 protected:
  Clock::time_point t0 = Clock::now();
  Health health{30s, t0};
  // The verdict at `t`, the server having just sent a message (the stream is
  // not silent).
  Health::Verdict at(Clock::time_point t) {
    health.source_message(t);
    return health.check(t);
  }
};

TEST_F(HealthTest, StartingIsHealthyUntilItLastsTooLong) {
  EXPECT_TRUE(at(t0 + 10s).healthy);
  EXPECT_EQ(at(t0 + 10s).reason, "starting");
  const Health::Verdict late = at(t0 + 31s);
  EXPECT_FALSE(late.healthy);
  EXPECT_EQ(late.reason, "not streaming after 31s");
}

TEST_F(HealthTest, StreamingIsHealthyAndADisconnectTurnsUnhealthyOnlyAfterTheTimeout) {
  health.source_connected(t0 + 1s);
  EXPECT_EQ(at(t0 + 100s).reason, "streaming");
  health.source_disconnected("connection refused", t0 + 100s);
  EXPECT_TRUE(at(t0 + 120s).healthy);
  EXPECT_EQ(at(t0 + 120s).reason, "reconnecting to PostgreSQL");
  const Health::Verdict down = at(t0 + 131s);
  EXPECT_FALSE(down.healthy);
  EXPECT_EQ(down.reason, "the replication stream has been down for 31s: connection refused");
  // The outage's start is kept across retries; a connect ends it.
  health.source_disconnected("still refused", t0 + 125s);
  EXPECT_TRUE(contains(at(t0 + 131s).reason, "31s: still refused"));
  health.source_connected(t0 + 132s);
  EXPECT_TRUE(at(t0 + 132s).healthy);
}

TEST_F(HealthTest, ASinkFailingContinuouslyTurnsUnhealthyAndRecoversByItself) {
  health.source_connected(t0);
  health.sink_failed("cache", "cannot connect to redis://127.0.0.1:6379/0", t0 + 10s);
  health.sink_failed("cache", "cannot connect again", t0 + 20s);
  EXPECT_TRUE(at(t0 + 40s).healthy);
  const Health::Verdict failing = at(t0 + 41s);
  EXPECT_FALSE(failing.healthy);
  EXPECT_EQ(failing.reason, "sink 'cache' has failed for 31s: cannot connect again");
  health.sink_succeeded("cache");
  health.sink_progress("cache");
  EXPECT_TRUE(at(t0 + 42s).healthy);
}

TEST_F(HealthTest, ChangesWaitingWithoutProgressTurnUnhealthy) {
  health.source_connected(t0);
  health.sink_waiting("cache", t0 + 1s);
  health.sink_waiting("cache", t0 + 20s);  // still the same wait
  EXPECT_TRUE(at(t0 + 31s).healthy);
  const Health::Verdict stalled = at(t0 + 32s);
  EXPECT_FALSE(stalled.healthy);
  EXPECT_EQ(stalled.reason, "sink 'cache' has applied nothing for 31s while changes wait");
  health.sink_progress("cache");
  EXPECT_TRUE(at(t0 + 33s).healthy);
  // Progress that keeps coming keeps it healthy however long the load lasts.
  for (auto t = t0 + 33s; t < t0 + 200s; t += 1s) {
    health.sink_waiting("cache", t);
    health.sink_progress("cache");
  }
  EXPECT_TRUE(at(t0 + 200s).healthy);
}

TEST_F(HealthTest, AnIdleProbeThatSucceedsDoesNotClearWaitingButProgressDoes) {
  health.source_connected(t0);
  health.sink_waiting("cache", t0);
  health.sink_succeeded("cache");
  EXPECT_FALSE(at(t0 + 31s).healthy);
  health.sink_progress("cache");
  EXPECT_TRUE(at(t0 + 31s).healthy);
}

TEST_F(HealthTest, SnapshotIsHealthyWhileRowsMove) {
  health.snapshot_started(t0 + 1s);
  EXPECT_EQ(at(t0 + 20s).reason, "copying the initial snapshot");
  health.snapshot_rows(t0 + 25s);
  EXPECT_TRUE(at(t0 + 50s).healthy);
  const Health::Verdict stuck = at(t0 + 56s);
  EXPECT_FALSE(stuck.healthy);
  EXPECT_EQ(stuck.reason, "the initial snapshot has copied no row for 31s");
}

TEST_F(HealthTest, StandbyIsHealthyHoweverLongItWaits) {
  health.standby();
  EXPECT_TRUE(at(t0 + 3600s).healthy);
  EXPECT_TRUE(contains(at(t0 + 3600s).reason, "standby"));
  health.starting(t0 + 3600s);
  EXPECT_TRUE(at(t0 + 3620s).healthy);
  EXPECT_FALSE(at(t0 + 3631s).healthy);
}

TEST_F(HealthTest, AConnectedStreamThatStaysSilentTurnsUnhealthy) {
  health.source_connected(t0);
  health.source_message(t0 + 5s);
  EXPECT_TRUE(health.check(t0 + 35s).healthy);
  const Health::Verdict silent = health.check(t0 + 36s);
  EXPECT_FALSE(silent.healthy);
  EXPECT_EQ(silent.reason, "no message from PostgreSQL for 31s on a connected replication stream");
  health.source_message(t0 + 36s);
  EXPECT_TRUE(health.check(t0 + 37s).healthy);
}

TEST_F(HealthTest, SilenceHasItsOwnTimeout) {
  health.set_silence_timeout(60s);
  health.source_connected(t0);
  EXPECT_TRUE(health.check(t0 + 59s).healthy);
  EXPECT_FALSE(health.check(t0 + 61s).healthy);
}

}  // namespace
}  // namespace sluice
