// PostgresServer: a throw-away cluster (initdb) on 127.0.0.1, run by pg_ctl as an
// unprivileged user. Local socket connections are trusted (the harness bootstraps
// through them); TCP needs a SCRAM password, so tests exercise the real login.
#include <libpq-fe.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "harness/process_util.h"
#include "harness/servers.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// $SLUICE_PG_BINDIR, else the newest /usr/lib/postgresql/<major>/bin with initdb.
std::string find_pg_bindir() {
  if (const char* dir = std::getenv("SLUICE_PG_BINDIR"); dir != nullptr && *dir != '\0') {
    if (access((std::string(dir) + "/initdb").c_str(), X_OK) != 0) {
      throw std::runtime_error(std::string("SLUICE_PG_BINDIR=") + dir + " has no initdb");
    }
    return dir;
  }
  int best = -1;
  std::string best_dir;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::string bin = entry.path().string() + "/bin";
    if (access((bin + "/initdb").c_str(), X_OK) != 0) continue;
    if (int major = std::stoi(name); major > best) {
      best = major;
      best_dir = bin;
    }
  }
  if (best_dir.empty()) {
    throw std::runtime_error(
        "no PostgreSQL server binaries: set SLUICE_PG_BINDIR or install postgresql "
        "(scripts/install-deps.sh)");
  }
  return best_dir;
}

constexpr const char* kHba =
    "# sluice test harness: trust on the local socket (bootstrap only),\n"
    "# passwords over TCP so that tests exercise real authentication.\n"
    "local   all          all                 trust\n"
    "local   replication  all                 trust\n"
    "host    all          all   127.0.0.1/32  scram-sha-256\n"
    "host    replication  all   127.0.0.1/32  scram-sha-256\n";

}  // namespace

struct PostgresServer::Impl {
  std::string bindir;
  std::optional<detail::Identity> user;
  std::string base;  // temp dir owned by `user`; holds data/
  std::string data;
  std::string log;
  int port = 0;
  bool running = false;

  ~Impl() {
    try {
      if (running) {
        auto r = pg_ctl({"stop", "-m", "immediate", "-w", "-t", "30"}, 60s);
        if (r.code != 0) kill_postmaster();
      }
    } catch (...) {
      kill_postmaster();
    }
    detail::report_log_if_failed("PostgreSQL log", log);
    detail::remove_tree(base);
  }

  detail::RunResult tool(const std::string& name, std::vector<std::string> args,
                         std::chrono::seconds timeout) const {
    detail::SpawnOptions o;
    o.program = bindir + "/" + name;
    o.args = std::move(args);
    o.user = user;
    o.cwd = base;  // the user may not be able to enter our cwd
    // PGPORT, PGDATA, PGHOST... from the caller's environment must not leak in.
    o.drop_env_prefixes = {"PG"};
    o.env = {"LC_ALL=C", "TZ=UTC"};
    return detail::run(std::move(o), timeout);
  }

  detail::RunResult pg_ctl(std::vector<std::string> args, std::chrono::seconds timeout) const {
    args.insert(args.begin() + 1, {"-D", data});
    return tool("pg_ctl", std::move(args), timeout);
  }

  // Last resort when pg_ctl can't stop it: SIGKILL the postmaster; its children
  // notice and exit on their own.
  void kill_postmaster() noexcept {
    try {
      std::string pidfile = detail::read_file(data + "/postmaster.pid");
      int pid = std::atoi(pidfile.c_str());
      // The file may be stale: make sure the pid is still a postgres.
      std::string comm = detail::read_file("/proc/" + std::to_string(pid) + "/comm");
      if (pid > 1 && comm.rfind("postgres", 0) == 0) ::kill(pid, SIGKILL);
    } catch (...) {
    }
    running = false;
  }

  std::string log_tail() const {
    return "\n----- " + log + " (last lines) -----\n" + detail::tail_of_file(log) + "----- end -----";
  }

  std::string tcp_dsn(const std::string& dbname) const {
    return "host=127.0.0.1 port=" + std::to_string(port) + " dbname=" + dbname +
           " user=app password=app-secret";
  }
  std::string socket_dsn(const std::string& dbname) const {
    return "host=" + data + " port=" + std::to_string(port) + " dbname=" + dbname + " user=postgres";
  }

  // pg_ctl start (which waits until the server is ready), then ping it (up to 30 s).
  // Returns false (server not running) when the port was taken by someone else.
  bool try_start() {
    std::size_t log_before = detail::read_file(log).size();
    auto r = pg_ctl({"start", "-l", log, "-w", "-t", "30", "-s"}, 90s);
    if (r.code != 0) {
      std::string this_start = detail::read_file(log);
      this_start.erase(0, std::min(log_before, this_start.size()));
      if (this_start.find("Address already in use") != std::string::npos) return false;
      kill_postmaster();
      throw std::runtime_error("PostgreSQL did not start on port " + std::to_string(port) +
                               " (pg_ctl exit " + std::to_string(r.code) + "): " + r.output +
                               log_tail());
    }
    running = true;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    // Through the trusted socket: a TCP ping would log a failed password login.
    std::string dsn = socket_dsn("postgres") + " connect_timeout=5";
    while (PQping(dsn.c_str()) != PQPING_OK) {
      if (std::chrono::steady_clock::now() >= deadline) {
        throw std::runtime_error("PostgreSQL on port " + std::to_string(port) +
                                 " not accepting connections after 30 s" + log_tail());
      }
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

  void set_port(int p) {
    port = p;
    // The last setting in postgresql.conf wins.
    detail::write_file(data + "/postgresql.conf", "port = " + std::to_string(port) + "\n", true);
  }
};

PostgresServer::PostgresServer() : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.bindir = find_pg_bindir();
  s.user = detail::postgres_identity();
  s.base = detail::make_temp_dir("sluice-pg-");
  if (s.user && chown(s.base.c_str(), s.user->uid, s.user->gid) != 0) {
    throw std::runtime_error("chown " + s.base + " to " + s.user->name + " failed");
  }
  s.data = s.base + "/data";
  s.log = s.data + "/postgresql.log";

  auto init = s.tool("initdb",
                     {"-D", s.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                      "--no-sync"},
                     180s);
  if (init.code != 0) {
    throw std::runtime_error("initdb failed (exit " + std::to_string(init.code) + "): " + init.output);
  }
  detail::write_file(s.data + "/pg_hba.conf", kHba, false);
  detail::write_file(s.data + "/postgresql.conf",
                     "\n# sluice test harness\n"
                     "listen_addresses = '127.0.0.1'\n"
                     "unix_socket_directories = '" + s.data + "'\n"
                     "wal_level = logical\n"
                     "max_replication_slots = 20\n"
                     "max_wal_senders = 20\n"
                     "fsync = off\n"
                     "full_page_writes = off\n"
                     "timezone = 'UTC'\n"
                     "log_timezone = 'UTC'\n"
                     "password_encryption = 'scram-sha-256'\n",
                     true);

  // A port that looked free may be taken by another process before postgres
  // binds it (parallel ctest); try a few.
  for (int attempt = 0;; ++attempt) {
    s.set_port(detail::pick_free_port());
    if (s.try_start()) break;
    if (attempt == 4) throw std::runtime_error("PostgreSQL: no usable port" + s.log_tail());
  }

  PgClient admin(s.socket_dsn("postgres"));
  admin.exec("CREATE ROLE app SUPERUSER LOGIN REPLICATION PASSWORD 'app-secret'");
  admin.exec("CREATE DATABASE app OWNER app");
}

PostgresServer::~PostgresServer() = default;  // Impl::~Impl stops and removes

int PostgresServer::port() const { return impl_->port; }

std::string PostgresServer::dsn(const std::string& dbname) const { return impl_->tcp_dsn(dbname); }

std::string PostgresServer::data_dir() const { return impl_->data; }

std::string PostgresServer::log_path() const { return impl_->log; }

void PostgresServer::stop() {
  if (!impl_->running) return;
  auto r = impl_->pg_ctl({"stop", "-m", "fast", "-w", "-t", "60"}, 90s);
  if (r.code != 0) throw std::runtime_error("pg_ctl stop -m fast failed: " + r.output + impl_->log_tail());
  impl_->running = false;
}

void PostgresServer::crash() {
  if (!impl_->running) return;
  auto r = impl_->pg_ctl({"stop", "-m", "immediate", "-w", "-t", "60"}, 90s);
  if (r.code != 0) {
    throw std::runtime_error("pg_ctl stop -m immediate failed: " + r.output + impl_->log_tail());
  }
  impl_->running = false;
}

void PostgresServer::start() {
  if (impl_->running) return;
  if (!impl_->try_start()) {
    throw std::runtime_error("PostgreSQL could not bind its port " + std::to_string(impl_->port) +
                             " again" + impl_->log_tail());
  }
}

void PostgresServer::set_config(const std::string& line) {
  detail::write_file(impl_->data + "/postgresql.conf", line + "\n", true);
}

}  // namespace sluice::test
