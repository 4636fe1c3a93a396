// Test harness: real PostgreSQL and Redis servers on loopback, started by the
// tests themselves, plus small RAII clients and a handle on a sluice process.
//
// Servers live in a fresh temporary directory under /tmp and listen on a free
// 127.0.0.1 port (below the kernel's ephemeral range, so no client socket takes it
// while a server is stopped). When the test runs as root, PostgreSQL runs as the
// unprivileged "postgres" user, or "sluice-test" (created with useradd) when there
// is none: initdb refuses root. Binaries are found in $SLUICE_PG_BINDIR or
// /usr/lib/postgresql/<newest>/bin, and $SLUICE_REDIS_SERVER or redis-server on PATH.
// Destructors never throw: they kill the servers and remove their directories;
// if the current gtest test failed they first print the tail of the server's log.
//
// Not thread-safe: one object is used from one thread at a time.
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
  // TCP logins (normal and replication) need the password (scram-sha-256); only
  // the Unix socket in data_dir() is trusted. Throws std::runtime_error, with the
  // tail of the server log, if the server does not come up within 30 s.
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const;
  // "host=127.0.0.1 port=N dbname=app user=app password=app-secret"
  std::string dsn(const std::string& dbname = "app") const;

  // stop(), crash() and start() do nothing when already in that state.
  void stop();               // pg_ctl stop -m fast
  void crash();              // pg_ctl stop -m immediate
  void start();              // start again on the same port and data directory
  // Appends a line to postgresql.conf (takes effect at next start()).
  void set_config(const std::string& line);

  std::string data_dir() const;  // also the Unix socket directory
  std::string log_path() const;  // the server log (inside data_dir())

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class TestCertificates;

class RedisServer {
 public:
  // A TLS listener beside the plain one (tests read and write the data over
  // the plain port; the client under test uses the TLS port).
  struct Tls {
    const TestCertificates* certificates = nullptr;  // must outlive the server
    bool require_client_certificate = false;        // --tls-auth-clients yes
  };
  // redis-server on a free port; `appendonly` turns AOF on (appendfsync always);
  // with `tls`, also --tls-port on a second free port, with the server
  // certificate of `tls->certificates` and its CA for client certificates.
  explicit RedisServer(bool appendonly = false, std::optional<Tls> tls = std::nullopt);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const;
  std::string url(int db = 0) const;  // "redis://127.0.0.1:N/db"
  int tls_port() const;               // 0 without TLS
  std::string tls_url(int db = 0) const;  // "rediss://127.0.0.1:N/db"
  // stop(), kill() and start() do nothing when already in that state.
  void stop();               // SHUTDOWN (NOSAVE unless appendonly) and wait
  void kill();               // SIGKILL
  void start();              // same port and directory

  std::string dir() const;       // --dir: the AOF lives here
  std::string log_path() const;  // the server's stdout

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

// Blocking hiredis client to 127.0.0.1. A reply is flattened to strings:
// nil -> nullopt, integers as decimal text, arrays flattened (nested arrays too,
// depth-first: XRANGE gives id, field, value, id, ...). An error reply, or a
// broken connection, throws std::runtime_error.
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
// It runs in its own process group, with stdin from /dev/null, and inherits our
// environment plus `env`. If the current gtest test failed, the destructor prints
// the tail of the output to stderr.
class SluiceProcess {
 public:
  // Starts `sluice <args...>` with extra environment entries ("NAME=value").
  SluiceProcess(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

  // Another program (an absolute path, or a name looked up on PATH) instead of
  // sluice: for the harness's own tests and for helper tools.
  struct Program {
    std::string path;
  };
  SluiceProcess(const Program& program, const std::vector<std::string>& args,
                const std::vector<std::string>& env = {});
  ~SluiceProcess();  // SIGKILL if still running
  SluiceProcess(const SluiceProcess&) = delete;
  SluiceProcess& operator=(const SluiceProcess&) = delete;

  int pid() const;
  bool running();
  void kill9();      // SIGKILL to its process group
  void terminate();  // SIGTERM to the process
  // Waits for exit; returns the exit code (128+signal if killed) or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::string output() const;  // everything written so far
  const std::string& log_path() const;  // the file output() reads; removed by the destructor

 private:
  int pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

// Runs `sluice <args...>` to completion; returns {exit code, combined output}.
// Throws std::runtime_error (with the output) if it runs past `timeout`.
std::pair<int, std::string> run_sluice(const std::vector<std::string>& args,
                                       const std::vector<std::string>& env = {},
                                       std::chrono::seconds timeout = std::chrono::seconds(120));

// Polls `condition` every 20 ms until it returns true or `timeout` passes.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));

// A fresh temporary directory (/tmp/sluice-test-XXXXXX, mode 0700), removed by the
// destructor. write_file() returns the file's full path.
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
