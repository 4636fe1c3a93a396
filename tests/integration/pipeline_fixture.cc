#include "integration/pipeline_fixture.h"

#include <fstream>
#include <sstream>
#include <thread>

namespace sluice::test {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

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
  pg = std::make_unique<PostgresServer>();
  redis = std::make_unique<RedisServer>();
  db = std::make_unique<PgClient>(pg->dsn());
  cache = std::make_unique<RedisClient>(redis->port());
  dir = std::make_unique<TempDir>();
  db->exec(read_file(std::string(SLUICE_SOURCE_DIR) + "/examples/seed.sql"));
  env = {"APP_PG_PASSWORD=app-secret"};
}

void PipelineTest::TearDown() {
  cache.reset();
  db.reset();
  redis.reset();
  pg.reset();
}

std::string PipelineTest::write_config(const std::string& sink_extra, const std::string& source_extra,
                                       const std::string& mode, const std::string& format) {
  std::string config = R"([source]
kind = "postgres"
dsn = "host=127.0.0.1 port=)" + std::to_string(pg->port()) +
                       R"( dbname=app user=app password=${env:APP_PG_PASSWORD}"
slot = "sluice_cache"
publication = "sluice_cache"
tables = ["public.user_account", "public.channel", "public.media"]
snapshot = "initial"
status_interval_ms = 500
)" + source_extra + R"(
[retry]
initial_backoff_ms = 100
max_backoff_ms = 1000

[[sinks]]
name = "cache"
kind = "redis"
url = ")" + redis->url() + R"("
mode = ")" + mode + R"("
)" + (mode == "upsert" ? "format = \"" + format + "\"\n" : std::string()) +
                       R"(key = "{table}:{pk}"
)" + sink_extra + R"(

[[sinks.tables]]
table = "public.media"
key = "m:{channel_id}:{media_id}"
)";
  return dir->write_file("sluice.toml", config);
}

std::unique_ptr<SluiceProcess> PipelineTest::start_sluice(const std::string& config_path,
                                                          const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = {"run", "--config", config_path};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  return std::make_unique<SluiceProcess>(args, env);
}

::testing::AssertionResult PipelineTest::wait_streaming(SluiceProcess& sluice, std::chrono::milliseconds timeout) {
  if (eventually([&] { return sluice.output().find("streaming from slot") != std::string::npos; }, timeout)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "sluice did not start streaming:\n" << sluice.output();
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
