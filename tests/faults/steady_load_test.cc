// Not faults: a steady load alone, and two promises that must hold under it.
// 1. With the default batch_max_changes the sink applies changes promptly, and
//    whole transactions at a time (README: "a transaction that fits in one batch
//    becomes visible at once"; docs/architecture.md, Batches). The fault cases
//    use smaller batches because of this.
// 2. `sluice verify` during the load finds no drift (docs/architecture.md,
//    Verifying the cache: "changes that commit during the run are not drift"),
//    and still finds a key that really is wrong.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <thread>

#include "faults/fault_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class SteadyLoadTest : public FaultTest {
 protected:
  SteadyLoadTest() { emit_report = false; }  // no fault: no FAULT-REPORT
};

TEST_F(SteadyLoadTest, DefaultBatchesAreAppliedPromptlyAndWhole) {
  batch_max_changes = 0;  // sluice's default
  auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(14);
  std::this_thread::sleep_for(1s);

  // Each TPC-B transaction has three captured changes, numbered 1..3 (accounts,
  // tellers, branches): a checkpoint at index 1 or 2 means Redis holds part of a
  // transaction.
  std::set<std::string> torn;
  std::string last;
  auto last_move = Clock::now();
  double longest_still = 0;
  auto sampling = Clock::now();
  while (seconds_since(sampling) < 12) {
    auto reply = cache().command({"HGET", kCheckpointKey, "position"});
    if (!reply.empty() && reply[0] && *reply[0] != last) {
      last = *reply[0];
      longest_still = std::max(longest_still, seconds_since(last_move));
      last_move = Clock::now();
      // Index 0 is the snapshot's consistent point, where the sink starts.
      if (!last.ends_with(":00000003") && !last.ends_with(":00000000")) torn.insert(last);
    }
    std::this_thread::sleep_for(10ms);
  }
  longest_still = std::max(longest_still, seconds_since(last_move));
  std::printf("steady load at 300 tps: the sink checkpoint stood still for up to %.2f s; %zu of its "
              "positions ended inside a transaction\n", longest_still, torn.size());
  std::string examples;
  for (const auto& p : torn) examples += " " + p;
  EXPECT_LT(longest_still, 2.0) << "under a steady load the sink applied nothing for " << longest_still
                                << " s (it applies a batch only once it is full or the queue runs dry)";
  EXPECT_TRUE(torn.empty()) << "the sink checkpoint stopped inside transactions:" << examples;
  wait_load();
  EXPECT_TRUE(wait_caught_up());
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

TEST_F(SteadyLoadTest, VerifyDuringTheLoadFindsNoDrift) {
  auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(22);
  std::this_thread::sleep_for(1s);
  auto verify_started = Clock::now();
  auto during = run_verify(config);
  std::printf("sluice verify during the load took %.1f s\n", seconds_since(verify_started));
  EXPECT_TRUE(load && !load->done()) << "the load ended before verify did: lengthen it";
  wait_load();
  ASSERT_TRUE(wait_caught_up());
  auto after = run_verify(config);
  EXPECT_EQ(after.code, 0) << "after the load:\n" << after.output;
  EXPECT_EQ(during.code, 0) << "during the load (pgbench_branches:1 is updated ~300 times a second, so its "
                               "document is never equal to the row read a moment later):\n"
                            << during.output;
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

// The other half of the promise: under the same load, a key that really is
// wrong (a teller row pgbench never touches, overwritten in Redis) is reported,
// while the rows the load rewrites all the time are not.
TEST_F(SteadyLoadTest, VerifyDuringTheLoadStillFindsRealDrift) {
  db().exec("INSERT INTO pgbench_tellers (tid, bid, tbalance) VALUES (11, 1, 0)");
  auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(20);
  std::this_thread::sleep_for(1s);
  cache().command({"SET", "pgbench_tellers:11", "{\"tid\": 11, \"bid\": 1, \"tbalance\": 999, \"filler\": null}"});
  auto during = run_verify(config);
  EXPECT_TRUE(load && !load->done()) << "the load ended before verify did: lengthen it";
  EXPECT_EQ(during.code, 1) << during.output;
  EXPECT_EQ(during.different, 1) << during.output;
  EXPECT_EQ(during.missing + during.extra, 0) << during.output;
  EXPECT_NE(during.output.find("different: pgbench_tellers:11"), std::string::npos) << during.output;
  wait_load();
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

}  // namespace
}  // namespace sluice::test
