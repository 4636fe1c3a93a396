#include "faults/pgbench_load.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <stdexcept>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kEnv = {"PGPASSWORD=app-secret", "PGCONNECT_TIMEOUT=5"};

std::vector<std::string> connection_args(int port) {
  return {"-h", "127.0.0.1", "-p", std::to_string(port), "-U", "app"};
}

}  // namespace

std::string pgbench_path() {
  if (const char* dir = std::getenv("SLUICE_PG_BINDIR"); dir != nullptr && *dir != '\0') {
    std::string path = std::string(dir) + "/pgbench";
    if (access(path.c_str(), X_OK) != 0) throw std::runtime_error("SLUICE_PG_BINDIR=" + std::string(dir) + " has no pgbench");
    return path;
  }
  int best = -1;
  std::string found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::string path = entry.path().string() + "/bin/pgbench";
    if (access(path.c_str(), X_OK) != 0) continue;
    if (int major = std::stoi(name); major > best) {
      best = major;
      found = path;
    }
  }
  if (found.empty()) throw std::runtime_error("no pgbench: set SLUICE_PG_BINDIR or install postgresql-contrib");
  return found;
}

void pgbench_init(int pg_port, int scale) {
  std::vector<std::string> args = {"-i", "-s", std::to_string(scale), "-n", "-q"};
  auto connection = connection_args(pg_port);
  args.insert(args.end(), connection.begin(), connection.end());
  args.push_back("app");
  SluiceProcess init(SluiceProcess::Program{pgbench_path()}, args, kEnv);
  auto code = init.wait(std::chrono::milliseconds(120s));
  if (!code || *code != 0) {
    throw std::runtime_error("pgbench -i failed (" + (code ? std::to_string(*code) : std::string("timeout")) +
                             "):\n" + init.output());
  }
}

long parse_processed_transactions(const std::string& output) {
  static const std::regex processed(R"(number of transactions actually processed: (\d+))");
  std::smatch m;
  if (!std::regex_search(output, m, processed)) return -1;
  return std::stol(m[1].str());
}

long committed_transactions(PgClient& db) { return std::stol(db.scalar("SELECT count(*) FROM pgbench_history")); }

PgbenchLoad::PgbenchLoad(int pg_port, Options options)
    : port_(pg_port),
      options_(options),
      program_(pgbench_path()),
      deadline_(std::chrono::steady_clock::now() + options.duration) {
  thread_ = std::thread([this] { loop(); });
}

PgbenchLoad::~PgbenchLoad() { cancel(); }

void PgbenchLoad::wait() {
  std::lock_guard lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void PgbenchLoad::cancel() {
  cancelled_ = true;
  wait();
}

std::string PgbenchLoad::last_failure() const {
  std::lock_guard lock(mu_);
  return last_failure_;
}

void PgbenchLoad::loop() {
  while (!cancelled_) {
    auto now = std::chrono::steady_clock::now();
    auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline_ - now);
    if (left < 1s) break;
    std::vector<std::string> args = {"-c", std::to_string(options_.clients), "-j", "2",
                                     "-R", std::to_string(options_.rate), "-T", std::to_string(left.count()), "-n"};
    auto connection = connection_args(port_);
    args.insert(args.end(), connection.begin(), connection.end());
    args.push_back("app");
    try {
      SluiceProcess run(SluiceProcess::Program{program_}, args, kEnv);
      ++runs_;
      // -T bounds a healthy run; one stuck on a dead server is killed.
      auto hard_deadline = now + left + 30s;
      std::optional<int> code;
      while (!(code = run.wait(100ms)) && !cancelled_ && std::chrono::steady_clock::now() < hard_deadline) {
      }
      if (!code) {
        run.kill9();
        code = run.wait(10s);
        if (cancelled_) break;
      }
      std::string output = run.output();
      if (long processed = parse_processed_transactions(output); processed > 0) reported_ += processed;
      if (!code || *code != 0) {
        ++failed_runs_;
        std::lock_guard lock(mu_);
        last_failure_ = output;
      }
    } catch (const std::exception& e) {
      ++failed_runs_;
      std::lock_guard lock(mu_);
      last_failure_ = e.what();
    }
    // A run that failed at once (no server): don't spin while it is down.
    if (std::chrono::steady_clock::now() - now < 500ms) std::this_thread::sleep_for(200ms);
  }
  done_ = true;
}

}  // namespace sluice::test
