// SphinxServer: searchd --nodetach as our child, in a temp directory, on
// 127.0.0.1 (sphinx_server.h). Readiness is checked with Connector/C directly,
// not with the sink's own SphinxqlConnection, so a bug there cannot hide here.
#include "harness/sphinx_server.h"

#include <mysql.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "harness/process_util.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

std::string find_searchd() {
  if (const char* path = std::getenv("SLUICE_SEARCHD"); path != nullptr && *path != '\0') return path;
  std::string found = detail::find_program("searchd");
  if (found.empty()) {
    throw std::runtime_error("searchd not found on PATH (scripts/install-deps.sh installs sphinxsearch)");
  }
  return found;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Whether SphinxQL answers SHOW TABLES on the port (fresh connection, 2 s timeouts).
bool answers(int port) {
  MYSQL* m = mysql_init(nullptr);
  if (m == nullptr) return false;
  const unsigned timeout = 2;
  const unsigned protocol = MYSQL_PROTOCOL_TCP;
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
  mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol);
  bool ok = false;
  if (mysql_real_connect(m, "127.0.0.1", nullptr, nullptr, nullptr, static_cast<unsigned>(port), nullptr, 0) !=
          nullptr &&
      mysql_query(m, "SHOW TABLES") == 0) {
    if (MYSQL_RES* r = mysql_store_result(m)) {
      mysql_free_result(r);
      ok = true;
    }
  }
  mysql_close(m);
  return ok;
}

}  // namespace

struct SphinxServer::Impl {
  std::string program;
  std::string dir;
  std::string config;
  std::string log;      // searchd's log file
  std::string console;  // its stdout/stderr
  std::vector<std::string> blocks;
  int port = 0;
  pid_t pid = -1;

  ~Impl() {
    if (pid > 0) detail::kill_and_reap(pid, true);
    detail::report_log_if_failed("searchd log", log);
    detail::report_log_if_failed("searchd console", console);
    detail::remove_tree(dir);
  }

  std::string log_tail() const {
    return "\n----- " + console + " (last lines) -----\n" + detail::tail_of_file(console) + "----- " + log +
           " (last lines) -----\n" + detail::tail_of_file(log) + "----- end -----";
  }

  void write_config() const {
    std::string conf = "# written by the sluice test harness (tests/harness/sphinx_server.cc)\n";
    for (const std::string& b : blocks) conf += replace_all(b, "{dir}", dir) + "\n";
    conf += "searchd\n{\n";
    conf += "\tlisten = 127.0.0.1:" + std::to_string(port) + ":mysql41\n";
    conf += "\tworkers = threads\n";
    conf += "\twatchdog = 0\n";
    conf += "\tbinlog_path = " + dir + "\n";
    conf += "\tbinlog_flush = 2\n";
    conf += "\tpid_file = " + dir + "/searchd.pid\n";
    conf += "\tlog = " + log + "\n";
    conf += "\tquery_log = " + dir + "/query.log\n";
    conf += "}\n";
    detail::write_file(config, conf, false);
  }

  // Starts and waits for SphinxQL (up to 30 s). Returns false when the port was
  // taken by someone else.
  bool try_start() {
    write_config();
    detail::SpawnOptions o;
    o.program = program;
    o.args = {"--config", config, "--nodetach"};
    o.cwd = dir;
    o.output_path = console;
    o.new_process_group = true;  // ^C on the test runner is for the runner
    const size_t console_before = detail::read_file(console).size();
    pid = detail::spawn(o);

    auto this_start = [&] {
      std::string out = detail::read_file(console);
      out.erase(0, std::min(console_before, out.size()));
      return out;
    };
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!answers(port)) {
      // searchd retries a taken port for a while before giving up: stop early.
      if (this_start().find("bind() failed") != std::string::npos) {
        detail::kill_and_reap(pid, true);
        pid = -1;
        return false;
      }
      if (auto code = detail::try_reap(pid)) {
        pid = -1;
        throw std::runtime_error("searchd exited with " + std::to_string(*code) + " on start (port " +
                                 std::to_string(port) + ")" + log_tail());
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        detail::kill_and_reap(pid, true);
        pid = -1;
        throw std::runtime_error("searchd did not answer SphinxQL within 30 s" + log_tail());
      }
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }
};

SphinxServer::SphinxServer(const std::vector<std::string>& index_blocks) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.program = find_searchd();
  s.dir = detail::make_temp_dir("sluice-sphinx-");
  s.config = s.dir + "/sphinx.conf";
  s.log = s.dir + "/searchd.log";
  s.console = s.dir + "/console.log";
  s.blocks = index_blocks;
  if (s.blocks.empty()) {
    s.blocks.push_back("index sluice_default\n{\n\ttype = rt\n\tpath = {dir}/sluice_default\n\trt_field = title\n\trt_attr_uint = n\n}\n");
  }
  for (int attempt = 0;; ++attempt) {
    s.port = detail::pick_free_port();
    if (s.try_start()) break;
    if (attempt == 4) throw std::runtime_error("searchd: no usable port" + s.log_tail());
  }
}

SphinxServer::~SphinxServer() = default;  // Impl::~Impl kills and removes

int SphinxServer::port() const { return impl_->port; }

std::string SphinxServer::url() const { return "mysql://127.0.0.1:" + std::to_string(impl_->port); }

std::string SphinxServer::dir() const { return impl_->dir; }

std::string SphinxServer::config_path() const { return impl_->config; }

std::string SphinxServer::log_path() const { return impl_->log; }

std::string SphinxServer::console_path() const { return impl_->console; }

void SphinxServer::stop() {
  Impl& s = *impl_;
  if (s.pid <= 0) return;
  ::kill(s.pid, SIGTERM);
  if (!detail::wait_exit(s.pid, 30s)) {
    detail::kill_and_reap(s.pid, true);
    s.pid = -1;
    throw std::runtime_error("searchd ignored SIGTERM for 30 s; killed" + s.log_tail());
  }
  s.pid = -1;
}

void SphinxServer::kill() {
  if (impl_->pid <= 0) return;
  detail::kill_and_reap(impl_->pid, true);
  impl_->pid = -1;
}

void SphinxServer::start() {
  if (impl_->pid > 0) return;
  if (!impl_->try_start()) {
    throw std::runtime_error("searchd could not bind its port " + std::to_string(impl_->port) + " again" +
                             impl_->log_tail());
  }
}

}  // namespace sluice::test
