// RedisServer: redis-server in the foreground as our child, in a temp directory,
// on 127.0.0.1. No RDB snapshots ever (--save ""); AOF with fsync on every write
// when asked, so that kill() loses nothing that was acknowledged.
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "harness/process_util.h"
#include "harness/servers.h"
#include "harness/test_certificates.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

std::string find_redis_server() {
  if (const char* path = std::getenv("SLUICE_REDIS_SERVER"); path != nullptr && *path != '\0') {
    return path;
  }
  std::string found = detail::find_program("redis-server");
  if (found.empty()) {
    throw std::runtime_error("redis-server not found on PATH (scripts/install-deps.sh installs it)");
  }
  return found;
}

// One command on a fresh connection; the reply as text, or "" when the
// connection failed or closed (as SHUTDOWN does).
std::string one_command(int port, const char* command) {
  timeval timeout{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (c == nullptr) return "";
  std::string result;
  if (c->err == 0) {
    redisSetTimeout(c, timeout);
    auto* reply = static_cast<redisReply*>(redisCommand(c, command));
    if (reply != nullptr) {
      if (reply->str != nullptr) result.assign(reply->str, reply->len);
      freeReplyObject(reply);
    }
  }
  redisFree(c);
  return result;
}

}  // namespace

struct RedisServer::Impl {
  std::string program;
  std::string dir;
  std::string log;
  int port = 0;
  int tls_port = 0;
  std::optional<RedisServer::Tls> tls;
  bool appendonly = false;
  pid_t pid = -1;

  ~Impl() {
    if (pid > 0) detail::kill_and_reap(pid, true);
    detail::report_log_if_failed("redis-server log", log);
    detail::remove_tree(dir);
  }

  std::string log_tail() const {
    return "\n----- " + log + " (last lines) -----\n" + detail::tail_of_file(log) + "----- end -----";
  }

  // Starts and waits for PING (up to 30 s). Returns false when the port was
  // taken by someone else.
  bool try_start() {
    detail::SpawnOptions o;
    o.program = program;
    o.args = {"--port", std::to_string(port), "--bind", "127.0.0.1", "--dir", dir,
              "--save", "", "--appendonly", appendonly ? "yes" : "no",
              "--appendfsync", "always", "--daemonize", "no", "--logfile", "",
              // DEBUG SLEEP lets tests stall Redis on purpose.
              "--enable-debug-command", "local"};
    if (tls) {
      const TestCertificates& c = *tls->certificates;
      o.args.insert(o.args.end(), {"--tls-port", std::to_string(tls_port), "--tls-cert-file", c.server_cert_file(),
                                   "--tls-key-file", c.server_key_file(), "--tls-ca-cert-file", c.ca_file(),
                                   "--tls-auth-clients", tls->require_client_certificate ? "yes" : "no"});
    }
    o.cwd = dir;
    o.output_path = log;
    o.new_process_group = true;  // ^C on the test runner is for the runner
    std::size_t log_before = detail::read_file(log).size();
    pid = detail::spawn(o);

    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (one_command(port, "PING") != "PONG") {
      if (auto code = detail::try_reap(pid)) {
        pid = -1;
        std::string this_start = detail::read_file(log);
        this_start.erase(0, std::min(log_before, this_start.size()));
        if (this_start.find("Address already in use") != std::string::npos) return false;
        throw std::runtime_error("redis-server exited with " + std::to_string(*code) +
                                 " on start (port " + std::to_string(port) + ")" + log_tail());
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        detail::kill_and_reap(pid, true);
        pid = -1;
        throw std::runtime_error("redis-server did not answer PING within 30 s" + log_tail());
      }
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }
};

RedisServer::RedisServer(bool appendonly, std::optional<Tls> tls) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.program = find_redis_server();
  s.appendonly = appendonly;
  s.tls = tls;
  if (tls && tls->certificates == nullptr) throw std::invalid_argument("RedisServer: TLS without certificates");
  s.dir = detail::make_temp_dir("sluice-redis-");
  s.log = s.dir + "/redis.log";
  for (int attempt = 0;; ++attempt) {
    s.port = detail::pick_free_port();
    if (tls) s.tls_port = detail::pick_free_port();
    if (s.try_start()) break;
    if (attempt == 4) throw std::runtime_error("redis-server: no usable port" + s.log_tail());
  }
}

RedisServer::~RedisServer() = default;  // Impl::~Impl kills and removes

int RedisServer::port() const { return impl_->port; }

std::string RedisServer::url(int db) const {
  return "redis://127.0.0.1:" + std::to_string(impl_->port) + "/" + std::to_string(db);
}

int RedisServer::tls_port() const { return impl_->tls_port; }

std::string RedisServer::tls_url(int db) const {
  return "rediss://127.0.0.1:" + std::to_string(impl_->tls_port) + "/" + std::to_string(db);
}

std::string RedisServer::dir() const { return impl_->dir; }

std::string RedisServer::log_path() const { return impl_->log; }

void RedisServer::stop() {
  Impl& s = *impl_;
  if (s.pid <= 0) return;
  // With AOF, a plain SHUTDOWN flushes and fsyncs it; without, nothing is kept.
  one_command(s.port, s.appendonly ? "SHUTDOWN" : "SHUTDOWN NOSAVE");
  if (!detail::wait_exit(s.pid, 30s)) {
    detail::kill_and_reap(s.pid, true);
    s.pid = -1;
    throw std::runtime_error("redis-server ignored SHUTDOWN for 30 s; killed" + s.log_tail());
  }
  s.pid = -1;
}

void RedisServer::kill() {
  if (impl_->pid <= 0) return;
  detail::kill_and_reap(impl_->pid, true);
  impl_->pid = -1;
}

void RedisServer::start() {
  if (impl_->pid > 0) return;
  if (!impl_->try_start()) {
    throw std::runtime_error("redis-server could not bind its port " + std::to_string(impl_->port) +
                             " again" + impl_->log_tail());
  }
}

}  // namespace sluice::test
