// Stack: the servers of one end-to-end test, the directory its config files go
// to, and the environment sluice is started with. The fixtures of the
// integration and fault suites (PipelineTest, FaultTest) and the search sink's
// tests each own one, so that one test's servers are set up in one place.
//
// The constructor starts, in this order, each through its harness class
// (tests/harness/ holds the only code that starts a server; the Stack only
// composes them):
//   - a TempDir, /tmp/sluice-test-XXXXXX (servers.h), for write_config();
//   - a PostgresServer on a free 127.0.0.1 port, with database "app" and the
//     superuser role "app" whose password is "app-secret" (servers.h);
//   - unless Options::redis is kNone, a RedisServer on a free 127.0.0.1 port,
//     in memory (kInMemory) or with AOF and appendfsync always (kAppendOnly),
//     with a TLS port beside it when `redis_tls` is given (its certificates
//     must outlive the Stack);
//   - when Options::search_index_blocks is given, a SphinxServer with those
//     index blocks on a free 127.0.0.1 port (sphinx_server.h).
// A server that does not come up makes the constructor throw std::runtime_error
// (from its harness class); what was started before it is stopped again.
// Nothing else is created: a schema is the test's (run_sql_file()).
//
// The servers are the test's to stop, crash and start again (each keeps its
// port and directory). They live as long as the Stack: the destructor, which
// never throws, stops searchd, Redis and PostgreSQL in that order and removes
// their directories, then the TempDir. If the current gtest test has failed,
// each server's destructor first prints the tail of its log to stderr. A
// SluiceProcess that start_sluice() returns belongs to the caller and must go
// before the Stack (a test's locals do go before its fixture's members).
//
// Not thread-safe: used from the test's thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/servers.h"
#include "harness/sphinx_server.h"
#include "kit/toml_writer.h"

namespace sluice::test {

class Stack {
 public:
  enum class Redis { kNone, kInMemory, kAppendOnly };
  struct Options {
    Redis redis = Redis::kInMemory;
    // Complete `index NAME { ... }` blocks for searchd (SphinxServer's
    // argument; empty: its default index); nullopt: no searchd.
    std::optional<std::vector<std::string>> search_index_blocks;
  };

  Stack();  // Options{}: PostgreSQL and an in-memory Redis
  explicit Stack(const Options& options, std::optional<RedisServer::Tls> redis_tls = std::nullopt);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  PostgresServer& pg() { return *pg_; }
  // Throw std::logic_error when the Options started no such server.
  RedisServer& redis();
  SphinxServer& search();
  const TempDir& dir() const { return dir_; }

  // Runs the SQL file at `path` (relative to the source tree, as
  // "examples/seed.sql") in database "app", on a connection of its own.
  // Throws std::runtime_error if the file cannot be read or a statement fails.
  void run_sql_file(const std::string& path) const;

  // Writes `toml` to `file_name` in dir() and returns the file's path.
  std::string write_config(const TomlWriter& toml, const std::string& file_name = "sluice.toml") const;

  // Starts `sluice run --config <config_path> <extra_args...>` with `env` added
  // to our environment (SluiceProcess: own process group, output captured).
  std::unique_ptr<SluiceProcess> start_sluice(const std::string& config_path,
                                              const std::vector<std::string>& extra_args = {}) const;

  // What start_sluice() adds to sluice's environment, and what a test gives
  // run_sluice() for `sluice verify` / `check`: APP_PG_PASSWORD=app-secret, the
  // password that postgres_dsn()'s default "${env:APP_PG_PASSWORD}" names
  // (kit/toml_writer.h), so that no config file holds it. A test may change it
  // (a wrong password, another secret) before it starts sluice.
  std::vector<std::string> env;

 private:
  TempDir dir_;
  std::unique_ptr<PostgresServer> pg_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<SphinxServer> search_;
};

}  // namespace sluice::test
