// Test harness: real PostgreSQL and Redis servers on loopback, started by the
// tests themselves, plus small RAII clients and a handle on a sluice process.
//
// Servers live in a fresh temporary directory and listen on a free 127.0.0.1 port.
// When the test runs as root, PostgreSQL runs as the unprivileged "postgres" user
// (initdb refuses root). Binaries are found in $SLUICE_PG_BINDIR or
// /usr/lib/postgresql/<newest>/bin, and redis-server on PATH.
// Destructors stop the servers and remove their directories.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sluice::test {

class PostgresServer {
 public:
  // initdb + start with wal_level=logical, max_replication_slots/max_wal_senders
  // >= 10, fsync=off, TimeZone=UTC, listen on 127.0.0.1 only. Creates database
  // "app" and a superuser role "app" with password "app-secret".
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const;
  // "host=127.0.0.1 port=N dbname=app user=app password=app-secret"
  std::string dsn(const std::string& dbname = "app") const;

  void stop();               // pg_ctl stop -m fast
  void crash();              // pg_ctl stop -m immediate
  void start();              // start again on the same port and data directory
  // Appends a line to postgresql.conf (takes effect at next start()).
  void set_config(const std::string& line);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class RedisServer {
 public:
  // redis-server on a free port; `appendonly` turns AOF on (appendfsync always).
  explicit RedisServer(bool appendonly = false);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const;
  std::string url(int db = 0) const;  // "redis://127.0.0.1:N/db"
  void stop();               // SHUTDOWN (NOSAVE unless appendonly) and wait
  void kill();               // SIGKILL
  void start();              // same port and directory

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A row of text values; nullopt for SQL NULL.
using Row = std::vector<std::optional<std::string>>;

// Blocking libpq client for test setup and checks. Throws std::runtime_error
// with the server's message on failure.
class PgClient {
 public:
  explicit PgClient(const std::string& dsn);
  ~PgClient();
  PgClient(const PgClient&) = delete;
  PgClient& operator=(const PgClient&) = delete;

  // Runs one or more statements; returns the rows of the last one.
  std::vector<Row> query(const std::string& sql);
  // Single value of a single-row query (throws if no row or NULL).
  std::string scalar(const std::string& sql);
  void exec(const std::string& sql) { query(sql); }

 private:
  void* conn_;  // PGconn*
};

// Blocking hiredis client. A reply is flattened to strings: nil -> nullopt,
// integers as decimal text, arrays flattened one level.
class RedisClient {
 public:
  explicit RedisClient(int port, int db = 0);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // command({"SET", "k", "v"}) -> the reply as above.
  std::vector<std::optional<std::string>> command(const std::vector<std::string>& argv);
  std::optional<std::string> get(const std::string& key);
  std::vector<std::string> keys(const std::string& pattern);  // KEYS, sorted

 private:
  void* ctx_;  // redisContext*
};

// A running `sluice` binary (SLUICE_BINARY) with stdout+stderr captured to a file.
class SluiceProcess {
 public:
  // Starts `sluice <args...>` with extra environment entries ("NAME=value").
  SluiceProcess(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
  ~SluiceProcess();  // SIGKILL if still running
  SluiceProcess(const SluiceProcess&) = delete;
  SluiceProcess& operator=(const SluiceProcess&) = delete;

  int pid() const;
  bool running();
  void kill9();
  void terminate();  // SIGTERM
  // Waits for exit; returns the exit code (128+signal if killed) or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::string output() const;  // everything written so far

 private:
  int pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

// Runs `sluice <args...>` to completion; returns {exit code, combined output}.
std::pair<int, std::string> run_sluice(const std::vector<std::string>& args,
                                       const std::vector<std::string>& env = {},
                                       std::chrono::seconds timeout = std::chrono::seconds(120));

// Polls `condition` every 20 ms until it returns true or `timeout` passes.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string write_file(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace sluice::test
