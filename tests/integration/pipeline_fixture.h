// Shared fixture for end-to-end tests: per test, a real PostgreSQL and Redis
// (a Stack, kit/stack.h: started when the fixture is made, stopped when it goes),
// the seed schema (examples/seed.sql), a config file, and helpers that compare
// every row of a table with its document in Redis using PostgreSQL's own jsonb
// equality (so numbers are compared exactly, as parsed JSON).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "harness/servers.h"
#include "kit/stack.h"
#include "kit/toml_writer.h"

namespace sluice::test {

class PipelineTest : public ::testing::Test {
 protected:
  // `servers`: Redis with AOF, say (the default: in memory, no searchd);
  // `redis_tls`: a TLS port on that Redis too (kit/stack.h).
  explicit PipelineTest(const Stack::Options& servers = {}, std::optional<RedisServer::Tls> redis_tls = std::nullopt)
      : stack(servers, redis_tls) {}

  // Connects `db` and `cache`, and loads the seed schema.
  void SetUp() override;
  void TearDown() override;

  // The config (the example, pointed at the test servers: the Redis sink
  // "cache", its [[sinks.tables]] entry for public.media last, the writer left in
  // it), for a test to add to: more tables of the sink, sinks, [metrics].
  // `sink_extra` (key lines) goes inside [[sinks]] before the tables,
  // `source_extra` inside [source]. It captures `captured_tables` and points at
  // `source_dsn` and `cache_url`.
  TomlWriter config_toml(const std::string& sink_extra = "", const std::string& source_extra = "",
                         const std::string& mode = "upsert", const std::string& format = "json");
  // Writes config_toml(...) to sluice.toml and returns its path.
  std::string write_config(const std::string& sink_extra = "", const std::string& source_extra = "",
                           const std::string& mode = "upsert", const std::string& format = "json");
  // Writes `toml` to `file_name` in the test's directory and returns its path.
  std::string write_config(const TomlWriter& toml, const std::string& file_name = "sluice.toml");
  std::unique_ptr<SluiceProcess> start_sluice(const std::string& config_path,
                                              const std::vector<std::string>& extra_args = {});

  // Every row of `table` has a key "<table>:<pk>" (or m:{channel_id}:{media_id}
  // for media) whose JSON equals to_jsonb(row), and no other key of the table exists.
  ::testing::AssertionResult table_matches(const std::string& table);
  bool all_tables_match();
  // Waits until all_tables_match() (or times out and reports the first mismatch).
  ::testing::AssertionResult wait_until_synced(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  std::string key_pattern(const std::string& table) const;
  // Writes ~10 transactions/s for 12 s (an insert and an update each) while
  // Redis is stopped for 10 s of it; returns with Redis started again and
  // `cache` reconnected. Expects sluice to keep running through the outage.
  void redis_down_ten_seconds_under_load(SluiceProcess& sluice);
  // Waits until `sluice` says it streams (the snapshot, if any, is done);
  // fails early if it exits (kit/sluice_output.h).
  ::testing::AssertionResult wait_streaming(SluiceProcess& sluice,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits until `text` occurs at least `count` times in the output of `sluice`;
  // fails early if it exits (kit/sluice_output.h).
  ::testing::AssertionResult wait_for_output(SluiceProcess& sluice, const std::string& text, std::size_t count = 1,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(20));

  Stack stack;
  // The stack's, by their old names.
  PostgresServer* const pg = &stack.pg();
  RedisServer* const redis = &stack.redis();
  std::vector<std::string>& env = stack.env;  // APP_PG_PASSWORD=...
  std::unique_ptr<PgClient> db;
  std::unique_ptr<RedisClient> cache;

  // In the configs made next: the tables of [source], the dsn (empty:
  // postgres_dsn(pg->port()), role app with ${env:APP_PG_PASSWORD}) and the url
  // of the sink "cache" (empty: redis->url()).
  std::vector<std::string> captured_tables = {"public.user_account", "public.channel", "public.media"};
  std::string source_dsn;
  std::string cache_url;
  // Adds `table` to captured_tables, unless it is there already.
  void capture(const std::string& table);
};

}  // namespace sluice::test
