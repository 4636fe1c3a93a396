// The process's metrics, rendered in the Prometheus text exposition format
// (version 0.0.4) for GET /metrics (app/metrics_server.h). docs/operations.md
// lists every series.
//
// A Family is one metric name with fixed label names; series() returns the
// series for one set of label values, created at 0 on first use. The returned
// reference stays valid as long as the Family does, so a hot path looks a
// series up once and then only adds to it (one relaxed atomic operation).
// Everything here is thread-safe: writers are the source, sink and snapshot
// threads; the reader is the HTTP server's thread.
//
// Values are doubles: Prometheus' own type. Counters stay exact up to 2^53.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sluice {

class MetricFamily {
 public:
  enum class Type { kCounter, kGauge };
  MetricFamily(std::string name, std::string help, Type type, std::vector<std::string> label_names);

  // The series for `label_values` (one per label name, in order). Throws
  // Error::internal on a count mismatch.
  std::atomic<double>& series(const std::vector<std::string>& label_values);
  // The series when the family has no labels.
  std::atomic<double>& series() { return series({}); }

  // Appends "# HELP", "# TYPE" and one line per series, sorted by labels.
  void render(std::string& out) const;
  const std::string& name() const { return name_; }

 private:
  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::vector<std::string> label_names_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::atomic<double>*> index_;  // label values -> series
  std::deque<std::atomic<double>> values_;  // (a deque: references stay valid as it grows)
};

// Adds to a counter or gauge series (relaxed: metrics order nothing).
inline void add(std::atomic<double>& series, double amount) {
  series.fetch_add(amount, std::memory_order_relaxed);
}
inline void set(std::atomic<double>& series, double value) { series.store(value, std::memory_order_relaxed); }

// Every metric sluice exports. One instance per process, owned by the run and
// shared by reference; components that run without one (tests, `check`) get
// their own instance nobody reads.
struct Metrics {
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Source (labels: table, op).
  MetricFamily changes_received;
  MetricFamily transactions_received;
  MetricFamily source_connected;       // 1 while the replication stream is up
  MetricFamily slot_lag_bytes;         // server WAL end - confirmed flush
  MetricFamily source_wal_end_lsn;     // the server's WAL end, as last reported
  MetricFamily confirmed_flush_lsn;    // what sluice acknowledged to the slot
  MetricFamily source_changes_ignored;  // label table: published, not captured
  MetricFamily heartbeats_sent;
  MetricFamily heartbeat_errors;
  // Sinks (label: sink; changes also table, op).
  MetricFamily changes_applied;
  MetricFamily changes_skipped;        // older than the key's stored version
  MetricFamily batches_applied;
  MetricFamily sink_errors;            // label kind: "transient" (retried) or "fatal"
  MetricFamily sink_retries;
  MetricFamily queue_bytes;
  MetricFamily replication_lag_seconds;       // applied time - commit time, last transaction
  MetricFamily last_applied_lsn;              // commit LSN of the last applied change
  MetricFamily last_applied_commit_time;      // its commit time, Unix seconds
  MetricFamily last_write_time;               // last successful write to the store, Unix seconds
  MetricFamily dead_letters;
  // Snapshot (label: table).
  MetricFamily snapshot_rows_done;
  MetricFamily snapshot_rows_total;    // the planner's estimate (pg_class.reltuples)
  MetricFamily snapshot_running;       // 1 while the initial snapshot copies
  // Table re-sync (label: table).
  MetricFamily resync_rows;            // rows read again and emitted into the stream
  MetricFamily resync_running;         // 1 while a pass over the table runs
  MetricFamily resync_passes;          // passes finished
  // Process.
  MetricFamily start_time;
  MetricFamily build_info;             // labels: version

  // The whole exposition, every family in declaration order.
  std::string render() const;

 private:
  std::vector<const MetricFamily*> all_;
};

}  // namespace sluice
