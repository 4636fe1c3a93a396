// Watches the per-row versions a Redis sink keeps in its index and counts every
// entry seen going backwards: the README's "per key, the cache never goes
// backwards" checked from outside, continuously, while faults are injected.
//
// Every ~50 ms a thread reads whole index hashes (HGETALL; meant for small tables:
// pgbench_tellers and pgbench_branches) and compares each entry's version (the
// first 25 bytes of "<version> <redis key>", a fixed-width string whose byte
// order is the change order, core/position.h) with the highest version it saw
// for that row; each step backwards is counted once. Entries that disappear are ignored. Redis being down or
// restarting is expected: a failed read is counted and retried on a fresh
// connection.
//
// Thread safety: every member may be called from any thread.
// Lifetime: the destructor stops the thread; it never throws.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness/servers.h"

namespace sluice::test {

class RegressionWatcher {
 public:
  // `index_keys`: the index hashes to watch, e.g. "sluice:cache:index:public.pgbench_tellers".
  RegressionWatcher(int redis_port, std::vector<std::string> index_keys);
  ~RegressionWatcher();
  RegressionWatcher(const RegressionWatcher&) = delete;
  RegressionWatcher& operator=(const RegressionWatcher&) = delete;

  long regressions() const { return regressions_.load(); }
  long samples() const { return samples_.load(); }         // successful rounds
  long failed_reads() const { return failed_reads_.load(); }
  long entries_compared() const { return compared_.load(); }
  // "<index> <identity>: <before> -> <after>" for the first regressions seen.
  std::vector<std::string> examples() const;

 private:
  void loop();
  void sample(RedisClient& redis);

  int port_;
  std::vector<std::string> index_keys_;
  std::atomic<bool> stopping_{false};
  std::atomic<long> regressions_{0};
  std::atomic<long> samples_{0};
  std::atomic<long> failed_reads_{0};
  std::atomic<long> compared_{0};
  mutable std::mutex mu_;
  struct Seen {
    std::string highest;  // the highest version seen
    std::string last;     // the version of the last sample
  };
  std::map<std::string, Seen> seen_;  // index key + '\n' + identity

  std::vector<std::string> examples_;
  std::thread thread_;
};

}  // namespace sluice::test
