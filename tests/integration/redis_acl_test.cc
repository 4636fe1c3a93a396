// sluice as the least-privilege Redis user that docs/operations.md writes down,
// over TLS, end to end: `sluice run` (snapshot, streaming, a TOAST update, a
// delete), `status`, `check`, and `verify --repair` mending a deleted key and
// removing a stray one. A command or key outside the user's rules would stop
// the run with Redis' NOPERM, which this test would show.
#include <gtest/gtest.h>

#include "harness/test_certificates.h"
#include "integration/pipeline_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// docs/operations.md, "The Redis user: least privilege", for the seed's tables.
const std::vector<std::string> kSluiceUser = {
    "ACL",     "SETUSER", "sluice", "on",       ">acl-secret", "resetkeys", "~user_account:*", "~channel:*",
    "~m:*",    "~sluice:cache:*",   "resetchannels", "-@all",  "+ping",     "+select", "+get",  "+mget",
    "+mset",   "+del",    "+exists", "+type",   "+scan",       "+hget",     "+hmget",  "+hset", "+hdel",
    "+hexists", "+hincrby", "+hgetall", "+hvals", "+hscan",    "+xadd",     "+watch",  "+unwatch",
    "+multi",  "+exec",   "+eval",  "+evalsha", "+script|load"};

// The test binary's certificates (made once; a fixture's base is built before
// its members, and the Stack needs them first).
const TestCertificates& certificates() {
  static const TestCertificates certs;
  return certs;
}

class RedisAclTest : public PipelineTest {
 protected:
  RedisAclTest() : PipelineTest({}, RedisServer::Tls{&certificates(), false}) {}
  void SetUp() override {
    PipelineTest::SetUp();
    ASSERT_EQ(cache->command(kSluiceUser).at(0), std::string("OK"));
    cache_url = "rediss://sluice:${env:REDIS_ACL_PASSWORD}@127.0.0.1:" + std::to_string(redis->tls_port()) + "/0";
    env.push_back("REDIS_ACL_PASSWORD=acl-secret");
  }
  const TestCertificates& certs_ = certificates();
};

TEST_F(RedisAclTest, SluiceRunsVerifiesAndRepairsAsTheLeastPrivilegeUserOverTls) {
  const std::string config = write_config(config_toml("tls_ca_file = \"" + certs_.ca_file() + "\"\n"));
  auto check = run_sluice({"check", "--config", config}, env);
  EXPECT_EQ(check.first, 0) << check.second;

  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  ASSERT_TRUE(wait_until_synced());
  db->exec("UPDATE media SET title = 'renamed' WHERE media_id = 1");           // description: TOAST, unchanged
  db->exec("DELETE FROM media WHERE media_id = (SELECT max(media_id) FROM media)");
  db->exec("INSERT INTO user_account (user_account_id, email, display_name) VALUES (9001, 'acl@example.org', 'Acl')");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();

  auto status = run_sluice({"status", "--config", config}, env);
  EXPECT_EQ(status.first, 0) << status.second;
  EXPECT_NE(status.second.find("cache"), std::string::npos) << status.second;

  // Drift: a key deleted behind sluice's back and a stray one under a table's key space.
  cache->command({"DEL", "user_account:9001"});
  cache->command({"SET", "channel:999999", "{}"});
  auto found = run_sluice({"verify", "--config", config}, env);
  EXPECT_NE(found.first, 0) << found.second;
  auto repaired = run_sluice({"verify", "--config", config, "--repair"}, env);
  EXPECT_EQ(repaired.first, 0) << repaired.second;
  auto clean = run_sluice({"verify", "--config", config}, env);
  EXPECT_EQ(clean.first, 0) << clean.second;
  EXPECT_NE(clean.second.find("no drift"), std::string::npos) << clean.second;
  EXPECT_EQ(cache->get("channel:999999"), std::nullopt);
  EXPECT_TRUE(cache->get("user_account:9001").has_value());

  sluice->terminate();
  EXPECT_EQ(sluice->wait(30s), 0) << sluice->output();
  EXPECT_EQ(sluice->output().find("NOPERM"), std::string::npos) << sluice->output();
}

}  // namespace
}  // namespace sluice::test
