// Test harness: a real Sphinx 2.2 searchd (the `sphinxsearch` package) on
// loopback, for the search-index sink's tests. Kept apart from servers.h: it is
// the only server that needs an index layout from the test.
//
// The server lives in a fresh temporary directory under /tmp with its own
// sphinx.conf: `listen = 127.0.0.1:PORT:mysql41` (SphinxQL only, no API port),
// `workers = threads`, binlog in the directory with `binlog_flush = 2` (with 1,
// Sphinx 2.2 lost every RT document on kill -9: STORE-NOTES.md), no watchdog,
// and the RT index blocks the test gives. It runs in the foreground
// (`searchd --config F --nodetach`) as our child, in its own process group, as
// the current user (searchd does not refuse root). The binary is
// $SLUICE_SEARCHD, else `searchd` on PATH.
// The destructor never throws: it kills searchd and removes the directory; if
// the current gtest test failed it first prints the tail of searchd's log and
// of its console output.
//
// Not thread-safe: one object is used from one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace sluice::test {

class SphinxServer {
 public:
  // `index_blocks`: complete `index NAME { ... }` blocks for sphinx.conf, in
  // which every "{dir}" is replaced by dir() (so `path = {dir}/NAME`). searchd
  // needs at least one index (and an RT index needs an rt_field and an
  // attribute): with none, `sluice_default` (rt_field title, rt_attr_uint n) is
  // declared. Starts searchd on a free port and waits (up to 30 s) until
  // SphinxQL answers; throws std::runtime_error, with the log tail, if it does
  // not.
  explicit SphinxServer(const std::vector<std::string>& index_blocks = {});
  ~SphinxServer();
  SphinxServer(const SphinxServer&) = delete;
  SphinxServer& operator=(const SphinxServer&) = delete;

  int port() const;
  std::string url() const;  // "mysql://127.0.0.1:N"

  // stop(), kill() and start() do nothing when already in that state.
  void stop();   // SIGTERM (searchd saves its RAM chunks) and wait up to 30 s
  void kill();   // SIGKILL: only the binlog keeps what was committed
  void start();  // same port, directory and config; the binlog is replayed

  std::string dir() const;
  std::string config_path() const;
  std::string log_path() const;      // searchd's `log` file
  std::string console_path() const;  // its stdout and stderr

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::test
