// Two instances on one config: the second waits as a standby and takes over
// within seconds when the active one dies.
#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

#include "integration/pipeline_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class StandbyTest : public PipelineTest {};

TEST_F(StandbyTest, SecondInstanceWaitsThenTakesOverWhenTheActiveDies) {
  auto config = write_config();
  auto active = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*active));
  auto standby = start_sluice(config);
  ASSERT_TRUE(wait_for_output(*standby, "waiting as a standby"));
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(standby->running()) << standby->output();
  EXPECT_TRUE(active->running()) << active->output();
  EXPECT_EQ(standby->output().find("streaming from slot"), std::string::npos) << standby->output();
  db->exec("UPDATE user_account SET display_name = 'by the active one' WHERE user_account_id = 1");
  ASSERT_TRUE(wait_until_synced()) << active->output();

  active->kill9();
  auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_streaming(*standby, 30s));  // the bound is "seconds", not a measurement
  std::printf("standby took over %.2f s after the active instance was killed\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count());
  db->exec("UPDATE user_account SET display_name = 'by the standby' WHERE user_account_id = 1");
  ASSERT_TRUE(wait_until_synced()) << standby->output();
  EXPECT_NE(standby->output().find("took over as the active instance"), std::string::npos) << standby->output();
}

}  // namespace
}  // namespace sluice::test
