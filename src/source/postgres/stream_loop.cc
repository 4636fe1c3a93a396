#include "source/postgres/stream_loop.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <map>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/change_counts.h"
#include "core/fan_out.h"
#include "core/retry.h"
#include "source/postgres/pg_position.h"
#include "source/postgres/pgoutput_decoder.h"
#include "source/postgres/relation_catalog.h"
#include "source/postgres/replication_messages.h"
#include "source/postgres/replication_stream.h"
#include "source/postgres/table_resync.h"
#include "source/postgres/transaction_assembler.h"
#include "source/postgres/pg_source_config.h"

namespace sluice::pg {

namespace {

constexpr auto kReadSlice = std::chrono::milliseconds(100);

// State of one streaming session plus everything that survives reconnects.
class Session {
 public:
  Session(const Config& config, FanOut& fan_out, std::atomic<bool>& finish, StopSignal& stop,
          Telemetry& telemetry, ResyncChannel& resync)
      : config_(config),
        settings_(pg::settings_of(config)),
        fan_out_(fan_out),
        finish_(finish),
        stop_(stop),
        telemetry_(telemetry),
        received_counts_(telemetry.metrics.changes_received, {}),
        transactions_(telemetry.metrics.transactions_received.series()),
        connected_(telemetry.metrics.source_connected.series()),
        slot_lag_(telemetry.metrics.slot_lag_bytes.series({settings_.slot})),
        wal_end_(telemetry.metrics.source_wal_end_lsn.series({settings_.slot})),
        confirmed_(telemetry.metrics.confirmed_flush_lsn.series({settings_.slot})),
        ignored_(telemetry.metrics.source_changes_ignored),
        resync_channel_(resync),
        resync_(settings_.slot, resync, telemetry),
        catalog_(settings_.dsn),
        captured_tables_(config.source.tables.begin(), config.source.tables.end()),
        assembler_([this](QueueItem item) { push(std::move(item)); }) {}

  void run() {
    Backoff backoff(config_.retry);
    while (!finish_.load() && !stop_.requested()) {
      try {
        if (!stream_) connect();
        pump(backoff);
      } catch (const StopRequested&) {
        break;
      } catch (const Error& e) {
        if (!e.retryable()) throw;
        // One line per outage, not per attempt; the position is kept (the slot
        // resumes at its confirmed flush; replays are dropped by position).
        stream_.reset();
        assembler_.reset_transaction();
        catalog_.reset_connection();
        captured_oids_resolved_ = false;
        resync_.on_disconnect();
        set(connected_, 0);
        telemetry_.health.source_disconnected(e.what());
        if (!outage_start_) {
          outage_start_ = std::chrono::steady_clock::now();
          spdlog::warn("PostgreSQL source (slot '{}'): {}; retrying with backoff", settings_.slot, e.what());
        }
        wait(backoff.next());
      }
    }
  }

  // Sends the final acknowledgement once the sinks have drained (best effort).
  void final_ack() {
    if (!stream_) return;
    try {
      send_status(false);
    } catch (const Error& e) {
      spdlog::warn("could not send the final acknowledgement to PostgreSQL: {}", e.what());
    }
  }

  // While the sink runners drain: keep the walsender satisfied.
  void keep_alive() {
    if (!stream_) return;
    try {
      if (std::chrono::steady_clock::now() - last_status_ >= settings_.status_interval) send_status(false);
    } catch (const Error&) {
      stream_.reset();
    }
  }

 private:
  void connect() {
    auto stream = std::make_unique<ReplicationStream>(settings_.dsn);
    // 0/0: the server starts at the slot's confirmed flush position.
    stream->start(settings_.slot, Lsn(), settings_.publication, 1, true);
    stream_ = std::move(stream);
    decoder_ = std::make_unique<PgOutputDecoder>(1);
    // Before any change: a captured table renamed later is then still known by its OID.
    resolve_captured_oids();
    // Ask for a keepalive at once: it tells us the connection really works and
    // where the server's WAL is.
    send_status(true);
    set(connected_, 1);
    telemetry_.health.source_connected();
    spdlog::info("streaming from slot '{}' (publication '{}')", settings_.slot, settings_.publication);
  }

  // Sleeps for `delay`, waking early for a finish or a stop.
  void wait(std::chrono::milliseconds delay) {
    auto deadline = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < deadline && !finish_.load()) {
      if (stop_.wait_for(std::chrono::milliseconds(100))) throw StopRequested{};
    }
  }

  void end_outage(Backoff& backoff) {
    if (!outage_start_) return;
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - *outage_start_).count();
    spdlog::info("PostgreSQL source (slot '{}'): recovered after {:.1f}s", settings_.slot, seconds);
    outage_start_.reset();
    backoff.reset();
  }

  void send_status(bool reply_requested) {
    const Position durable = fan_out_.durable();
    const Lsn ack = durable.empty() ? Lsn() : commit_lsn_of(durable);
    stream_->send_status(std::max(received_, ack), ack, ack, reply_requested);
    last_status_ = std::chrono::steady_clock::now();
    confirmed_lsn_ = ack;
    report_lag();
  }

  // The WAL the slot holds for sluice: what the server has written past the
  // position sluice last confirmed.
  void report_lag() {
    set(confirmed_, static_cast<double>(confirmed_lsn_.value()));
    if (wal_end_lsn_.value() == 0) return;
    set(wal_end_, static_cast<double>(wal_end_lsn_.value()));
    const uint64_t end = wal_end_lsn_.value(), confirmed = confirmed_lsn_.value();
    set(slot_lag_, end > confirmed ? static_cast<double>(end - confirmed) : 0.0);
  }

  void maybe_send_status() {
    if (std::chrono::steady_clock::now() - last_status_ >= settings_.status_interval) {
      // While no transaction is open, ask for a keepalive: its WAL end lets the
      // slot advance past WAL that no captured table wrote.
      send_status(!assembler_.in_transaction());
    }
  }

  void pump(Backoff& backoff) {
    while (!finish_.load() && !stop_.requested()) {
      maybe_send_status();
      auto data = stream_->read(kReadSlice);
      if (!data) continue;
      telemetry_.health.source_message();
      end_outage(backoff);
      auto message = parse_replication_message(*data);
      if (auto* keepalive = std::get_if<PrimaryKeepalive>(&message)) {
        wal_end_lsn_ = std::max(wal_end_lsn_, keepalive->wal_end);
        report_lag();
        if (!assembler_.in_transaction() && keepalive->wal_end > last_idle_) {
          last_idle_ = keepalive->wal_end;
          push(SourceIdle{pg::position(keepalive->wal_end)});
        }
        if (keepalive->reply_requested) send_status(false);
        continue;
      }
      auto& xlog = std::get<XLogData>(message);
      received_ = std::max(received_, xlog.wal_start);
      wal_end_lsn_ = std::max(wal_end_lsn_, xlog.wal_end);
      Message decoded = decoder_->decode(xlog.payload);
      if (auto failure = resync_channel_.failure()) throw Error::state(*failure);
      if (auto* begin = std::get_if<BeginMessage>(&decoded)) resync_.on_begin(begin->xid, begin->final_lsn);
      if (auto* logical = std::get_if<LogicalMessage>(&decoded)) {
        if (auto lsn = assembler_.open_commit_lsn(); lsn && logical->transactional) {
          resync_.on_message(
              *logical, *lsn,
              [this](const RelationPtr& relation, std::vector<Value> row) {
                assembler_.emit_backfill(relation, std::move(row));
              },
              [this](TableResync mark) { push(std::move(mark)); });
        }
        continue;
      }
      if (auto* relation = std::get_if<RelationMessage>(&decoded)) {
        if (place(*relation->relation) == Placement::kCaptured) {
          decoder_->replace_relation(catalog_.complete(*relation->relation));
        }
        continue;
      }
      assembler_.consume(decoded);
    }
  }

  // Where a relation PostgreSQL describes belongs. A publication prepared by the
  // DBA may publish more tables than sluice captures: their changes are numbered,
  // counted and left out. A relation that is (part of) a captured table under
  // another name is never left out: its changes stop the run (see placement_error).
  enum class Placement { kCaptured, kForeign };
  Placement place(const Relation& relation) {
    const std::string name = relation.qualified_name();
    const auto oid = static_cast<uint32_t>(relation.source_id);
    auto by_oid = captured_oids_.find(oid);
    if (by_oid != captured_oids_.end() && by_oid->second != name) {
      placement_errors_[oid] = fmt::format(
          "captured table {} (OID {}) is now called {}: PostgreSQL sends its changes under the new name; put {} in "
          "source.tables (and in the publication, if a DBA manages it), then start sluice again",
          by_oid->second, oid, name, name);
      return Placement::kForeign;
    }
    if (captured_tables_.count(name)) {
      captured_oids_[oid] = name;
      placement_errors_.erase(oid);
      return Placement::kCaptured;
    }
    // With publish_via_partition_root PostgreSQL describes the partition too,
    // then sends its changes under the root; without it, under the partition.
    if (auto root = partition_root(catalog_.connection(), oid); root && captured_tables_.count(root->qualified())) {
      placement_errors_[oid] = fmt::format(
          "PostgreSQL sent a change of {} (OID {}), a partition of captured table {}, under the partition's own "
          "name: publication '{}' does not publish via the partition root. Nothing was acknowledged past it. Run "
          "ALTER PUBLICATION {} SET (publish_via_partition_root = true); changes already logged keep the "
          "partition's name, so then start with `sluice run --resnapshot` (a new slot and a fresh copy)",
          name, oid, root->qualified(), settings_.publication, settings_.publication);
    } else {
      placement_errors_.erase(oid);
    }
    return Placement::kForeign;
  }

  // The OIDs of the listed tables as they are now, once per connection.
  void resolve_captured_oids() {
    if (captured_oids_resolved_) return;
    for (const auto& table : config_.source.tables) {
      auto info = describe_table(catalog_.connection(), table);
      if (info.exists) captured_oids_[info.oid] = info.qualified_name();
    }
    captured_oids_resolved_ = true;
  }

  // Whether a change is routed; throws for one of a captured table that
  // PostgreSQL sent under a name sluice cannot place (invariant 1: never skipped).
  bool captured(const Change& change) {
    const Relation& relation = *change.relation;
    const auto oid = static_cast<uint32_t>(relation.source_id);
    if (captured_tables_.count(relation.qualified_name()) && !placement_errors_.count(oid)) return true;
    if (auto error = placement_errors_.find(oid); error != placement_errors_.end()) {
      throw Error::state(error->second);
    }
    add(ignored_.series({relation.qualified_name()}), 1);
    return false;
  }

  // Hands an item to every sink's queue, in order. While a queue is full the
  // source keeps acknowledging on time (and notices a stop).
  void push(QueueItem item) {
    if (auto* end = std::get_if<TransactionEnd>(&item)) {
      last_idle_ = std::max(last_idle_, commit_lsn_of(end->end));
      add(transactions_, 1);
    }
    if (auto* change = std::get_if<ChangePtr>(&item)) {
      if (!captured(**change)) return;
      received_counts_.count(**change);
      resync_.on_change(**change);
    }
    fan_out_.push(item, [this] { maybe_send_status(); });
  }

  const Config& config_;
  const PostgresSourceSettings& settings_;  // config_'s, looked up once (not per message)
  FanOut& fan_out_;
  std::atomic<bool>& finish_;
  StopSignal& stop_;
  Telemetry& telemetry_;
  ChangeCounts received_counts_;
  std::atomic<double>& transactions_;
  std::atomic<double>& connected_;
  std::atomic<double>& slot_lag_;
  std::atomic<double>& wal_end_;
  std::atomic<double>& confirmed_;
  Lsn wal_end_lsn_;    // the server's WAL end, as it last told
  Lsn confirmed_lsn_;  // what the last status update confirmed
  MetricFamily& ignored_;
  ResyncChannel& resync_channel_;
  ResyncTracker resync_;
  RelationCatalog catalog_;
  std::set<std::string> captured_tables_;  // "schema.table" of source.tables
  std::map<uint32_t, std::string> captured_oids_;     // OID -> listed name
  bool captured_oids_resolved_ = false;
  std::map<uint32_t, std::string> placement_errors_;  // OID -> why its changes stop the run
  TransactionAssembler assembler_;
  std::unique_ptr<ReplicationStream> stream_;
  std::unique_ptr<PgOutputDecoder> decoder_;
  Lsn received_;
  Lsn last_idle_;
  std::chrono::steady_clock::time_point last_status_;
  std::optional<std::chrono::steady_clock::time_point> outage_start_;
};

}  // namespace

StreamLoop::StreamLoop(const Config& config, std::vector<SinkRunner*> runners, std::atomic<bool>& finish,
                       StopSignal& stop, Telemetry& telemetry, std::map<std::string, std::string> known_shapes)
    : config_(config),
      runners_(std::move(runners)),
      finish_(finish),
      stop_(stop),
      telemetry_(telemetry),
      known_shapes_(std::move(known_shapes)) {}

void StreamLoop::run() {
  ResyncChannel resync;
  FanOut fan_out(runners_, stop_);
  Session session(config_, fan_out, finish_, stop_, telemetry_, resync);
  std::optional<ResyncWorker> worker;
  worker.emplace(config_, resync, telemetry_, known_shapes_);
  std::exception_ptr failure;
  try {
    session.run();
  } catch (...) {
    failure = std::current_exception();
  }
  // Let every sink apply what it holds, acknowledging on time meanwhile.
  fan_out.drain([&session] { session.keep_alive(); });
  worker.reset();  // no more marks
  session.final_ack();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace sluice::pg
