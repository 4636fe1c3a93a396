// pgbench as the fault suite's write load: its schema (`pgbench -i`) and a
// TPC-B-like load that keeps running in the background across faults.
//
// Each TPC-B transaction updates one row of pgbench_accounts, pgbench_tellers
// and pgbench_branches (the captured tables) and inserts one row into
// pgbench_history (not captured). pgbench_history therefore counts the
// transactions that really committed, including those whose client never heard
// the commit because PostgreSQL crashed: committed_transactions() reads it.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "harness/servers.h"

namespace sluice::test {

// $SLUICE_PG_BINDIR/pgbench, else pgbench of the newest /usr/lib/postgresql/<v>/bin
// (where the harness finds the server). Throws std::runtime_error if there is none.
std::string pgbench_path();

// `pgbench -i -s <scale>` (client-side data generation, no vacuum) as user app
// over TCP. Throws std::runtime_error with pgbench's output on failure.
void pgbench_init(int pg_port, int scale);

// "number of transactions actually processed: N" of pgbench's summary, or -1.
long parse_processed_transactions(const std::string& output);

// Rows of pgbench_history: the TPC-B transactions committed so far.
long committed_transactions(PgClient& db);

// A background thread keeping a TPC-B load of `rate` transactions per second
// (`pgbench -c <clients> -j 2 -R <rate> -T <left> -n`) on the server for
// `duration`. Normally that is one pgbench run; a run that fails early
// (PostgreSQL crashed or is down) is followed by a new one for the time left,
// so the load resumes by itself once the server is back.
// Thread safety: every member may be called from any thread.
// Lifetime: the destructor cancels the load (see cancel()).
class PgbenchLoad {
 public:
  struct Options {
    int clients = 4;
    int rate = 300;                   // transactions per second, all clients together
    std::chrono::seconds duration{20};
  };
  PgbenchLoad(int pg_port, Options options);
  ~PgbenchLoad();
  PgbenchLoad(const PgbenchLoad&) = delete;
  PgbenchLoad& operator=(const PgbenchLoad&) = delete;

  // Waits until the load has run for its whole duration.
  void wait();
  // Ends the load now: a run in progress is killed (pgbench then reports
  // nothing for it; pgbench_history still counts what it committed).
  void cancel();
  bool done() const { return done_.load(); }

  // Transactions pgbench reported as processed, summed over its runs.
  long reported_transactions() const { return reported_.load(); }
  int runs() const { return runs_.load(); }
  // Runs that ended with a non-zero exit (aborted clients, no server).
  int failed_runs() const { return failed_runs_.load(); }
  // The output of the last failed run (for diagnostics).
  std::string last_failure() const;

 private:
  void loop();

  int port_;
  Options options_;
  std::string program_;
  std::chrono::steady_clock::time_point deadline_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> done_{false};
  std::atomic<long> reported_{0};
  std::atomic<int> runs_{0};
  std::atomic<int> failed_runs_{0};
  mutable std::mutex mu_;
  std::string last_failure_;
  std::mutex join_mu_;  // wait() from two threads joins once
  std::thread thread_;
};

}  // namespace sluice::test
