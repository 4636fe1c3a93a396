#include "core/metrics.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace sluice {

namespace {

// A label value in the exposition format: backslash, double quote and newline escaped.
void append_label_value(std::string& out, const std::string& value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
    out += buffer;
  } else {
    char buffer[32];  // the shortest text that reads back as the same double
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
    out.append(buffer, end);
  }
}

}  // namespace

MetricFamily::MetricFamily(std::string name, std::string help, Type type, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {}

std::atomic<double>& MetricFamily::series(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) {
    throw Error::internal("metric " + name_ + ": " + std::to_string(label_values.size()) + " label values for " +
                          std::to_string(label_names_.size()) + " labels");
  }
  std::lock_guard lock(mutex_);
  auto [it, added] = index_.try_emplace(label_values, nullptr);
  if (added) it->second = &values_.emplace_back(0.0);
  return *it->second;
}

void MetricFamily::render(std::string& out) const {
  out += "# HELP " + name_ + " " + help_ + "\n";
  out += "# TYPE " + name_ + (type_ == Type::kCounter ? " counter\n" : " gauge\n");
  std::lock_guard lock(mutex_);
  for (const auto& [labels, value] : index_) {
    out += name_;
    if (!labels.empty()) {
      out += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i) out += ',';
        out += label_names_[i] + "=\"";
        append_label_value(out, labels[i]);
        out += '"';
      }
      out += '}';
    }
    out += ' ';
    append_number(out, value->load(std::memory_order_relaxed));
    out += '\n';
  }
}

namespace {
using T = MetricFamily::Type;
}  // namespace

Metrics::Metrics()
    : changes_received("sluice_changes_received_total", "Row changes decoded from the replication stream.",
                       T::kCounter, {"table", "op"}),
      transactions_received("sluice_transactions_received_total",
                            "Committed transactions received (heartbeats included).", T::kCounter, {}),
      source_connected("sluice_source_connected", "1 while the replication stream is connected.", T::kGauge, {}),
      slot_lag_bytes("sluice_slot_lag_bytes",
                     "The server's WAL end minus the position sluice has confirmed to the slot (WAL the slot holds).",
                     T::kGauge, {"slot"}),
      source_wal_end_lsn("sluice_source_wal_end_lsn", "The server's WAL end as last reported, as a number.",
                         T::kGauge, {"slot"}),
      confirmed_flush_lsn("sluice_confirmed_flush_lsn", "The position sluice last confirmed to the slot, as a number.",
                          T::kGauge, {"slot"}),
      source_changes_ignored("sluice_source_changes_ignored_total",
                             "Changes of tables the publication sends but sluice does not capture, left out.",
                             T::kCounter, {"table"}),
      heartbeats_sent("sluice_heartbeats_sent_total", "Heartbeat messages written with pg_logical_emit_message.",
                      T::kCounter, {}),
      heartbeat_errors("sluice_heartbeat_errors_total", "Heartbeats that could not be written.", T::kCounter, {}),
      changes_applied("sluice_changes_applied_total", "Row changes applied to a sink (snapshot rows included).",
                      T::kCounter, {"sink", "table", "op"}),
      changes_skipped("sluice_changes_skipped_total",
                      "Changes a sink skipped because the key already held a newer version.", T::kCounter, {"sink"}),
      batches_applied("sluice_batches_applied_total", "Batches a sink applied.", T::kCounter, {"sink"}),
      sink_errors("sluice_sink_errors_total",
                  "Failed writes to a sink: kind=\"transient\" (retried), \"reset\" (the store came back empty) or "
                  "\"fatal\" (the run stops).",
                  T::kCounter, {"sink", "kind"}),
      sink_retries("sluice_sink_retries_total", "Writes to a sink tried again after a transient error.", T::kCounter,
                   {"sink"}),
      queue_bytes("sluice_queue_bytes", "Bytes of changes queued for a sink.", T::kGauge, {"sink"}),
      replication_lag_seconds("sluice_replication_lag_seconds",
                              "Commit in PostgreSQL to applied in the sink, for the last applied transaction.",
                              T::kGauge, {"sink"}),
      last_applied_lsn("sluice_last_applied_lsn",
                       "The LSN up to which the sink has applied everything, as a number.",
                       T::kGauge, {"sink"}),
      last_applied_commit_time("sluice_last_applied_commit_timestamp_seconds",
                               "Commit time of the last transaction the sink applied, Unix seconds; "
                               "time() minus this grows while the sink is stuck.",
                               T::kGauge, {"sink"}),
      last_write_time("sluice_sink_last_success_timestamp_seconds",
                      "When the sink last completed a write, Unix seconds.", T::kGauge, {"sink"}),
      dead_letters("sluice_dead_letters_total", "Changes a sink rejected and recorded in its dead-letter stream.",
                   T::kCounter, {"sink"}),
      snapshot_rows_done("sluice_snapshot_rows_done", "Rows the initial snapshot has copied.", T::kGauge, {"table"}),
      snapshot_rows_total("sluice_snapshot_rows_total",
                          "Rows the initial snapshot expects to copy (the planner's estimate).", T::kGauge,
                          {"table"}),
      snapshot_running("sluice_snapshot_running", "1 while the initial snapshot copies.", T::kGauge, {}),
      resync_rows("sluice_resync_rows_total", "Rows a table re-sync read again and emitted into the stream.",
                  T::kCounter, {"table"}),
      resync_running("sluice_resync_running", "1 while a re-sync pass over the table runs.", T::kGauge, {"table"}),
      resync_passes("sluice_resync_passes_total", "Table re-sync passes finished.", T::kCounter, {"table"}),
      start_time("sluice_start_time_seconds", "When this process started, Unix seconds.", T::kGauge, {}),
      build_info("sluice_build_info", "Always 1; the label says which sluice this is.", T::kGauge, {"version"}),
      all_{&changes_received, &transactions_received, &source_connected, &slot_lag_bytes, &source_wal_end_lsn,
           &confirmed_flush_lsn, &source_changes_ignored, &heartbeats_sent, &heartbeat_errors, &changes_applied, &changes_skipped,
           &batches_applied, &sink_errors, &sink_retries, &queue_bytes, &replication_lag_seconds,
           &last_applied_lsn, &last_applied_commit_time, &last_write_time, &dead_letters, &snapshot_rows_done,
           &snapshot_rows_total, &snapshot_running, &resync_rows, &resync_running, &resync_passes, &start_time, &build_info} {
  set(start_time.series(),
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  set(build_info.series({SLUICE_VERSION}), 1);
  set(source_connected.series(), 0);
  set(snapshot_running.series(), 0);
}

std::string Metrics::render() const {
  std::string out;
  for (const MetricFamily* family : all_) family->render(out);
  return out;
}

}  // namespace sluice
