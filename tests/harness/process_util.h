// Internal helpers of the test harness (not for tests): child processes, the
// unprivileged user PostgreSQL runs as, temporary directories, free ports, files.
//
// Everything here is safe to call from a multi-threaded test process: the forked
// child only makes async-signal-safe calls (all strings are prepared before fork).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace sluice::test::detail {

// A user a child process runs as.
struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

// Who PostgreSQL runs as (initdb and postgres refuse to run as root):
// nullopt when we are not root (run as ourselves); as root the "postgres" system
// user if it exists, else "sluice-test", created with useradd on first use.
std::optional<Identity> postgres_identity();

struct SpawnOptions {
  std::string program;                     // absolute path, run with execve
  std::vector<std::string> args;           // argv[1..]; argv[0] is `program`
  std::vector<std::string> env;            // "NAME=value": added to, or replacing, ours
  std::vector<std::string> drop_env_prefixes;  // inherited variables to leave out
  std::optional<Identity> user;            // switch to this user (needs root)
  std::string cwd;                         // empty: inherit ours
  std::string output_path;                 // stdout+stderr appended here; empty: /dev/null
  bool new_process_group = false;          // setpgid(0, 0): signals to us don't reach it
};

// Forks and execs. Throws std::runtime_error if fork fails; if exec fails the
// child writes the reason to the output and exits with 127.
pid_t spawn(const SpawnOptions& options);

// Exit code of a waitpid status: the code, or 128+signal when killed.
int decode_wait_status(int status);
// Reaps `pid` if it has exited (never blocks); nullopt while it runs.
std::optional<int> try_reap(pid_t pid);
// Waits up to `timeout` for `pid` to exit and reaps it; nullopt on timeout.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout);
// SIGKILLs `pid` (and its process group when `group`) and reaps it. Never throws.
void kill_and_reap(pid_t pid, bool group) noexcept;

struct RunResult {
  int code = -1;       // exit code, 128+signal, or -1 on timeout (the child is killed)
  std::string output;  // stdout+stderr
};
// Runs to completion with output captured (options.output_path is ignored).
RunResult run(SpawnOptions options, std::chrono::seconds timeout);

// `name` if it contains a '/', else its first match on $PATH (then /usr/sbin,
// /sbin, /usr/bin); empty if not found.
std::string find_program(const std::string& name);

// mkdtemp("/tmp/<prefix>XXXXXX"), mode 0700. /tmp (1777) is traversable by
// every user, so a directory chown'ed to the PostgreSQL user works for it.
std::string make_temp_dir(const std::string& prefix);
// rm -rf; never throws.
void remove_tree(const std::string& path) noexcept;

// A free TCP port on 127.0.0.1, different from every port this process was
// handed before. Chosen below the kernel's ephemeral range when possible, so that
// no client socket (not even a loopback self-connect of a client retrying while
// the server is down) can take it between a server's stop() and start().
int pick_free_port();

std::string read_file(const std::string& path);  // "" if unreadable
// The last `max_bytes` of a file, starting at a line boundary.
std::string tail_of_file(const std::string& path, std::size_t max_bytes = 4096);
void write_file(const std::string& path, const std::string& content, bool append);

// When the running gtest test has failed, prints the tail of a log to stderr
// (the temp directory holding it is about to be removed). Never throws.
void report_log_if_failed(const std::string& what, const std::string& path) noexcept;

}  // namespace sluice::test::detail
