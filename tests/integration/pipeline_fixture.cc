#include "integration/pipeline_fixture.h"

#include <algorithm>
#include <thread>

#include "kit/sluice_output.h"

namespace sluice::test {

namespace {

std::string sql_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

}  // namespace

void PipelineTest::SetUp() {
  db = std::make_unique<PgClient>(pg->dsn());
  cache = std::make_unique<RedisClient>(redis->port());
  stack.run_sql_file("examples/seed.sql");
}

void PipelineTest::TearDown() {
  cache.reset();
  db.reset();
}

TomlWriter PipelineTest::config_toml(const std::string& sink_extra, const std::string& source_extra,
                                    const std::string& mode, const std::string& format) {
  TomlWriter toml;
  postgres_source(toml, source_dsn.empty() ? postgres_dsn(pg->port()) : source_dsn, "sluice_cache", captured_tables)
      .set("snapshot", "initial")
      .set("status_interval_ms", 500)
      .raw(source_extra);
  fast_retry(toml);
  redis_sink(toml, "cache", cache_url.empty() ? redis->url() : cache_url).set("mode", mode);
  if (mode == "upsert") toml.set("format", format);
  toml.set("key", "{table}:{pk}").raw(sink_extra);
  toml.array_table("sinks.tables").set("table", "public.media").set("key", "m:{channel_id}:{media_id}");
  return toml;
}

std::string PipelineTest::write_config(const std::string& sink_extra, const std::string& source_extra,
                                       const std::string& mode, const std::string& format) {
  return write_config(config_toml(sink_extra, source_extra, mode, format));
}

std::string PipelineTest::write_config(const TomlWriter& toml, const std::string& file_name) {
  return stack.write_config(toml, file_name);
}

void PipelineTest::capture(const std::string& table) {
  if (std::find(captured_tables.begin(), captured_tables.end(), table) == captured_tables.end()) {
    captured_tables.push_back(table);
  }
}

std::unique_ptr<SluiceProcess> PipelineTest::start_sluice(const std::string& config_path,
                                                          const std::vector<std::string>& extra_args) {
  return stack.start_sluice(config_path, extra_args);
}

::testing::AssertionResult PipelineTest::wait_streaming(SluiceProcess& sluice, std::chrono::milliseconds timeout) {
  return ::sluice::test::wait_streaming(sluice, 1, timeout);
}

::testing::AssertionResult PipelineTest::wait_for_output(SluiceProcess& sluice, const std::string& text,
                                                         std::size_t count, std::chrono::milliseconds timeout) {
  return ::sluice::test::wait_for_output(sluice, text, count, timeout);
}

void PipelineTest::redis_down_ten_seconds_under_load(SluiceProcess& sluice) {
  using namespace std::chrono_literals;
  std::thread writer([&] {
    PgClient w(pg->dsn());
    for (int i = 0; i < 120; ++i) {
      w.exec("INSERT INTO user_account (email, display_name) VALUES ('r" + std::to_string(i) + "@x', 'r'); "
             "UPDATE channel SET name = 'c" + std::to_string(i) + "' WHERE channel_id = 1");
      std::this_thread::sleep_for(100ms);
    }
  });
  std::this_thread::sleep_for(500ms);
  redis->stop();
  std::this_thread::sleep_for(10s);
  EXPECT_TRUE(sluice.running()) << sluice.output();
  redis->start();
  writer.join();
  cache = std::make_unique<RedisClient>(redis->port());
}

std::string PipelineTest::key_pattern(const std::string& table) const {
  return table == "media" ? "m:*" : table + ":*";
}

::testing::AssertionResult PipelineTest::table_matches(const std::string& table) {
  std::string key_sql = table == "media" ? "'m:' || channel_id || ':' || media_id"
                        : table == "channel" ? "'channel:' || channel_id"
                        : "'" + table + ":' || " + table + "_id";
  auto rows = db->query("SELECT " + key_sql + ", to_jsonb(t)::text FROM " + table + " t");
  for (const auto& row : rows) {
    auto document = cache->get(*row[0]);
    if (!document) return ::testing::AssertionFailure() << "key " << *row[0] << " is missing from Redis";
    std::string equal = db->scalar("SELECT (" + sql_literal(*document) + "::jsonb = " + sql_literal(*row[1]) +
                                   "::jsonb)::text");
    if (equal != "true") {
      return ::testing::AssertionFailure() << "key " << *row[0] << " differs:\n  redis:    " << *document
                                           << "\n  to_jsonb: " << *row[1];
    }
  }
  auto keys = cache->keys(key_pattern(table));
  if (keys.size() != rows.size()) {
    return ::testing::AssertionFailure() << table << ": " << rows.size() << " rows but " << keys.size()
                                         << " keys in Redis";
  }
  return ::testing::AssertionSuccess();
}

bool PipelineTest::all_tables_match() {
  for (const char* table : {"user_account", "channel", "media"}) {
    if (!table_matches(table)) return false;
  }
  return true;
}

::testing::AssertionResult PipelineTest::wait_until_synced(std::chrono::milliseconds timeout) {
  if (eventually([&] { return all_tables_match(); }, timeout)) return ::testing::AssertionSuccess();
  for (const char* table : {"user_account", "channel", "media"}) {
    auto result = table_matches(table);
    if (!result) return result;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace sluice::test
