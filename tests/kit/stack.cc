#include "kit/stack.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sluice::test {

Stack::Stack() : Stack(Options{}) {}

Stack::Stack(const Options& options, std::optional<RedisServer::Tls> redis_tls)
    // The password of role "app" (PostgresServer, servers.h).
    : env{"APP_PG_PASSWORD=app-secret"} {
  pg_ = std::make_unique<PostgresServer>();
  if (options.redis != Redis::kNone) {
    redis_ = std::make_unique<RedisServer>(/*appendonly=*/options.redis == Redis::kAppendOnly, redis_tls);
  }
  if (options.search_index_blocks) search_ = std::make_unique<SphinxServer>(*options.search_index_blocks);
}

// The members go in the reverse order of their declaration: searchd, Redis,
// PostgreSQL, then the TempDir.
Stack::~Stack() = default;

RedisServer& Stack::redis() {
  if (!redis_) throw std::logic_error("this test's Stack started no Redis (Options::redis is kNone)");
  return *redis_;
}

SphinxServer& Stack::search() {
  if (!search_) throw std::logic_error("this test's Stack started no searchd (no Options::search_index_blocks)");
  return *search_;
}

void Stack::run_sql_file(const std::string& path) const {
  const std::string full_path = std::string(SLUICE_SOURCE_DIR) + "/" + path;
  std::ifstream in(full_path);
  if (!in) throw std::runtime_error("cannot read " + full_path);
  std::stringstream sql;
  sql << in.rdbuf();
  PgClient(pg_->dsn()).exec(sql.str());
}

std::string Stack::write_config(const TomlWriter& toml, const std::string& file_name) const {
  return dir_.write_file(file_name, toml.str());
}

std::unique_ptr<SluiceProcess> Stack::start_sluice(const std::string& config_path,
                                                   const std::vector<std::string>& extra_args) const {
  std::vector<std::string> args = {"run", "--config", config_path};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  return std::make_unique<SluiceProcess>(args, env);
}

}  // namespace sluice::test
