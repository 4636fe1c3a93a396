#include "harness/process_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace sluice::test::detail {
namespace {

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

std::optional<Identity> lookup_user(const std::string& name) {
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return Identity{pw.pw_uid, pw.pw_gid, name};
}

// NAME of "NAME=value".
std::string env_name(const std::string& entry) { return entry.substr(0, entry.find('=')); }

std::vector<std::string> build_env(const SpawnOptions& o) {
  std::set<std::string> replaced;
  for (const auto& e : o.env) replaced.insert(env_name(e));
  std::vector<std::string> out;
  for (char** p = environ; p != nullptr && *p != nullptr; ++p) {
    std::string entry(*p);
    std::string name = env_name(entry);
    if (replaced.count(name) != 0) continue;
    bool dropped = std::any_of(o.drop_env_prefixes.begin(), o.drop_env_prefixes.end(),
                               [&](const std::string& prefix) { return name.rfind(prefix, 0) == 0; });
    if (!dropped) out.push_back(std::move(entry));
  }
  out.insert(out.end(), o.env.begin(), o.env.end());
  return out;
}

[[noreturn]] void fail(const char* msg, const char* detail) {
  ssize_t ignored = write(2, msg, strlen(msg));
  ignored = write(2, detail, strlen(detail));
  ignored = write(2, "\n", 1);
  (void)ignored;
  _exit(127);
}

// Only async-signal-safe calls from here to execve (we may have been forked from
// a multi-threaded process).
[[noreturn]] void exec_child(const SpawnOptions& o, char* const* argv, char* const* envp,
                             const char* out_path) {
  if (o.new_process_group) setpgid(0, 0);

  // Signal state is inherited through exec: give the child a clean one.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl{};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
    sigaction(sig, &dfl, nullptr);
  }

  int in = open("/dev/null", O_RDONLY);
  int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in < 0 || out < 0) _exit(126);
  dup2(in, 0);
  dup2(out, 1);
  dup2(out, 2);
  // Don't leak our sockets and files into servers that outlive the call.
  if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
    for (int fd = 3; fd < 65536; ++fd) close(fd);
  }

  if (o.user) {
    gid_t gid = o.user->gid;
    if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(o.user->uid) != 0) {
      fail("harness: could not switch to user ", o.user->name.c_str());
    }
  }
  if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) fail("harness: could not chdir to ", o.cwd.c_str());
  execve(argv[0], argv, envp);
  fail("harness: execve failed for ", argv[0]);
}

}  // namespace

std::optional<Identity> postgres_identity() {
  if (geteuid() != 0) return std::nullopt;
  if (auto pg = lookup_user("postgres")) return pg;
  if (auto own = lookup_user("sluice-test")) return own;
  std::string useradd = find_program("useradd");
  if (useradd.empty()) throw std::runtime_error("no 'postgres' user and no useradd to create 'sluice-test'");
  SpawnOptions o;
  o.program = useradd;
  o.args = {"--system", "--no-create-home", "--home-dir", "/nonexistent",
            "--shell", "/usr/sbin/nologin", "--user-group", "sluice-test"};
  RunResult r = run(std::move(o), std::chrono::seconds(60));
  // Another test process may have created it at the same time: look again.
  if (auto own = lookup_user("sluice-test")) return own;
  throw std::runtime_error("useradd sluice-test failed (" + std::to_string(r.code) + "): " + r.output);
}

pid_t spawn(const SpawnOptions& options) {
  if (options.program.empty() || options.program[0] != '/') {
    throw std::runtime_error("spawn: program must be an absolute path: '" + options.program + "'");
  }
  std::vector<std::string> args;
  args.push_back(options.program);
  args.insert(args.end(), options.args.begin(), options.args.end());
  std::vector<std::string> env = build_env(options);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string out_path = options.output_path.empty() ? "/dev/null" : options.output_path;

  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(errno_text("fork"));
  if (pid == 0) exec_child(options, argv.data(), envp.data(), out_path.c_str());
  // Set the group from the parent too, so it is in place before we signal it.
  if (options.new_process_group) setpgid(pid, pid);
  return pid;
}

int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::optional<int> try_reap(pid_t pid) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) return decode_wait_status(status);
  if (r < 0) return -1;  // not our child (already reaped): report it as gone
  return std::nullopt;
}

std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    if (auto code = try_reap(pid)) return code;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

void kill_and_reap(pid_t pid, bool group) noexcept {
  if (pid <= 0) return;
  if (group) ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  if (!wait_exit(pid, std::chrono::seconds(30))) {
    std::cerr << "harness: pid " << pid << " survived SIGKILL for 30 s\n";
  }
}

RunResult run(SpawnOptions options, std::chrono::seconds timeout) {
  char path[] = "/tmp/sluice-run-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error(errno_text("mkstemp"));
  close(fd);
  options.output_path = path;
  RunResult result;
  try {
    pid_t pid = spawn(options);
    if (auto code = wait_exit(pid, timeout)) {
      result.code = *code;
    } else {
      kill_and_reap(pid, options.new_process_group);
      result.code = -1;
    }
  } catch (...) {
    unlink(path);
    throw;
  }
  result.output = read_file(path);
  unlink(path);
  if (result.code == -1) result.output += "\n[harness: killed after " + std::to_string(timeout.count()) + " s]";
  return result;
}

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::string dirs = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  dirs += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::stringstream ss(dirs);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string make_temp_dir(const std::string& prefix) {
  std::string templ = "/tmp/" + prefix + "XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error(errno_text("mkdtemp " + templ));
  return templ;
}

void remove_tree(const std::string& path) noexcept {
  if (path.empty() || path == "/") return;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) std::cerr << "harness: could not remove " << path << ": " << ec.message() << "\n";
}

int pick_free_port() {
  static std::mutex mu;
  static std::set<int> handed_out;
  std::lock_guard lock(mu);

  auto bindable = [](int port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    int one = 1;
    // Servers set SO_REUSEADDR too: a TIME_WAIT leftover doesn't stop them.
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    int got = -1;
    if (bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      socklen_t len = sizeof addr;
      if (getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) == 0) got = ntohs(addr.sin_port);
    }
    close(s);
    return got;
  };

  int ephemeral_low = 32768;
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  range >> ephemeral_low;
  if (!range) ephemeral_low = 32768;
  constexpr int kLowest = 12000;
  if (ephemeral_low - kLowest >= 1000) {
    static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(getpid()));
    std::uniform_int_distribution<int> dist(kLowest, ephemeral_low - 1);
    for (int attempt = 0; attempt < 500; ++attempt) {
      int port = dist(rng);
      if (handed_out.count(port) == 0 && bindable(port) == port) {
        handed_out.insert(port);
        return port;
      }
    }
  }
  // Fallback: let the kernel choose (from the ephemeral range).
  for (int attempt = 0; attempt < 100; ++attempt) {
    int port = bindable(0);
    if (port > 0 && handed_out.insert(port).second) return port;
  }
  throw std::runtime_error("no free port on 127.0.0.1");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail_of_file(const std::string& path, std::size_t max_bytes) {
  std::string all = read_file(path);
  if (all.size() <= max_bytes) return all;
  std::string tail = all.substr(all.size() - max_bytes);
  auto nl = tail.find('\n');
  if (nl != std::string::npos && nl + 1 < tail.size()) tail = tail.substr(nl + 1);
  return "[...]\n" + tail;
}

void write_file(const std::string& path, const std::string& content, bool append) {
  std::ofstream out(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  out << content;
  out.close();
  if (!out) throw std::runtime_error("could not write " + path);
}

void report_log_if_failed(const std::string& what, const std::string& path) noexcept {
  try {
    if (!::testing::Test::HasFailure()) return;
    std::cerr << "----- " << what << " (" << path << "), last lines -----\n"
              << tail_of_file(path, 8192) << "\n----- end of " << what << " -----\n";
  } catch (...) {
  }
}

}  // namespace sluice::test::detail
