// Table re-sync while streaming: a watermark backfill (DBLog, Netflix 2019,
// https://arxiv.org/abs/2010.12597) for the changes PostgreSQL logs no row for:
// ADD COLUMN with a default, DROP / RENAME / retype of a column, ATTACH and
// DETACH PARTITION, TRUNCATE or DROP of one partition (publish_via_partition_root
// sends neither), and for `sluice resync --table T`.
//
// A pass over table T, by the ResyncWorker on its own connection and thread:
//   begin(pass, T)                     pg_logical_emit_message(true, 'sluice.resync', ...)
//   for each primary-key chunk:
//     low(attempt)                     a logical message: a transaction of its own
//     BEGIN REPEATABLE READ; pg_current_snapshot(); SELECT the chunk; COMMIT
//     offer the rows (and the snapshot's in-progress xids) to the source thread
//     high(attempt)
//   end(pass, T, shape)
// The source thread (ResyncTracker) sees the marks in commit order. Between low
// and high it notes the primary key of every streamed change of T; at high it
// drops those rows from the chunk (the stream carries something newer of them)
// and emits the others inside high's transaction, as backfill Inserts at high's
// position. A row not changed between low and high is, at the read, what it is at
// high, so the copy is exact and no key goes backwards: every later change of it
// is newer. One race remains: a transaction whose commit record precedes low but
// that was still in progress for the read's snapshot (the commit record is
// written before the transaction becomes visible). The tracker keeps the xids of
// the latest commits; if one of them is in the read's in-progress list the chunk
// is thrown away and read again.
// At end it queues TableResync::kFinish (core/change_queue.h): each sink then
// removes the rows of T older than begin (rows that left the table without a
// logged change) and stores T's new shape. kStart goes out at begin, so a crash
// mid-pass leaves a shape that differs and the next start re-syncs T again.
//
// Marks name the slot and a pass and attempt number of this process; marks of
// another process or an earlier run (replayed after a reconnect) are ignored.
// A reconnect aborts the chunk in flight; the worker reads it again.
//
// Thread-safety: ResyncChannel is shared; ResyncTracker belongs to the source
// thread; ResyncWorker runs its own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/change_queue.h"
#include "core/stop_signal.h"
#include "core/telemetry.h"
#include "source/postgres/catalog.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/pgoutput_decoder.h"

namespace sluice::pg {

inline constexpr const char* kResyncPrefix = "sluice.resync";
inline constexpr const char* kResyncRequestPrefix = "sluice.resync-request";

// The content of a mark: tab-separated "slot pass kind attempt table shape".
struct Watermark {
  enum class Kind { kBegin, kLow, kHigh, kEnd };
  std::string slot;
  uint64_t pass = 0;
  Kind kind = Kind::kBegin;
  uint64_t attempt = 0;  // low, high
  std::string table;     // begin, end
  std::string shape;     // end
  bool operator==(const Watermark&) const = default;
};
std::string format_watermark(const Watermark& mark);
// nullopt for text that is not a mark (never throws: it is another writer's message).
std::optional<Watermark> parse_watermark(std::string_view content);

// `sluice resync` asks for a table with "slot<TAB>schema.table".
std::string format_resync_request(const std::string& slot, const std::string& table);
std::optional<std::pair<std::string, std::string>> parse_resync_request(std::string_view content);

// The shape of a table that decides whether its documents must be re-synced:
// columns (name, type, modifier), primary key and, for a partitioned table, each
// leaf partition with its relfilenode (TRUNCATE of one partition changes it).
// A short stable fingerprint; "" when the table does not exist.
std::string table_shape(PgConnection& conn, const std::string& table);

// One chunk read between low and high.
struct ResyncChunk {
  RelationPtr relation;
  std::vector<std::vector<Value>> rows;
  std::vector<uint32_t> in_progress;  // xids in progress for the read's snapshot
};

class ResyncChannel {
 public:
  // Asks for a pass over `table` (any thread). A table already waiting is not
  // queued twice; one being copied is started again (its shape changed).
  void request(const std::string& table);
  // Worker: the next table to re-sync, waiting up to `timeout`.
  std::optional<std::string> next_request(std::chrono::milliseconds timeout);
  // Worker: whether `table` was asked for again since its pass started; if
  // so, that request is taken (the caller starts the pass again).
  bool asked_again(const std::string& table);

  // Worker, before it writes the mark with this pass or attempt number: marks
  // with numbers never expected (another run's, replayed) are ignored.
  void expect(uint64_t number);
  bool expected(uint64_t number) const;

  enum class Outcome { kPending, kEmitted, kAborted };
  void offer(uint64_t attempt, ResyncChunk chunk);
  // Worker: waits up to `timeout` for the source thread to settle `attempt`.
  Outcome wait(uint64_t attempt, std::chrono::milliseconds timeout);

  // Source thread.
  std::optional<ResyncChunk> take(uint64_t attempt);
  void settle(uint64_t attempt, Outcome outcome);
  void abort_pending();  // the stream reconnected: chunks in flight are read again

  // The worker failed for good: the source thread stops the run with this.
  void fail(std::string message);
  std::optional<std::string> failure() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> requests_;
  std::set<std::string> asked_again_;
  std::set<uint64_t> expected_;
  std::map<uint64_t, ResyncChunk> offered_;
  std::map<uint64_t, Outcome> outcomes_;
  std::optional<std::string> failure_;
};

// The source thread's side: sees every transaction, change and mark in order.
class ResyncTracker {
 public:
  using EmitRow = std::function<void(const RelationPtr&, std::vector<Value>)>;
  using PushMark = std::function<void(TableResync)>;

  ResyncTracker(std::string slot, ResyncChannel& channel, Telemetry& telemetry);

  void on_begin(uint32_t xid, Lsn final_lsn);
  void on_change(const Change& change);
  // A logical message inside the transaction that commits at `final_lsn`.
  // Returns false when it is none of sluice's marks or requests.
  bool on_message(const LogicalMessage& message, Lsn final_lsn, const EmitRow& emit, const PushMark& mark);
  void on_disconnect();

 private:
  struct Window {
    std::string table;
    Lsn low;
    std::set<std::string> changed;  // primary keys streamed since low
    bool truncated = false;
  };
  struct Pass {
    std::string table;
    Position since;
    std::chrono::steady_clock::time_point started;
    uint64_t rows = 0;
  };
  // Emits the chunk's rows; returns how many.
  uint64_t on_high(uint64_t attempt, const EmitRow& emit);

  std::string slot_;
  ResyncChannel& channel_;
  Telemetry& telemetry_;
  std::map<uint64_t, Window> windows_;  // open chunks, by attempt
  std::map<uint64_t, Pass> passes_;     // by pass
  // Recent commits (xid, commit LSN), for the visibility race (file comment).
  std::vector<std::pair<uint32_t, Lsn>> recent_commits_;
  size_t next_commit_ = 0;
};

// Polls the captured tables' shapes (source.schema_check_interval_ms) and runs
// the passes the channel asks for, one table at a time.
class ResyncWorker {
 public:
  // `known`: each table's shape as the sinks hold it ("" unknown: re-sync it).
  ResyncWorker(const Config& config, ResyncChannel& channel, Telemetry& telemetry,
               std::map<std::string, std::string> known);
  ~ResyncWorker();  // stops and joins; never throws
  ResyncWorker(const ResyncWorker&) = delete;
  ResyncWorker& operator=(const ResyncWorker&) = delete;

 private:
  void run();
  void check_shapes(PgConnection& conn);
  // One pass over `table`; returns false when it must start again.
  bool copy_table(PgConnection& conn, const std::string& table, uint64_t pass);
  void emit(PgConnection& conn, const Watermark& mark);

  const Config& config_;
  ResyncChannel& channel_;
  Telemetry& telemetry_;
  std::map<std::string, std::string> known_;
  StopSignal stop_;
  uint64_t next_number_;  // random high half: numbers never repeat across runs
  std::thread thread_;
};

}  // namespace sluice::pg
