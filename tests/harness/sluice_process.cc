// SluiceProcess (a child process with captured output), run_sluice, eventually,
// TempDir.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "harness/process_util.h"
#include "harness/servers.h"

namespace sluice::test {

SluiceProcess::SluiceProcess(const std::vector<std::string>& args, const std::vector<std::string>& env)
    : SluiceProcess(Program{SLUICE_BINARY}, args, env) {}

SluiceProcess::SluiceProcess(const Program& program, const std::vector<std::string>& args,
                             const std::vector<std::string>& env) {
  char path[] = "/tmp/sluice-proc-XXXXXX.log";
  int fd = mkstemps(path, 4);
  if (fd < 0) throw std::runtime_error("mkstemps for the process log failed");
  close(fd);
  log_path_ = path;
  detail::SpawnOptions o;
  o.program = detail::find_program(program.path);
  o.args = args;
  o.env = env;
  o.output_path = log_path_;
  // Its own process group: kill9() takes anything it started along with it.
  o.new_process_group = true;
  try {
    pid_ = detail::spawn(o);
  } catch (...) {
    unlink(log_path_.c_str());
    throw;
  }
}

SluiceProcess::~SluiceProcess() {
  if (pid_ > 0 && !exit_code_) detail::kill_and_reap(pid_, true);
  detail::report_log_if_failed("output of pid " + std::to_string(pid_), log_path_);
  unlink(log_path_.c_str());
}

int SluiceProcess::pid() const { return pid_; }

bool SluiceProcess::running() {
  if (exit_code_) return false;
  exit_code_ = detail::try_reap(pid_);
  return !exit_code_;
}

void SluiceProcess::kill9() {
  if (!running()) return;
  // Not reaped yet, so pid_ (and its group id) can't have been reused.
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
}

void SluiceProcess::terminate() {
  if (running()) ::kill(pid_, SIGTERM);
}

std::optional<int> SluiceProcess::wait(std::chrono::milliseconds timeout) {
  if (!exit_code_) exit_code_ = detail::wait_exit(pid_, timeout);
  return exit_code_;
}

std::string SluiceProcess::output() const { return detail::read_file(log_path_); }

const std::string& SluiceProcess::log_path() const { return log_path_; }

std::pair<int, std::string> run_sluice(const std::vector<std::string>& args,
                                       const std::vector<std::string>& env, std::chrono::seconds timeout) {
  SluiceProcess p(args, env);
  auto code = p.wait(timeout);
  if (!code) {
    p.kill9();
    p.wait(std::chrono::seconds(10));
    throw std::runtime_error("sluice did not exit within " + std::to_string(timeout.count()) +
                             " s; output:\n" + p.output());
  }
  return {*code, p.output()};
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TempDir::TempDir() : path_(detail::make_temp_dir("sluice-test-")) {}

TempDir::~TempDir() { detail::remove_tree(path_); }

std::string TempDir::write_file(const std::string& name, const std::string& content) const {
  std::string path = path_ + "/" + name;
  detail::write_file(path, content, false);
  return path;
}

}  // namespace sluice::test
