// The harness itself: real servers come up as promised, keep what they should
// across restarts, and child processes report what they did.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "harness/servers.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

std::string dsn_with_password(const PostgresServer& pg, const std::string& password) {
  // passfile=/nonexistent/pgpass: a ~/.pgpass on the machine must not supply one.
  std::string dsn = "host=127.0.0.1 port=" + std::to_string(pg.port()) +
                    " dbname=app user=app passfile=/nonexistent/pgpass";
  if (!password.empty()) dsn += " password=" + password;
  return dsn;
}

TEST(PostgresServerTest, StartsWithLogicalReplicationSettings) {
  PostgresServer pg;
  PgClient c(pg.dsn());
  EXPECT_EQ(c.scalar("SHOW wal_level"), "logical");
  EXPECT_GE(std::stoi(c.scalar("SHOW max_replication_slots")), 10);
  EXPECT_GE(std::stoi(c.scalar("SHOW max_wal_senders")), 10);
  EXPECT_EQ(c.scalar("SHOW fsync"), "off");
  EXPECT_EQ(c.scalar("SHOW TimeZone"), "UTC");
  EXPECT_EQ(c.scalar("SHOW listen_addresses"), "127.0.0.1");
  EXPECT_EQ(c.scalar("SELECT current_user || '@' || current_database()"), "app@app");
  EXPECT_EQ(c.scalar("SELECT rolsuper AND rolreplication FROM pg_roles WHERE rolname = 'app'"), "t");
  // The server really supports logical decoding with pgoutput.
  c.exec("CREATE PUBLICATION harness_pub FOR ALL TABLES");
  c.exec("SELECT pg_create_logical_replication_slot('harness_slot', 'pgoutput')");
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pg_replication_slots"), "1");
}

TEST(PostgresServerTest, TcpLoginNeedsTheRightPassword) {
  PostgresServer pg;
  EXPECT_EQ(PgClient(dsn_with_password(pg, "app-secret")).scalar("SELECT 1"), "1");
  try {
    PgClient wrong(dsn_with_password(pg, "not-the-secret"));
    FAIL() << "a wrong password was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("password authentication failed"), std::string::npos) << e.what();
  }
  EXPECT_THROW(PgClient none(dsn_with_password(pg, "")), std::runtime_error);
  // Replication connections go through the same rule.
  EXPECT_THROW(PgClient repl(dsn_with_password(pg, "nope") + " replication=database"), std::runtime_error);
  PgClient repl(pg.dsn() + " replication=database");
  auto rows = repl.query("IDENTIFY_SYSTEM");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].size(), 4u);  // systemid, timeline, xlogpos, dbname
}

TEST(PostgresServerTest, CrashAndStartKeepCommittedData) {
  PostgresServer pg;
  int port = pg.port();
  PgClient(pg.dsn()).exec("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one')");
  pg.crash();
  EXPECT_NE(PQping(pg.dsn().c_str()), PQPING_OK);
  pg.start();
  EXPECT_EQ(pg.port(), port);
  PgClient c(pg.dsn());
  EXPECT_EQ(c.scalar("SELECT v FROM t WHERE id = 1"), "one");
  c.exec("INSERT INTO t VALUES (2, 'two')");
  pg.stop();
  pg.start();
  EXPECT_EQ(PgClient(pg.dsn()).scalar("SELECT count(*) FROM t"), "2");
}

TEST(PostgresServerTest, SetConfigTakesEffectAtNextStart) {
  PostgresServer pg;
  pg.set_config("max_connections = 42");
  pg.stop();
  pg.start();
  EXPECT_EQ(PgClient(pg.dsn()).scalar("SHOW max_connections"), "42");
}

TEST(PostgresServerTest, DestructorStopsTheServerAndRemovesItsFiles) {
  std::string data_dir;
  std::string dsn;
  {
    PostgresServer pg;
    data_dir = pg.data_dir();
    dsn = pg.dsn();
    EXPECT_TRUE(std::filesystem::exists(pg.log_path()));
  }
  EXPECT_FALSE(std::filesystem::exists(data_dir));
  EXPECT_EQ(PQping((dsn + " connect_timeout=2").c_str()), PQPING_NO_RESPONSE);
}

TEST(PgClientTest, ReturnsRowsNullsAndErrors) {
  PostgresServer pg;
  PgClient c(pg.dsn());
  auto rows = c.query("CREATE TEMP TABLE x (a int); SELECT 1 AS a, NULL::text AS b UNION ALL SELECT 2, 'z'");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "1");
  EXPECT_EQ(rows[0][1], std::nullopt);
  EXPECT_EQ(rows[1][1], "z");
  EXPECT_TRUE(c.query("SELECT 1 WHERE false").empty());
  EXPECT_THROW(c.scalar("SELECT NULL"), std::runtime_error);
  try {
    c.exec("SELECT * FROM no_such_table");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("42P01"), std::string::npos) << e.what();
  }
}

TEST(RedisServerTest, AofKeepsDataAcrossStopAndKill) {
  RedisServer redis(/*appendonly=*/true);
  {
    RedisClient c(redis.port());
    c.command({"SET", "a", "1"});
  }
  redis.stop();
  redis.start();
  {
    RedisClient c(redis.port());
    EXPECT_EQ(c.get("a"), "1");
    c.command({"SET", "b", "2"});  // appendfsync always: on disk before the reply
  }
  redis.kill();
  redis.start();
  RedisClient c(redis.port());
  EXPECT_EQ(c.keys("*"), (std::vector<std::string>{"a", "b"}));
}

TEST(RedisServerTest, WithoutAofNothingSurvivesARestart) {
  RedisServer redis;
  RedisClient(redis.port()).command({"SET", "a", "1"});
  redis.stop();
  redis.start();
  EXPECT_EQ(RedisClient(redis.port()).get("a"), std::nullopt);
}

TEST(RedisClientTest, FlattensRepliesAndSelectsDatabases) {
  RedisServer redis;
  EXPECT_EQ(redis.url(3), "redis://127.0.0.1:" + std::to_string(redis.port()) + "/3");
  RedisClient c(redis.port());
  EXPECT_EQ(c.command({"SET", "k", std::string("v\0w", 3)}), (std::vector<std::optional<std::string>>{"OK"}));
  EXPECT_EQ(c.get("k"), std::string("v\0w", 3));
  EXPECT_EQ(c.get("missing"), std::nullopt);
  EXPECT_EQ(c.command({"INCR", "n"})[0], "1");
  c.command({"HSET", "h", "f", "x"});
  EXPECT_EQ(c.command({"HMGET", "h", "f", "g"}), (std::vector<std::optional<std::string>>{"x", std::nullopt}));
  c.command({"XADD", "s", "1-1", "f", "v"});
  EXPECT_EQ(c.command({"XRANGE", "s", "-", "+"}),
            (std::vector<std::optional<std::string>>{"1-1", "f", "v"}));
  EXPECT_THROW(c.command({"INCR", "h"}), std::runtime_error);  // WRONGTYPE
  RedisClient db2(redis.port(), 2);
  EXPECT_TRUE(db2.keys("*").empty());
  db2.command({"SET", "z", "1"});
  db2.command({"SET", "y", "1"});
  EXPECT_EQ(db2.keys("*"), (std::vector<std::string>{"y", "z"}));
}

TEST(ServersTest, EachServerGetsItsOwnPort) {
  PostgresServer pg;
  RedisServer a;
  RedisServer b;
  EXPECT_NE(pg.port(), a.port());
  EXPECT_NE(a.port(), b.port());
}

TEST(SluiceProcessTest, SluiceVersionExitsZero) {
  auto [code, output] = run_sluice({"--version"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("sluice"), std::string::npos) << output;
}

TEST(SluiceProcessTest, CapturesOutputEnvironmentAndExitCode) {
  SluiceProcess p(SluiceProcess::Program{"sh"}, {"-c", "echo out:$HARNESS_X; echo err >&2; exit 3"},
                  {"HARNESS_X=42"});
  EXPECT_EQ(p.wait(10s), 3);
  EXPECT_FALSE(p.running());
  EXPECT_NE(p.output().find("out:42"), std::string::npos) << p.output();
  EXPECT_NE(p.output().find("err"), std::string::npos) << p.output();
}

TEST(SluiceProcessTest, Kill9GivesExitCode137) {
  SluiceProcess p(SluiceProcess::Program{"sleep"}, {"60"});
  EXPECT_TRUE(p.running());
  EXPECT_EQ(p.wait(50ms), std::nullopt);
  p.kill9();
  EXPECT_EQ(p.wait(10s), 137);
}

TEST(SluiceProcessTest, TerminateGivesExitCode143) {
  SluiceProcess p(SluiceProcess::Program{"sleep"}, {"60"});
  p.terminate();
  EXPECT_EQ(p.wait(10s), 143);
}

TEST(EventuallyTest, PollsUntilTrueOrTimeout) {
  int calls = 0;
  EXPECT_TRUE(eventually([&] { return ++calls == 3; }, 5s));
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(eventually([] { return false; }, 50ms));
}

TEST(TempDirTest, WritesFilesAndRemovesThem) {
  std::string dir;
  {
    TempDir tmp;
    dir = tmp.path();
    std::string file = tmp.write_file("a.toml", "x = 1\n");
    EXPECT_EQ(file, dir + "/a.toml");
    EXPECT_TRUE(std::filesystem::exists(file));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace sluice::test
