// Watches the per-row versions a sink keeps and counts every entry seen going
// backwards: the README's "per key, the store never goes backwards" checked
// from outside, continuously, while faults are injected.
//
// Every ~50 ms a thread reads every watched entry through a Reader (meant for
// small tables: pgbench_tellers and pgbench_branches) and compares each entry's
// version (a fixed-width Position::encode() string whose byte order is the
// change order, core/position.h) with the highest version it saw for that
// entry; each step backwards is counted once. Entries that disappear are
// ignored. The store being down or restarting is expected: a Reader that throws
// is counted as a failed read and called again on the next round (it should
// reconnect then).
//
// Two readers exist: redis_index_reader() (the Redis sink's index hashes, read
// with HGETALL; versions are the first 25 bytes of "<version> <redis key>") and
// the search fault cases' own (each document's _sluice_version).
//
// Thread safety: every member may be called from any thread.
// Lifetime: the destructor stops the thread; it never throws.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>


namespace sluice::test {

class RegressionWatcher {
 public:
  struct Entry {
    std::string key;      // what the version belongs to, unique across the reader's entries
    std::string version;  // Position::encode()
  };
  // Called from the watcher's thread only; throws when the store cannot be read.
  using Reader = std::function<std::vector<Entry>()>;

  explicit RegressionWatcher(Reader reader);
  // The Redis sink's index hashes, e.g. "sluice:cache:index:public.pgbench_tellers".
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
  void sample();

  Reader reader_;
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
  std::map<std::string, Seen> seen_;  // by Entry::key

  std::vector<std::string> examples_;
  std::thread thread_;
};

// Reads the Redis sink's index hashes `index_keys` on a connection of its own,
// opened again after a failed read.
RegressionWatcher::Reader redis_index_reader(int redis_port, std::vector<std::string> index_keys);

}  // namespace sluice::test
