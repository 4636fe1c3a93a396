// The harness's TcpProxy: relays bytes both ways, and cut() breaks live
// connections (the peer sees a reset) while new ones are still relayed;
// cut_after_request() loses the answer to one request that ran.
#include "harness/tcp_proxy.h"

#include <gtest/gtest.h>

#include "harness/servers.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

TEST(TcpProxyTest, RelaysBothWaysAndCutBreaksLiveConnections) {
  RedisServer redis;
  TcpProxy proxy(redis.port());
  ASSERT_NE(proxy.port(), redis.port());

  RedisClient through(proxy.port());
  through.command({"SET", "k", std::string(300000, 'x')});  // larger than one relay read
  EXPECT_EQ(through.get("k")->size(), 300000u);
  EXPECT_EQ(RedisClient(redis.port()).get("k")->size(), 300000u);
  EXPECT_EQ(proxy.open_connections(), 1);

  proxy.cut();
  EXPECT_EQ(proxy.connections_cut(), 1);
  EXPECT_EQ(proxy.open_connections(), 0);
  EXPECT_THROW(through.command({"PING"}), std::runtime_error);

  // New connections are relayed again.
  RedisClient again(proxy.port());
  EXPECT_EQ(again.command({"PING"})[0], std::string("PONG"));
  EXPECT_EQ(proxy.connections_relayed(), 2);
}

TEST(TcpProxyTest, RefusesWhileNotAcceptingAndWhenTheTargetIsDown) {
  RedisServer redis;
  TcpProxy proxy(redis.port());
  proxy.set_accepting(false);
  EXPECT_THROW(RedisClient(proxy.port()).command({"PING"}), std::runtime_error);
  proxy.set_accepting(true);
  EXPECT_EQ(RedisClient(proxy.port()).command({"PING"})[0], std::string("PONG"));

  redis.stop();
  EXPECT_THROW(RedisClient(proxy.port()).command({"PING"}), std::runtime_error);
  redis.start();
  EXPECT_EQ(RedisClient(proxy.port()).command({"PING"})[0], std::string("PONG"));
}

TEST(TcpProxyTest, CutAfterRequestRunsTheRequestAndLosesItsAnswer) {
  RedisServer redis;
  TcpProxy proxy(redis.port());
  RedisClient through(proxy.port());
  proxy.cut_after_request("marked-key");
  EXPECT_EQ(through.command({"SET", "other-key", "1"})[0], std::string("OK"));  // not marked: relayed
  EXPECT_FALSE(proxy.cut_after_request_done());
  EXPECT_THROW(through.command({"SET", "marked-key", "ran"}), std::runtime_error);
  EXPECT_TRUE(proxy.cut_after_request_done());
  EXPECT_EQ(proxy.connections_cut(), 1);
  EXPECT_EQ(RedisClient(redis.port()).get("marked-key"), std::optional<std::string>("ran"));
  // One-shot: the next connection is relayed whole.
  RedisClient again(proxy.port());
  EXPECT_EQ(again.command({"SET", "marked-key", "again"})[0], std::string("OK"));
  EXPECT_EQ(proxy.connections_cut(), 1);
}

TEST(TcpProxyTest, ClosingTheClientClosesTheTargetSide) {
  RedisServer redis;
  TcpProxy proxy(redis.port());
  {
    RedisClient client(proxy.port());
    client.command({"PING"});
    EXPECT_EQ(proxy.open_connections(), 1);
  }
  EXPECT_TRUE(eventually([&] { return proxy.open_connections() == 0; }, 5s));
  EXPECT_EQ(proxy.connections_cut(), 0);
}

}  // namespace
}  // namespace sluice::test
