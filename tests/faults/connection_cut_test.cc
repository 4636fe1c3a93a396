// Case 4: the network between sluice and its servers breaks mid-stream. sluice
// reaches PostgreSQL and Redis through TcpProxy, which resets every live
// connection (RST) on cut(); once, PostgreSQL also stays unreachable for 3 s.
// sluice must reconnect by itself, under load, without losing anything.
#include <gtest/gtest.h>

#include <thread>

#include "faults/fault_fixture.h"
#include "harness/tcp_proxy.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class ConnectionCutTest : public FaultTest {
 protected:
  // Cuts every connection through `proxy`; the recovery is measured from the
  // cut (or from `reopen` seconds later, when the proxy refuses until then) to
  // the sink's checkpoint reaching the WAL position read at that moment.
  void cut_and_measure(TcpProxy& proxy, SluiceProcess& sluice, std::chrono::seconds refuse_for = 0s) {
    int cut_before = proxy.connections_cut();
    if (refuse_for > 0s) proxy.set_accepting(false);
    proxy.cut();
    ++report.faults_injected;
    EXPECT_GT(proxy.connections_cut(), cut_before) << "no live connection to cut on port " << proxy.port();
    if (refuse_for > 0s) {
      std::this_thread::sleep_for(refuse_for);
      ASSERT_TRUE(sluice.running()) << sluice.output();
      proxy.set_accepting(true);
    }
    auto from = Clock::now();
    auto target = wal_lsn();
    ASSERT_TRUE(target);
    auto recovered = time_until_sink_reaches(*target, from, &sluice, 60s);
    ASSERT_TRUE(recovered) << "no recovery after a cut of port " << proxy.port() << ":\n" << sluice.output();
    report.recovery_s.push_back(*recovered);
  }
};

TEST_F(ConnectionCutTest, CutsToPostgresAndRedisUnderLoadAreReconnected) {
  constexpr int kRounds = 4;
  TcpProxy pg_proxy(pg->port());
  TcpProxy redis_proxy(redis->port());
  auto config = write_config("", pg_proxy.port(), redis_proxy.port());
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(30);
  std::this_thread::sleep_for(2s);
  report.recovery_measure =
      "cut (or, for the last PostgreSQL cut, the end of 3 s of refused connections) -> the sink checkpoint "
      "reaches the WAL position read then; order: PostgreSQL, Redis, PostgreSQL, Redis, ...";

  for (int round = 0; round < kRounds; ++round) {
    bool refuse = round + 1 == kRounds;
    cut_and_measure(pg_proxy, *sluice, refuse ? 3s : 0s);
    std::this_thread::sleep_for(1500ms);
    cut_and_measure(redis_proxy, *sluice);
    std::this_thread::sleep_for(1500ms);
  }
  ASSERT_TRUE(load && !load->done()) << "the load ended before the last cut: lengthen it";
  report.notes = "connections reset: " + std::to_string(pg_proxy.connections_cut()) + " to PostgreSQL, " +
                 std::to_string(redis_proxy.connections_cut()) + " to Redis";
  finish_case(config);  // sluice verify connects through the proxies too
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

}  // namespace
}  // namespace sluice::test
