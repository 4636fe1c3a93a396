#include "source/postgres/table_resync.h"

#include <algorithm>
#include <charconv>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/retry.h"
#include "source/postgres/pg_position.h"
#include "source/postgres/relation_catalog.h"
#include "source/postgres/snapshot_reader.h"
#include "source/postgres/pg_source_config.h"

namespace sluice::pg {

namespace {

constexpr size_t kRecentCommits = 65536;

std::vector<std::string_view> split_tabs(std::string_view text) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto tab = text.find('\t');
    parts.push_back(text.substr(0, tab));
    if (tab == std::string_view::npos) return parts;
    text.remove_prefix(tab + 1);
  }
}

std::optional<uint64_t> to_u64(std::string_view text) {
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

const char* kind_name(Watermark::Kind kind) {
  switch (kind) {
    case Watermark::Kind::kBegin: return "begin";
    case Watermark::Kind::kLow: return "low";
    case Watermark::Kind::kHigh: return "high";
    case Watermark::Kind::kEnd: return "end";
  }
  return "?";
}

// FNV-1a, 64 bits: stable across builds and machines (std::hash is not).
std::string fingerprint(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return fmt::format("v1-{:016x}", hash);
}

// The primary key of a row as one string (length-prefixed values), from the
// relation's primary-key columns; nullopt when a key value is not known.
std::optional<std::string> key_of(const Relation& relation, const std::vector<Value>& values) {
  if (relation.primary_key.empty() || values.size() != relation.columns.size()) return std::nullopt;
  std::string key;
  for (int index : relation.primary_key) {
    const Value& value = values[static_cast<size_t>(index)];
    if (!value.is_text()) return std::nullopt;
    key += std::to_string(value.text.size());
    key += ':';
    key += value.text;
  }
  return key;
}

}  // namespace

std::string format_watermark(const Watermark& mark) {
  return fmt::format("{}\t{}\t{}\t{}\t{}\t{}", mark.slot, mark.pass, kind_name(mark.kind), mark.attempt, mark.table,
                     mark.shape);
}

std::optional<Watermark> parse_watermark(std::string_view content) {
  auto parts = split_tabs(content);
  if (parts.size() != 6) return std::nullopt;
  Watermark mark;
  mark.slot = std::string(parts[0]);
  auto pass = to_u64(parts[1]);
  auto attempt = to_u64(parts[3]);
  if (!pass || !attempt) return std::nullopt;
  mark.pass = *pass;
  mark.attempt = *attempt;
  if (parts[2] == "begin") mark.kind = Watermark::Kind::kBegin;
  else if (parts[2] == "low") mark.kind = Watermark::Kind::kLow;
  else if (parts[2] == "high") mark.kind = Watermark::Kind::kHigh;
  else if (parts[2] == "end") mark.kind = Watermark::Kind::kEnd;
  else return std::nullopt;
  mark.table = std::string(parts[4]);
  mark.shape = std::string(parts[5]);
  return mark;
}

std::string format_resync_request(const std::string& slot, const std::string& table) { return slot + "\t" + table; }

std::optional<std::pair<std::string, std::string>> parse_resync_request(std::string_view content) {
  auto parts = split_tabs(content);
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) return std::nullopt;
  return std::make_pair(std::string(parts[0]), std::string(parts[1]));
}

std::string table_shape(PgConnection& conn, const std::string& table) {
  TableInfo info = describe_table(conn, table);
  if (!info.exists) return "";
  std::string text = fmt::format("kind {}\n", info.kind);
  for (const auto& column : info.columns) {
    text += fmt::format("column {} {} {}\n", column.name, column.type_oid, column.type_modifier);
  }
  text += fmt::format("key {}\n", fmt::join(info.primary_key, ","));
  if (info.kind == 'p') {
    for (const auto& partition : leaf_partitions(conn, info.oid)) {
      text += fmt::format("partition {} {}\n", partition.oid, partition.relfilenode);
    }
  }
  return fingerprint(text);
}

// ---- ResyncChannel ----------------------------------------------------------

void ResyncChannel::request(const std::string& table) {
  std::lock_guard lock(mutex_);
  if (std::find(requests_.begin(), requests_.end(), table) == requests_.end()) requests_.push_back(table);
  asked_again_.insert(table);
  changed_.notify_all();
}

std::optional<std::string> ResyncChannel::next_request(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return !requests_.empty(); });
  if (requests_.empty()) return std::nullopt;
  std::string table = std::move(requests_.front());
  requests_.pop_front();
  asked_again_.erase(table);
  return table;
}

bool ResyncChannel::asked_again(const std::string& table) {
  std::lock_guard lock(mutex_);
  if (!asked_again_.erase(table)) return false;
  // The pass starts again now: that is the request.
  requests_.erase(std::remove(requests_.begin(), requests_.end(), table), requests_.end());
  return true;
}

void ResyncChannel::expect(uint64_t number) {
  std::lock_guard lock(mutex_);
  expected_.insert(number);
}

bool ResyncChannel::expected(uint64_t number) const {
  std::lock_guard lock(mutex_);
  return expected_.count(number) > 0;
}

void ResyncChannel::offer(uint64_t attempt, ResyncChunk chunk) {
  std::lock_guard lock(mutex_);
  offered_[attempt] = std::move(chunk);
  outcomes_[attempt] = Outcome::kPending;
}

ResyncChannel::Outcome ResyncChannel::wait(uint64_t attempt, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return outcomes_[attempt] != Outcome::kPending; });
  Outcome outcome = outcomes_[attempt];
  if (outcome != Outcome::kPending) {
    outcomes_.erase(attempt);
    expected_.erase(attempt);
  }
  return outcome;
}

std::optional<ResyncChunk> ResyncChannel::take(uint64_t attempt) {
  std::lock_guard lock(mutex_);
  auto it = offered_.find(attempt);
  if (it == offered_.end()) return std::nullopt;
  ResyncChunk chunk = std::move(it->second);
  offered_.erase(it);
  return chunk;
}

void ResyncChannel::settle(uint64_t attempt, Outcome outcome) {
  std::lock_guard lock(mutex_);
  offered_.erase(attempt);
  outcomes_[attempt] = outcome;
  changed_.notify_all();
}

void ResyncChannel::abort_pending() {
  std::lock_guard lock(mutex_);
  for (auto& [attempt, outcome] : outcomes_) {
    if (outcome == Outcome::kPending) outcome = Outcome::kAborted;
  }
  offered_.clear();
  changed_.notify_all();
}

void ResyncChannel::fail(std::string message) {
  std::lock_guard lock(mutex_);
  if (!failure_) failure_ = std::move(message);
}

std::optional<std::string> ResyncChannel::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

// ---- ResyncTracker ----------------------------------------------------------

ResyncTracker::ResyncTracker(std::string slot, ResyncChannel& channel, Telemetry& telemetry)
    : slot_(std::move(slot)), channel_(channel), telemetry_(telemetry) {}

void ResyncTracker::on_begin(uint32_t xid, Lsn final_lsn) {
  if (recent_commits_.size() < kRecentCommits) {
    recent_commits_.emplace_back(xid, final_lsn);
  } else {
    recent_commits_[next_commit_] = {xid, final_lsn};
    next_commit_ = (next_commit_ + 1) % kRecentCommits;
  }
}

void ResyncTracker::on_change(const Change& change) {
  if (windows_.empty() || change.backfill) return;
  const std::string table = change.relation->qualified_name();
  for (auto& [attempt, window] : windows_) {
    if (window.table != table) continue;
    if (change.op == Op::kTruncate) {
      window.truncated = true;
      continue;
    }
    auto new_key = key_of(*change.relation, change.new_values);
    auto old_key = key_of(*change.relation, change.old_values);
    if (!new_key && !old_key) window.truncated = true;  // cannot tell which row: read the chunk again
    if (new_key) window.changed.insert(*new_key);
    if (old_key) window.changed.insert(*old_key);
  }
}

bool ResyncTracker::on_message(const LogicalMessage& message, Lsn final_lsn, const EmitRow& emit,
                               const PushMark& mark) {
  if (message.prefix == kResyncRequestPrefix) {
    auto request = parse_resync_request(message.content);
    if (!request || request->first != slot_) return true;
    spdlog::info("re-sync of {} requested (at {})", request->second, final_lsn.str());
    mark(TableResync{TableResync::Phase::kStart, request->second, {}, {}});
    channel_.request(request->second);
    return true;
  }
  if (message.prefix != kResyncPrefix) return false;
  auto watermark = parse_watermark(message.content);
  if (!watermark || watermark->slot != slot_ || !channel_.expected(watermark->pass)) return true;
  switch (watermark->kind) {
    case Watermark::Kind::kBegin:
      if (!passes_.count(watermark->pass)) {
        passes_[watermark->pass] = Pass{watermark->table, pg::position(final_lsn), std::chrono::steady_clock::now(), 0};
        mark(TableResync{TableResync::Phase::kStart, watermark->table, {}, {}});
        set(telemetry_.metrics.resync_running.series({watermark->table}), 1);
      }
      break;
    case Watermark::Kind::kLow:
      if (channel_.expected(watermark->attempt) && passes_.count(watermark->pass)) {
        windows_[watermark->attempt] = Window{passes_[watermark->pass].table, final_lsn, {}, false};
      }
      break;
    case Watermark::Kind::kHigh:
      if (auto pass = passes_.find(watermark->pass); pass != passes_.end()) {
        pass->second.rows += on_high(watermark->attempt, emit);
      }
      break;
    case Watermark::Kind::kEnd:
      if (auto pass = passes_.find(watermark->pass); pass != passes_.end()) {
        mark(TableResync{TableResync::Phase::kFinish, pass->second.table, pass->second.since, watermark->shape});
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - pass->second.started).count();
        spdlog::info("re-sync of {0}: every row read again in {2:.1f}s ({1} rows copied; rows the stream changed "
                     "meanwhile came from the stream); rows older than {3} are removed",
                     pass->second.table, pass->second.rows, seconds, pass->second.since.str());
        set(telemetry_.metrics.resync_running.series({pass->second.table}), 0);
        add(telemetry_.metrics.resync_passes.series({pass->second.table}), 1);
        passes_.erase(pass);
      }
      break;
  }
  return true;
}

uint64_t ResyncTracker::on_high(uint64_t attempt, const EmitRow& emit) {
  auto window = windows_.find(attempt);
  if (window == windows_.end()) {
    // Low was not seen in this session (the stream reconnected in between):
    // the chunk cannot be placed, so it is read again.
    if (channel_.take(attempt)) channel_.settle(attempt, ResyncChannel::Outcome::kAborted);
    return 0;
  }
  Window open = std::move(window->second);
  windows_.erase(window);
  auto chunk = channel_.take(attempt);
  if (!chunk) return 0;
  // The visibility race (file comment): a commit before low the read did not see.
  std::set<uint32_t> in_progress(chunk->in_progress.begin(), chunk->in_progress.end());
  const bool raced = !in_progress.empty() && std::any_of(recent_commits_.begin(), recent_commits_.end(), [&](auto& c) {
    return c.second < open.low && in_progress.count(c.first) > 0;
  });
  if (raced || open.truncated) {
    channel_.settle(attempt, ResyncChannel::Outcome::kAborted);
    return 0;
  }
  uint64_t emitted = 0;
  auto& rows_series = telemetry_.metrics.resync_rows.series({open.table});
  for (auto& row : chunk->rows) {
    auto key = key_of(*chunk->relation, row);
    if (key && open.changed.count(*key)) continue;  // the stream holds something newer
    emit(chunk->relation, std::move(row));
    add(rows_series, 1);
    ++emitted;
  }
  channel_.settle(attempt, ResyncChannel::Outcome::kEmitted);
  return emitted;
}

void ResyncTracker::on_disconnect() {
  windows_.clear();
  channel_.abort_pending();
}

// ---- ResyncWorker -----------------------------------------------------------

ResyncWorker::ResyncWorker(const Config& config, ResyncChannel& channel, Telemetry& telemetry,
                           std::map<std::string, std::string> known)
    : config_(config), channel_(channel), telemetry_(telemetry), known_(std::move(known)) {
  std::random_device random;
  next_number_ = (static_cast<uint64_t>(random()) << 32) | 1;
  thread_ = std::thread([this] { run(); });
}

ResyncWorker::~ResyncWorker() {
  stop_.request();
  if (thread_.joinable()) thread_.join();
}

void ResyncWorker::emit(PgConnection& conn, const Watermark& mark) {
  conn.exec_params("SELECT pg_catalog.pg_logical_emit_message(true, $1, $2)",
                   {std::string(kResyncPrefix), format_watermark(mark)});
}

void ResyncWorker::check_shapes(PgConnection& conn) {
  for (const auto& table : config_.source.tables) {
    std::string shape = table_shape(conn, table);
    if (shape.empty()) continue;  // dropped: the stream says what that means
    auto& known = known_[table];
    if (known == shape) continue;
    spdlog::info("{}: {}; re-syncing its rows while streaming goes on", table,
                 known.empty() ? "the sinks do not hold its current shape" : "its shape changed");
    known = shape;
    channel_.request(table);
  }
}

void ResyncWorker::run() {
  const auto interval = pg::settings_of(config_.source).schema_check_interval;
  Backoff backoff(config_.retry);
  std::optional<PgConnection> conn;
  bool outage = false;
  bool checked_once = false;
  while (!stop_.requested()) {
    try {
      if (!conn) conn.emplace(PgConnection::connect(pg::settings_of(config_.source).dsn, PgConnection::Mode::kNormal));
      if (interval.count() > 0 || !checked_once) check_shapes(*conn);
      checked_once = true;
      auto table = channel_.next_request(interval.count() > 0 ? interval : std::chrono::milliseconds(1000));
      if (table) {
        const uint64_t pass = next_number_++;
        while (!stop_.requested() && !copy_table(*conn, *table, pass)) {
          spdlog::info("re-sync of {}: asked for again, or its shape changed, during the pass; starting it again",
                       *table);
        }
      }
      if (outage) spdlog::info("re-sync: going on");
      outage = false;
      backoff.reset();
    } catch (const StopRequested&) {
      return;
    } catch (const Error& e) {
      conn.reset();
      if (!e.retryable()) {
        channel_.fail(fmt::format(
            "table re-sync: {} (a re-sync writes its marks with pg_logical_emit_message: GRANT EXECUTE ON FUNCTION "
            "pg_catalog.pg_logical_emit_message(boolean, text, text) TO the role, if that is what was refused)",
            e.what()));
        return;
      }
      // The stream logs the outage itself; this only says the re-syncs wait.
      if (!outage) spdlog::info("re-sync paused: {}; it goes on when PostgreSQL answers", e.what());
      outage = true;
      stop_.wait_for(backoff.next());
    }
  }
}

bool ResyncWorker::copy_table(PgConnection& conn, const std::string& table, uint64_t pass) {
  TableInfo info = describe_table(conn, table);
  if (!info.exists) return true;
  if (info.primary_key.empty()) {
    channel_.fail(fmt::format(
        "table re-sync: {} has no primary key, so it cannot be read in chunks while streaming; run `sluice run "
        "--resnapshot` to copy it again",
        table));
    return true;
  }
  const std::string shape = table_shape(conn, table);
  RelationCatalog catalog(pg::settings_of(config_.source).dsn);
  RelationPtr relation = catalog.describe(info);
  channel_.expect(pass);
  emit(conn, Watermark{pg::settings_of(config_.source).slot, pass, Watermark::Kind::kBegin, 0, table, ""});
  spdlog::info("re-sync of {}: reading it again in chunks of {} rows", table, config_.source.snapshot_chunk_rows);

  SnapshotReader reader(PgConnection::connect(pg::settings_of(config_.source).dsn, PgConnection::Mode::kNormal), "");
  std::vector<std::string> after;  // the last key of the last chunk emitted
  for (;;) {
    if (stop_.requested()) throw StopRequested{};
    if (channel_.asked_again(table) || table_shape(conn, table) != shape) return false;
    const uint64_t attempt = next_number_++;
    channel_.expect(attempt);
    emit(conn, Watermark{pg::settings_of(config_.source).slot, pass, Watermark::Kind::kLow, attempt, "", ""});
    ResyncChunk chunk;
    chunk.relation = relation;
    reader.connection().exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    PgResult xip = reader.connection().exec(
        "SELECT (x::text::numeric % 4294967296)::text FROM pg_catalog.pg_snapshot_xip(pg_catalog.pg_current_snapshot()) x");
    for (int i = 0; i < xip.rows(); ++i) {
      chunk.in_progress.push_back(static_cast<uint32_t>(std::stoull(std::string(xip.value(i, 0)))));
    }
    reader.begin_table(info, config_.source.snapshot_chunk_rows, after);
    reader.next_chunk(chunk.rows);
    std::vector<std::string> last = reader.last_key();
    reader.connection().exec("COMMIT");
    const bool final_chunk = chunk.rows.size() < config_.source.snapshot_chunk_rows;
    channel_.offer(attempt, std::move(chunk));
    emit(conn, Watermark{pg::settings_of(config_.source).slot, pass, Watermark::Kind::kHigh, attempt, "", ""});
    ResyncChannel::Outcome outcome;
    while ((outcome = channel_.wait(attempt, std::chrono::milliseconds(200))) == ResyncChannel::Outcome::kPending) {
      if (stop_.requested()) throw StopRequested{};
    }
    if (outcome == ResyncChannel::Outcome::kAborted) continue;  // read the same chunk again
    if (final_chunk) break;
    after = std::move(last);
  }
  emit(conn, Watermark{pg::settings_of(config_.source).slot, pass, Watermark::Kind::kEnd, 0, table, shape});
  return true;
}

}  // namespace sluice::pg
