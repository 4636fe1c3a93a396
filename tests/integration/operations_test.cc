// Issue 5, against real servers: the metrics move with real changes, /healthz
// turns 503 while Redis is down and back to 200 by itself, `sluice status`
// reports the slot and the sinks, a role with only LOGIN REPLICATION and SELECT
// streams through a publication the DBA prepared (and `check` names what such a
// role lacks), a password given through ${env:...} shows in no output, JSON log
// lines, and the stdout sink.
#include <gtest/gtest.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <map>
#include <sstream>
#include <thread>

#include "harness/metrics_scrape.h"
#include "harness/process_util.h"
#include "harness/tcp_proxy.h"
#include "integration/pipeline_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class OperationsTest : public PipelineTest {
 protected:
  void SetUp() override {
    PipelineTest::SetUp();
    metrics_port = detail::pick_free_port();
  }
  // [metrics] on metrics_port.
  TomlWriter& add_metrics(TomlWriter& toml, int unhealthy_after_ms = 30000) const {
    return toml.table("metrics")
        .set("listen", "127.0.0.1:" + std::to_string(metrics_port))
        .set("unhealthy_after_ms", unhealthy_after_ms);
  }
  // The config with [metrics] (and fast heartbeats).
  std::string config_with_metrics(int unhealthy_after_ms = 30000) {
    TomlWriter toml = config_toml("", "heartbeat_interval_ms = 200\n");
    return write_config(add_metrics(toml, unhealthy_after_ms));
  }
  std::string scrape() { return http_get(metrics_port, "/metrics").body; }
  // [source] for one table, the slot and publication both named `name`.
  TomlWriter source_for(const std::string& name, const std::string& table) const {
    TomlWriter toml;
    postgres_source(toml, postgres_dsn(pg->port()), name, {table});
    return toml;
  }
  int metrics_port = 0;
};

TEST_F(OperationsTest, MetricsMoveWithRealChanges) {
  auto sluice = start_sluice(config_with_metrics());
  ASSERT_TRUE(wait_streaming(*sluice));
  std::string before = scrape();
  EXPECT_EQ(metric(before, "sluice_source_connected"), 1) << before;
  EXPECT_EQ(metric(before, "sluice_snapshot_rows_done{table=\"public.user_account\"}"), 2) << before;
  EXPECT_EQ(metric(before, "sluice_snapshot_rows_done{table=\"public.media\"}"), 2) << before;
  EXPECT_EQ(metric(before, "sluice_snapshot_running"), 0) << before;
  const double lsn_before = metric(before, "sluice_last_applied_lsn{sink=\"cache\"}");

  db->exec("INSERT INTO user_account (email, display_name) SELECT 'u' || g || '@x', 'u' FROM generate_series(1, 5) g");
  db->exec("UPDATE channel SET name = 'renamed'");
  db->exec("DELETE FROM media WHERE media_id = 2");
  // The last of the three transactions applied: the others were before it.
  const std::string applied_delete = "sluice_changes_applied_total{sink=\"cache\",table=\"public.media\",op=\"delete\"}";
  ASSERT_TRUE(eventually([&] { return metric(scrape(), applied_delete) == 1; }, 10s)) << scrape();
  const std::string after = scrape();
  EXPECT_EQ(metric(after, "sluice_changes_applied_total{sink=\"cache\",table=\"public.user_account\",op=\"insert\"}"), 5);
  EXPECT_EQ(metric(after, "sluice_changes_received_total{table=\"public.user_account\",op=\"insert\"}"), 5) << after;
  EXPECT_EQ(metric(after, "sluice_changes_received_total{table=\"public.channel\",op=\"update\"}"), 2) << after;
  EXPECT_EQ(metric(after, "sluice_changes_applied_total{sink=\"cache\",table=\"public.channel\",op=\"update\"}"), 2);
  // Three transactions: one to three batches (group commit may join them).
  const double batches = metric(after, "sluice_batches_applied_total{sink=\"cache\"}") -
                         metric(before, "sluice_batches_applied_total{sink=\"cache\"}");
  EXPECT_GE(batches, 1) << after;
  EXPECT_LE(batches, 3) << after;
  EXPECT_GT(metric(after, "sluice_last_applied_lsn{sink=\"cache\"}"), lsn_before) << after;
  EXPECT_GT(metric(after, "sluice_sink_last_success_timestamp_seconds{sink=\"cache\"}"), 1.7e9) << after;
  EXPECT_GE(metric(after, "sluice_replication_lag_seconds{sink=\"cache\"}"), 0) << after;
  EXPECT_LT(metric(after, "sluice_replication_lag_seconds{sink=\"cache\"}"), 10) << after;
  EXPECT_EQ(metric(after, "sluice_sink_errors_total{sink=\"cache\",kind=\"fatal\"}"), 0) << after;
  EXPECT_GE(metric(after, "sluice_queue_bytes{sink=\"cache\"}"), 0) << after;

  // Heartbeats: written, received as transactions of their own, and they move
  // the applied position although no table changes.
  ASSERT_TRUE(eventually([&] { return metric(scrape(), "sluice_heartbeats_sent_total") >= 3; }, 10s)) << scrape();
  const double lsn_quiet = metric(scrape(), "sluice_last_applied_lsn{sink=\"cache\"}");
  ASSERT_TRUE(eventually([&] { return metric(scrape(), "sluice_last_applied_lsn{sink=\"cache\"}") > lsn_quiet; }, 10s))
      << scrape();
  const double commit_time = metric(scrape(), "sluice_last_applied_commit_timestamp_seconds{sink=\"cache\"}");
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LT(now - commit_time, 5) << scrape();
  // ...and the position confirmed to the slot: it keeps advancing on a quiet database.
  const double confirmed_quiet = metric(scrape(), "sluice_confirmed_flush_lsn{slot=\"sluice_cache\"}");
  ASSERT_TRUE(eventually([&] {
    return metric(scrape(), "sluice_confirmed_flush_lsn{slot=\"sluice_cache\"}") > confirmed_quiet;
  }, 10s)) << scrape();
  // The slot's lag is measured against the server's WAL end.
  EXPECT_GT(metric(scrape(), "sluice_source_wal_end_lsn{slot=\"sluice_cache\"}"), 0) << scrape();
  EXPECT_GE(metric(scrape(), "sluice_slot_lag_bytes{slot=\"sluice_cache\"}"), 0) << scrape();

  const HttpReply health = http_get(metrics_port, "/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(health.body, "ok: streaming\n");
  EXPECT_EQ(http_get(metrics_port, "/nothing").status, 404);
}

TEST_F(OperationsTest, HealthTurnsUnhealthyWhileRedisIsDownAndRecoversByItself) {
  auto sluice = start_sluice(config_with_metrics(/*unhealthy_after_ms=*/1500));
  ASSERT_TRUE(wait_streaming(*sluice));
  ASSERT_EQ(http_get(metrics_port, "/healthz").status, 200);

  redis->stop();
  HttpReply down;
  ASSERT_TRUE(eventually([&] { return (down = http_get(metrics_port, "/healthz")).status == 503; }, 15s))
      << down.status << " " << down.body;
  EXPECT_TRUE(contains(down.body, "unhealthy: sink 'cache' has failed for")) << down.body;
  EXPECT_TRUE(contains(down.body, "redis://127.0.0.1:" + std::to_string(redis->port()))) << down.body;
  EXPECT_GT(metric(scrape(), "sluice_sink_errors_total{sink=\"cache\",kind=\"transient\"}"), 0) << scrape();
  // A change that waits for Redis meanwhile.
  db->exec("UPDATE channel SET name = 'while down' WHERE channel_id = 1");

  redis->start();
  HttpReply up;
  ASSERT_TRUE(eventually([&] { return (up = http_get(metrics_port, "/healthz")).status == 200; }, 30s))
      << up.status << " " << up.body;
  cache = std::make_unique<RedisClient>(redis->port());
  EXPECT_TRUE(wait_until_synced());
  EXPECT_TRUE(sluice->running()) << sluice->output();
  EXPECT_TRUE(contains(sluice->output(), "sink 'cache'")) << sluice->output();
}

TEST_F(OperationsTest, HealthTurnsUnhealthyWhileChangesWaitAndNothingIsApplied) {
  auto sluice = start_sluice(config_with_metrics(/*unhealthy_after_ms=*/1500));
  ASSERT_TRUE(wait_streaming(*sluice));
  // Redis answers PING but holds every write: the batch neither fails nor lands.
  RedisClient admin(redis->port());
  admin.command({"CLIENT", "PAUSE", "6000", "WRITE"});
  db->exec("UPDATE channel SET name = 'stuck' WHERE channel_id = 1");
  HttpReply stalled;
  ASSERT_TRUE(eventually([&] { return (stalled = http_get(metrics_port, "/healthz")).status == 503; }, 5s))
      << stalled.status << " " << stalled.body;
  EXPECT_TRUE(contains(stalled.body, "sink 'cache'")) << stalled.body;
  admin.command({"CLIENT", "UNPAUSE"});
  ASSERT_TRUE(eventually([&] { return http_get(metrics_port, "/healthz").status == 200; }, 30s));
  EXPECT_TRUE(wait_until_synced());
}

// A replication connection that stays up but silent (the walsender frozen with
// SIGSTOP) turns the health unhealthy; it recovers when the walsender resumes.
TEST_F(OperationsTest, HealthTurnsUnhealthyWhileTheStreamIsConnectedButSilent) {
  auto sluice = start_sluice(config_with_metrics(/*unhealthy_after_ms=*/1500));
  ASSERT_TRUE(wait_streaming(*sluice));
  const int walsender = std::stoi(db->scalar("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'sluice_cache'"));
  ASSERT_EQ(::kill(walsender, SIGSTOP), 0);
  HttpReply silent;
  const bool turned = eventually([&] { return (silent = http_get(metrics_port, "/healthz")).status == 503; }, 15s);
  ::kill(walsender, SIGCONT);
  ASSERT_TRUE(turned) << silent.status << " " << silent.body;
  EXPECT_TRUE(contains(silent.body, "no message from PostgreSQL for")) << silent.body;
  ASSERT_TRUE(eventually([&] { return http_get(metrics_port, "/healthz").status == 200; }, 30s));
  db->exec("UPDATE channel SET name = 'after the freeze'");
  EXPECT_TRUE(wait_until_synced());
}

TEST_F(OperationsTest, MetricsListenAddressInUseIsAClearError) {
  httplib::Server blocker;
  ASSERT_TRUE(blocker.bind_to_port("127.0.0.1", metrics_port));
  auto [code, output] = run_sluice({"run", "--config", config_with_metrics()}, env, 60s);
  EXPECT_EQ(code, 1) << output;
  EXPECT_TRUE(contains(output, "metrics.listen: cannot listen on 127.0.0.1:" + std::to_string(metrics_port)))
      << output;
}

TEST_F(OperationsTest, StatusReportsTheSlotAndEverySinkAsTextAndJson) {
  const std::string config = write_config();
  {
    auto [code, output] = run_sluice({"status", "--config", config}, env);
    EXPECT_EQ(code, 0) << output;
    EXPECT_TRUE(contains(output, "slot 'sluice_cache': does not exist")) << output;
    EXPECT_TRUE(contains(output, "sink 'cache': no checkpoint")) << output;
  }
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  db->exec("UPDATE channel SET name = 'x'");
  ASSERT_TRUE(wait_until_synced());
  {
    auto [code, output] = run_sluice({"status", "--config", config}, env);
    EXPECT_EQ(code, 0) << output;
    EXPECT_TRUE(contains(output, "slot 'sluice_cache': active (walsender pid")) << output;
    EXPECT_TRUE(contains(output, "wal_status reserved")) << output;
    EXPECT_TRUE(contains(output, "sink 'cache': checkpoint ")) << output;
    EXPECT_TRUE(contains(output, "snapshot done")) << output;
  }
  auto [code, output] = run_sluice({"status", "--config", config, "--json"}, env);
  EXPECT_EQ(code, 0) << output;
  const auto status = nlohmann::json::parse(output.substr(output.find('{')));
  EXPECT_EQ(status["source"]["slot_name"], "sluice_cache");
  EXPECT_EQ(status["source"]["slot"]["active"], true);
  EXPECT_EQ(status["source"]["slot"]["wal_status"], "reserved");
  EXPECT_GE(status["source"]["slot"]["lag_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(status["sinks"][0]["name"], "cache");
  EXPECT_EQ(status["sinks"][0]["snapshot"], "done");
  EXPECT_TRUE(status["sinks"][0]["checkpoint"].is_string()) << output;
  EXPECT_EQ(status["sinks"][0]["slot"], "sluice_cache");

  // A sink that cannot be reached is reported, and the exit status says so.
  redis->stop();
  auto [down_code, down_output] = run_sluice({"status", "--config", config, "--json"}, env);
  EXPECT_EQ(down_code, 1) << down_output;
  EXPECT_TRUE(nlohmann::json::parse(down_output.substr(down_output.find('{')))["sinks"][0].contains("error"));
  redis->start();
}

// A role with LOGIN REPLICATION and SELECT on the tables, and nothing else,
// streams through a publication the DBA created; `check` names what a role
// lacks, one privilege at a time.
TEST_F(OperationsTest, LeastPrivilegeRoleStreamsAndCheckNamesWhatIsMissing) {
  db->exec("CREATE ROLE cdc LOGIN REPLICATION PASSWORD 'cdc-secret'");
  source_dsn = postgres_dsn(pg->port(), "cdc", "${env:CDC_PASSWORD}");
  const std::string config = write_config(config_toml(), "cdc.toml");
  std::vector<std::string> cdc_env = {"CDC_PASSWORD=cdc-secret"};

  auto check = [&] { return run_sluice({"check", "--config", config}, cdc_env); };
  {
    auto [code, output] = check();
    EXPECT_EQ(code, 1) << output;
    EXPECT_TRUE(contains(output, "role 'cdc' cannot SELECT from public.user_account: GRANT SELECT ON "
                                 "public.user_account TO cdc;")) << output;
    EXPECT_TRUE(contains(output, "publication 'sluice_cache' does not exist, and role 'cdc' cannot create it")) << output;
    EXPECT_TRUE(contains(output, "CREATE PUBLICATION sluice_cache FOR TABLE public.user_account, public.channel, "
                                 "public.media WITH (publish_via_partition_root = true);")) << output;
  }
  db->exec("GRANT SELECT ON user_account, channel, media TO cdc");
  db->exec("CREATE PUBLICATION sluice_cache FOR TABLE user_account, channel, media");
  db->exec("ALTER ROLE cdc NOREPLICATION");
  {
    auto [code, output] = check();
    EXPECT_EQ(code, 1) << output;
    EXPECT_TRUE(contains(output, "role 'cdc' lacks the REPLICATION attribute")) << output;
    EXPECT_FALSE(contains(output, "cannot SELECT")) << output;
  }
  db->exec("ALTER ROLE cdc REPLICATION");
  {
    auto [code, output] = check();
    EXPECT_EQ(code, 0) << output;
    EXPECT_FALSE(contains(output, "warning:")) << output;  // heartbeats are allowed to any role
  }
  db->exec("REVOKE EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) FROM PUBLIC");
  {
    auto [code, output] = check();
    EXPECT_EQ(code, 0) << output;
    EXPECT_TRUE(contains(output, "warning: role 'cdc' may not execute pg_logical_emit_message")) << output;
  }
  db->exec("GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO cdc");

  SluiceProcess sluice({"run", "--config", config}, cdc_env);
  ASSERT_TRUE(wait_streaming(sluice));
  ASSERT_TRUE(wait_until_synced());
  db->exec("INSERT INTO user_account (email, display_name) VALUES ('least@x', 'Least')");
  db->exec("UPDATE media SET title = 'retitled' WHERE media_id = 1");
  EXPECT_TRUE(wait_until_synced());
  EXPECT_FALSE(contains(sluice.output(), "error")) << sluice.output();
  EXPECT_FALSE(contains(sluice.output(), "heartbeats stopped")) << sluice.output();
}

// The PostgreSQL and the Redis password reach sluice only through ${env:...};
// neither shows in the logs (start, snapshot, an outage of each server, refused
// logins), the metrics, the health, `status` or `check`.
TEST_F(OperationsTest, PasswordsFromTheEnvironmentShowInNoOutput) {
  const std::string pg_secret = "app-secret";  // the fixture's role password
  const std::string redis_secret = "r3dis-Secret-77";
  cache->command({"CONFIG", "SET", "requirepass", redis_secret});
  cache = std::make_unique<RedisClient>(redis->port());
  cache->command({"AUTH", redis_secret});
  TcpProxy to_redis(redis->port());  // cut to make an outage that keeps the password
  cache_url = "redis://:${env:REDIS_PASSWORD}@127.0.0.1:" + std::to_string(to_redis.port()) + "/0";
  TomlWriter toml = config_toml("", "heartbeat_interval_ms = 200\n");
  const std::string config = write_config(add_metrics(toml, 1000), "secret.toml");
  env.push_back("REDIS_PASSWORD=" + redis_secret);

  std::vector<std::string> outputs;
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  db->exec("UPDATE channel SET name = 'secretless'");
  ASSERT_TRUE(wait_until_synced());
  outputs.push_back(scrape());
  outputs.push_back(http_get(metrics_port, "/healthz").body);

  // Redis unreachable for a while.
  to_redis.set_accepting(false);
  to_redis.cut();
  db->exec("UPDATE channel SET name = 'while cut'");
  ASSERT_TRUE(eventually([&] { return http_get(metrics_port, "/healthz").status == 503; }, 15s));
  outputs.push_back(http_get(metrics_port, "/healthz").body);
  outputs.push_back(scrape());
  to_redis.set_accepting(true);
  ASSERT_TRUE(eventually([&] { return http_get(metrics_port, "/healthz").status == 200; }, 30s));

  // PostgreSQL restarts under it.
  pg->stop();
  std::this_thread::sleep_for(1500ms);
  outputs.push_back(http_get(metrics_port, "/healthz").body);
  pg->start();
  db = std::make_unique<PgClient>(pg->dsn());
  db->exec("UPDATE channel SET name = 'after restart'");
  ASSERT_TRUE(wait_until_synced());
  ASSERT_TRUE(eventually([&] { return http_get(metrics_port, "/healthz").status == 200; }, 30s));
  outputs.push_back(scrape());

  for (const auto& args : std::vector<std::vector<std::string>>{{"status", "--config", config},
                                                               {"status", "--config", config, "--json"},
                                                               {"check", "--config", config}}) {
    auto [code, output] = run_sluice(args, env, 30s);
    EXPECT_EQ(code, 0) << output;
    outputs.push_back(output);
  }
  // Refused logins: each password wrong, given the same way.
  for (size_t wrong : {size_t{0}, env.size() - 1}) {
    std::vector<std::string> bad = env;
    bad[wrong] += "-wrong";
    for (const char* command : {"check", "status"}) {
      auto [code, output] = run_sluice({command, "--config", config}, bad, 30s);
      EXPECT_EQ(code, 1) << output;
      outputs.push_back(output);
    }
  }
  EXPECT_TRUE(contains(outputs[outputs.size() - 4], "password authentication failed")) << outputs[outputs.size() - 4];
  EXPECT_TRUE(contains(outputs.back(), "WRONGPASS") || contains(outputs.back(), "invalid")) << outputs.back();
  sluice->terminate();
  sluice->wait(20s);
  outputs.push_back(sluice->output());
  EXPECT_TRUE(contains(outputs.back(), "recovered")) << outputs.back();

  for (const std::string& out : outputs) {
    EXPECT_FALSE(contains(out, pg_secret)) << out;
    EXPECT_FALSE(contains(out, redis_secret)) << out;
  }
}

TEST_F(OperationsTest, JsonLogsAreOneObjectPerLine) {
  auto sluice = start_sluice(write_config(), {"--log-format", "json"});
  ASSERT_TRUE(wait_streaming(*sluice));
  sluice->terminate();
  ASSERT_EQ(sluice->wait(20s), 0) << sluice->output();
  std::istringstream lines(sluice->output());
  int count = 0;
  bool saw_streaming = false;
  for (std::string line; std::getline(lines, line);) {
    const auto record = nlohmann::json::parse(line);  // throws on anything else
    EXPECT_TRUE(record["time"].is_string() && record["level"].is_string() && record["msg"].is_string()) << line;
    EXPECT_EQ(record["time"].get<std::string>().back(), 'Z') << line;
    saw_streaming = saw_streaming || contains(record["msg"].get<std::string>(), "streaming from slot");
    ++count;
  }
  EXPECT_GE(count, 4);
  EXPECT_TRUE(saw_streaming) << sluice->output();
}

TEST_F(OperationsTest, StdoutSinkPrintsEveryChangeAsAJsonLine) {
  TomlWriter toml = source_for("debug", "public.channel");
  toml.set("status_interval_ms", 500).array_table("sinks").set("name", "debug").set("kind", "stdout");
  const std::string config = write_config(toml, "stdout.toml");
  SluiceProcess sluice({"run", "--config", config}, env);
  ASSERT_TRUE(wait_streaming(sluice));
  db->exec("UPDATE channel SET name = 'printed' WHERE channel_id = 2");
  db->exec("DELETE FROM media WHERE channel_id = 2; DELETE FROM channel WHERE channel_id = 2");
  std::vector<nlohmann::json> changes;
  ASSERT_TRUE(eventually([&] {
    changes.clear();
    std::istringstream lines(sluice.output());
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty() && line[0] == '{') changes.push_back(nlohmann::json::parse(line));
    }
    return changes.size() >= 4;
  })) << sluice.output();
  ASSERT_EQ(changes.size(), 4u) << sluice.output();
  EXPECT_EQ(changes[0]["op"], "snapshot");
  EXPECT_EQ(changes[1]["op"], "snapshot");
  EXPECT_EQ(changes[2]["op"], "update");
  EXPECT_EQ(changes[2]["table"], "public.channel");
  EXPECT_EQ(changes[2]["new"]["name"], "printed");
  EXPECT_EQ(changes[2]["new"]["tags"], nlohmann::json::parse(R"(["cobol"])"));
  EXPECT_EQ(changes[3]["op"], "delete");
  EXPECT_EQ(changes[3]["old"]["channel_id"], 2);

  // It keeps no state: a restart resumes the slot and prints only what is new.
  sluice.terminate();
  ASSERT_EQ(sluice.wait(20s), 0) << sluice.output();
  SluiceProcess again({"run", "--config", config}, env);
  ASSERT_TRUE(wait_streaming(again));
  db->exec("UPDATE channel SET name = 'after restart' WHERE channel_id = 1");
  ASSERT_TRUE(eventually([&] { return contains(again.output(), "after restart"); })) << again.output();
  EXPECT_FALSE(contains(again.output(), "\"op\":\"snapshot\"")) << again.output();
  EXPECT_FALSE(contains(again.output(), "printed")) << again.output();
}

// On a terminal the snapshot draws a live progress line (rows, percent, rate,
// time left) in place; `script` gives sluice a pseudo-terminal.
TEST_F(OperationsTest, SnapshotDrawsALiveProgressLineOnATerminal) {
  db->exec("CREATE TABLE bulk (id int PRIMARY KEY, pad text NOT NULL)");
  db->exec("INSERT INTO bulk SELECT g, repeat('p', 100) FROM generate_series(1, 400000) g");
  db->exec("ANALYZE bulk");
  TomlWriter toml = source_for("bulk", "public.bulk");
  toml.set("snapshot_workers", 1).array_table("sinks").set("name", "cache").set("url", redis->url());
  const std::string config = write_config(toml, "bulk.toml");
  SluiceProcess sluice(SluiceProcess::Program{"script"},
                       {"-qefc", std::string(SLUICE_BINARY) + " run --config " + config, "/dev/null"}, env);
  ASSERT_TRUE(wait_streaming(sluice, 60s));
  const std::string out = sluice.output();
  EXPECT_TRUE(contains(out, "\r\033[Ksnapshot: ")) << out;
  EXPECT_TRUE(contains(out, " of ~400,000 rows (")) << out;
  EXPECT_TRUE(contains(out, " rows/s")) << out;
  EXPECT_TRUE(contains(out, "every table copied, 400000 rows")) << out;
  EXPECT_EQ(cache->command({"DBSIZE"}).at(0), "400003");  // the rows, the index, the checkpoint, the shapes
}

}  // namespace
}  // namespace sluice::test
