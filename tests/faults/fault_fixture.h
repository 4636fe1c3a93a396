// The fixture of the fault suite (issue 3): per test, one PostgreSQL and one
// Redis with AOF (a Stack, kit/stack.h: started when the fixture is made,
// stopped when it goes, after TearDown()), the pgbench schema at scale 1, a sluice config capturing
// pgbench_accounts, pgbench_branches and pgbench_tellers into the Redis upsert
// sink "cache", and a RegressionWatcher on the index of the two small tables.
//
// The sink applies at most kBatchMaxChanges changes per batch (the default is
// 5000): batches grow when the sink falls behind (after an outage, during a
// backlog), and smaller ones keep kills and cuts landing between and during
// applies of a backlog rather than only before the first one.
//
// A case injects faults while PgbenchLoad writes, measures recoveries, then
// calls finish_case(): the load ends, sluice must catch up to the WAL, `sluice
// verify` must find no drift (run after the load: the end state), the
// watcher no regression, and the case's figures are printed as a FAULT-REPORT
// line (fault_report.h).
//
// The cases, one file each: sluice_kill_test (1), redis_outage_test (2),
// postgres_crash_test (3), connection_cut_test (4), sink_reset_under_load_test
// (5), lost_slot_test (6), poison_under_load_test (7), standby_takeover_test (8),
// schema_and_partition_fault_test (9, 10), search_faults_test (11: a search sink
// beside the cache, its recoveries measured by overriding sink_checkpoint_lsn()).
//
// Helpers that poll the servers survive the servers going away: they reconnect
// and report "not yet" instead of throwing, so they can be used across faults.
// Not thread-safe: used from the test's thread (the load and the watcher run on
// their own threads, with their own connections).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "faults/fault_report.h"
#include "faults/pgbench_load.h"
#include "faults/regression_watcher.h"
#include "harness/servers.h"
#include "kit/stack.h"
#include "kit/toml_writer.h"

namespace sluice::test {

using Clock = std::chrono::steady_clock;

// Seconds from `since` to now.
double seconds_since(Clock::time_point since);
// "16/B374D848" (pg_lsn text) -> 0x16B374D848. Throws std::invalid_argument.
uint64_t parse_lsn(const std::string& text);

class FaultTest : public ::testing::Test {
 private:
  // Before `stack`: a case's duration counts its servers' start.
  Clock::time_point case_start_ = Clock::now();

 protected:
  static constexpr const char* kSlot = "sluice_cache";
  static constexpr const char* kCheckpointKey = "sluice:cache:checkpoint";
  static constexpr const char* kDeadLetterKey = "sluice:cache:dead_letter";
  static constexpr int kBatchMaxChanges = 500;

  // `servers`: the Redis with AOF of every case, plus searchd for a case that
  // has a search sink.
  explicit FaultTest(const Stack::Options& servers = {.redis = Stack::Redis::kAppendOnly,
                                                      .search_index_blocks = std::nullopt});

  // Loads the pgbench schema and starts the watcher.
  void SetUp() override;
  // Emits the report of a case that did not finish; stops the load, the
  // watchers and the connections (the servers go with the fixture).
  void TearDown() override;

  // ---- sluice ----
  // The config (capturing `captured_tables` into the Redis sink "cache", the
  // writer left in that sink), for a case to add to (another sink, say). The dsn
  // and the url point at the servers, or at `pg_port` / `redis_port` when given
  // (a TcpProxy in front of them). `sink_extra` (key lines) goes inside
  // [[sinks]], `source_extra` inside [source]. Sets report.setup.
  TomlWriter config_toml(const std::string& sink_extra = "", int pg_port = 0, int redis_port = 0,
                         const std::string& source_extra = "");
  // Writes config_toml(...) to `file_name` in the test's directory and returns its path.
  std::string write_config(const std::string& sink_extra = "", int pg_port = 0, int redis_port = 0,
                           const std::string& source_extra = "", const std::string& file_name = "sluice.toml");
  // Writes `toml` to `file_name` in the test's directory and returns its path.
  std::string write_config(const TomlWriter& toml, const std::string& file_name = "sluice.toml");
  std::unique_ptr<SluiceProcess> start_sluice(const std::string& config, const std::vector<std::string>& extra_args = {});
  // How many times `text` occurs in the process's output so far.
  static std::size_t occurrences(const SluiceProcess& process, const std::string& text);
  // Waits until `text` occurs at least `count` times in the output (failing
  // early if the process exits). These three: kit/sluice_output.h.
  ::testing::AssertionResult wait_for_output(SluiceProcess& process, const std::string& text, std::size_t count = 1,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // "streaming from slot" (after the initial snapshot on a first start).
  ::testing::AssertionResult wait_streaming(SluiceProcess& process, std::size_t count = 1,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(120));

  // Seconds from `since` to the timestamp of the `nth` line of the process's
  // output containing `text` (sluice prefixes each line with its wall-clock time,
  // to the millisecond); nullopt when there is no such line yet.
  static std::optional<double> seconds_to_line(const SluiceProcess& process, const std::string& text,
                                               std::chrono::system_clock::time_point since, std::size_t nth = 1);

  // ---- load ----
  // Starts pgbench for `seconds` (default rate: 300 TPC-B transactions/s).
  void start_load(int seconds, int rate = 300);
  // Waits until the load has run its course; adds its figures to the report.
  void wait_load();
  // Ends the load now (when a case must stop writing before its time).
  void cancel_load();

  // ---- positions (nullopt while a server is unreachable) ----
  std::optional<uint64_t> wal_lsn();              // pg_current_wal_lsn()
  std::optional<uint64_t> slot_confirmed_lsn();   // confirmed_flush_lsn of kSlot
  // Commit LSN of the checkpoint position of the sink the case measures: the
  // Redis sink's here; a fixture with another sink under test overrides it.
  virtual std::optional<uint64_t> sink_checkpoint_lsn();
  // Seconds from `since` until the sink's checkpoint reaches `target` (every
  // change committed before `target` is in Redis), or nullopt after `timeout`
  // or when `process` (if given) exits.
  std::optional<double> time_until_sink_reaches(uint64_t target, Clock::time_point since,
                                                SluiceProcess* process = nullptr,
                                                std::chrono::milliseconds timeout = std::chrono::seconds(120));
  // The slot's confirmed_flush_lsn reaches the WAL position read now.
  ::testing::AssertionResult wait_caught_up(std::chrono::milliseconds timeout = std::chrono::seconds(120));

  // ---- outages of the store under test ----
  // Now (the store just came back) -> the sink's checkpoint reaches the WAL
  // position read now; adds the seconds to report.recovery_s.
  void measure_recovery(SluiceProcess& sluice, std::chrono::seconds timeout = std::chrono::seconds(120));
  // The store (`store`, for the message) stays away for `down`; sluice must keep
  // running all along.
  void stay_down(SluiceProcess& sluice, std::chrono::seconds down, const std::string& store);
  // One long outage while the load writes a backlog: `stop`, `down` of it,
  // `start`, then the recovery measured and the WAL written meanwhile noted.
  void ride_out_long_outage(SluiceProcess& sluice, const std::function<void()>& stop,
                            const std::function<void()>& start, std::chrono::seconds down, const std::string& store);

  // ---- SQL and Redis that survive outages ----
  std::optional<std::string> try_scalar(const std::string& sql);  // nullopt: server unreachable
  PgClient& db();         // (re)connected; throws if PostgreSQL is down
  RedisClient& cache();   // (re)connected; throws if Redis is down
  void forget_connections();  // after a restart: reconnect on next use

  // ---- verification ----
  // Sums the figures of every sink's line ("sink 'NAME' ...: N rows checked, ...").
  struct VerifyResult {
    int code = -1;
    std::string output;
    long checked = 0, missing = 0, different = 0, extra = 0;
    bool no_drift_line = false;
  };
  VerifyResult run_verify(const std::string& config, bool repair = false);
  // `sluice verify` exits 0 and reports "no drift"; records its figures.
  ::testing::AssertionResult verify_no_drift(const std::string& config);

  // Waits for the end of the load, then until sluice has caught up, verifies,
  // checks the watcher and emits the report. Call at the end of every case,
  // with sluice running. A case that fails before it emits its report
  // "completed": false from TearDown (unless emit_report is false).
  void finish_case(const std::string& config);

  Stack stack;
  // The stack's, by their old names.
  PostgresServer* const pg = &stack.pg();
  RedisServer* const redis = &stack.redis();
  std::vector<std::string>& env = stack.env;  // APP_PG_PASSWORD=...
  std::unique_ptr<PgbenchLoad> load;
  std::unique_ptr<RegressionWatcher> watcher;        // the Redis sink's index
  std::unique_ptr<RegressionWatcher> extra_watcher;  // a second sink's versions, when a case has one
  FaultReport report;
  long manual_changes = 0;
  int batch_max_changes = kBatchMaxChanges;  // in the config written next; 0: sluice's default
  std::vector<std::string> captured_tables = {"public.pgbench_accounts", "public.pgbench_branches",
                                              "public.pgbench_tellers"};  // in the config written next
  bool emit_report = true;                   // false for tests that are not fault cases  // captured changes a case made itself, besides pgbench's

 private:
  std::unique_ptr<PgClient> db_;
  std::unique_ptr<RedisClient> cache_;
  bool report_emitted_ = false;
};

}  // namespace sluice::test
