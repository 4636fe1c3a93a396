#include "app/verify_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <unistd.h>

#include "app/verify_key_space.h"
#include "app/verify_report.h"
#include "app/verify_sink_wait.h"
#include "config/sink_plugin.h"
#include "core/error.h"
#include "core/identity.h"
#include "source/postgres/catalog.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/pg_position.h"
#include "source/postgres/relation_catalog.h"
#include "source/postgres/snapshot_reader.h"
#include "source/postgres/pg_source_config.h"

namespace sluice {

namespace {

// Re-checking suspects (see TableVerifier::recheck).
constexpr int kRecheckRounds = 30;
constexpr auto kRecheckPause = std::chrono::milliseconds(100);
// Suspects are decided (and repaired) in groups of at most this many, so memory
// does not grow with the amount of drift.
constexpr size_t kSuspectsHeld = 10000;

struct Suspect {
  Drift kind;
  std::vector<std::string> primary_key;  // values, in primary-key order
  std::string key;                       // the Redis key in question
  std::string identity;                  // its field in the sink's index
  int settled_rounds = 0;                // rounds in which it differed with nothing newer applied
};

// Reads rows of one table by primary key, many at a time.
class RowLookup {
 public:
  RowLookup(pg::PgConnection& conn, const pg::TableInfo& table) : conn_(conn) {
    std::vector<std::string> columns, join;
    for (const auto& column : table.columns) columns.push_back("t." + conn.quote_identifier(column.name));
    for (size_t i = 0; i < table.primary_key.size(); ++i) {
      int at = table.column_index(table.primary_key[i]);
      auto type = conn.exec_params("SELECT format_type($1::oid, $2::int)",
                                   {std::to_string(table.columns[at].type_oid), std::to_string(table.columns[at].type_modifier)});
      join.push_back(fmt::format("t.{} = k.c{}::{}", conn.quote_identifier(table.primary_key[i]), i, type.value(0, 0)));
      key_positions_.push_back(at);
    }
    std::vector<std::string> unnest_args, aliases;
    for (size_t i = 0; i < table.primary_key.size(); ++i) {
      unnest_args.push_back(fmt::format("${}::text[]", i + 1));
      aliases.push_back(fmt::format("c{}", i));
    }
    sql_ = fmt::format("SELECT {} FROM unnest({}) AS k({}) JOIN {} t ON {}", fmt::join(columns, ", "),
                       fmt::join(unnest_args, ", "), fmt::join(aliases, ", "),
                       conn.quote_qualified(table.schema, table.name), fmt::join(join, " AND "));
  }

  // A sink index identity's values (primary-key columns in column order, see
  // decode_identity) in this lookup's primary-key order.
  std::vector<std::string> key_from_identity(std::vector<std::string> identity) const {
    std::vector<int> column_order = key_positions_;
    std::sort(column_order.begin(), column_order.end());
    if (identity.size() != column_order.size()) return identity;  // matches no row
    std::vector<std::string> key;
    for (int at : key_positions_) {
      key.push_back(std::move(identity[std::lower_bound(column_order.begin(), column_order.end(), at) -
                                      column_order.begin()]));
    }
    return key;
  }

  // The current rows whose primary keys are listed, by joined primary key.
  std::map<std::vector<std::string>, std::vector<Value>> fetch(const std::vector<std::vector<std::string>>& keys) {
    std::map<std::vector<std::string>, std::vector<Value>> rows;
    if (keys.empty()) return rows;
    std::vector<std::optional<std::string>> params;
    for (size_t i = 0; i < key_positions_.size(); ++i) {
      std::vector<std::string> column;
      for (const auto& key : keys) column.push_back(key[i]);
      params.push_back(text_array(column));
    }
    auto result = conn_.exec_params(sql_, params);
    for (int r = 0; r < result.rows(); ++r) {
      std::vector<Value> row;
      for (int c = 0; c < result.columns(); ++c) {
        row.push_back(result.is_null(r, c) ? Value::null() : Value::of(std::string(result.value(r, c))));
      }
      rows.emplace(primary_key_of(row), std::move(row));
    }
    return rows;
  }

  std::vector<std::string> primary_key_of(const std::vector<Value>& row) const {
    std::vector<std::string> key;
    for (int at : key_positions_) key.push_back(row[at].text);
    return key;
  }

 private:
  pg::PgConnection& conn_;
  std::string sql_;
  std::vector<int> key_positions_;
};

class TableVerifier {
 public:
  // `wait`: shared by the tables of one sink.
  TableVerifier(const Config& config, Sink& sink, VerifyTarget& target, pg::PgConnection& conn,
                const pg::TableInfo& table, RelationPtr relation, SinkWait& wait)
      : config_(config),
        sink_(sink),
        target_(target),
        conn_(conn),
        table_(table),
        relation_(std::move(relation)),
        lookup_(conn, table),
        wait_(wait) {}

  TableReport run(bool repair) {
    repair_ = repair;
    compare_source_rows();
    find_extra_keys();
    decide();
    return report_;
  }

 private:
  void compare_source_rows() {
    pg::SnapshotReader reader(pg::settings_of(config_.source).dsn, "");
    reader.begin_table(table_, config_.source.snapshot_chunk_rows);
    std::vector<std::vector<Value>> rows;
    auto last_progress = std::chrono::steady_clock::now();
    while (reader.next_chunk(rows)) {
      std::vector<VerifyTarget::Expected> expected;
      std::vector<std::string> keys;
      for (const auto& row : rows) {
        expected.push_back(target_.expected_for(relation_, row));
        keys.push_back(expected.back().key);
      }
      auto stored = target_.read_canonical(table_.qualified_name(), expected);
      for (size_t i = 0; i < rows.size(); ++i) {
        if (!stored[i] || *stored[i] != expected[i].canonical) {
          suspects_.push_back({stored[i] ? Drift::kDifferent : Drift::kMissing, lookup_.primary_key_of(rows[i]),
                               std::move(expected[i].key), std::move(expected[i].identity)});
        }
      }
      report_.checked += rows.size();
      rows.clear();
      if (suspects_.size() >= kSuspectsHeld) decide();
      if (std::chrono::steady_clock::now() - last_progress >= std::chrono::seconds(2)) {
        last_progress = std::chrono::steady_clock::now();
        fmt::print(stderr, "verify: sink '{}' {}: {} rows checked\n", sink_.name(), table_.qualified_name(),
                   report_.checked);
      }
    }
  }

  // Index entries whose primary key matches no source row.
  void find_extra_keys() {
    target_.scan_rows(table_.qualified_name(), [&](const std::vector<std::pair<std::string, std::string>>& entries) {
      std::vector<std::vector<std::string>> keys;
      for (const auto& [identity, key] : entries) {
        keys.push_back(lookup_.key_from_identity(decode_identity(identity)));
      }
      auto found = lookup_.fetch(keys);
      for (size_t i = 0; i < entries.size(); ++i) {
        if (!found.count(keys[i])) suspects_.push_back({Drift::kExtra, keys[i], entries[i].second, entries[i].first});
      }
      if (suspects_.size() >= kSuspectsHeld) decide();
    });
  }

  // Decides the suspects held so far, repairs what drifted if asked, and
  // counts the outcome.
  void decide() {
    recheck();
    if (repair_) repair();
    for (const auto& suspect : decided_) report_.add(suspect.kind, suspect.key);
    decided_.clear();
  }

  // Decides each suspect against the source's current row, so that changes
  // committed while verify runs are not reported as drift. Each round reads the
  // suspects' rows, then the WAL insert position L (every change those rows
  // show committed before L), waits until the sink has applied everything
  // before L, and reads each suspect's document and then its index version V:
  //   - the document equals the row: no drift;
  //   - V is newer than L (a change committed at or after L, or rows copied
  //     after L): the stream already applied a newer change of the row than the
  //     one read — it is changing; try again next round;
  //   - otherwise the sink holds everything the row shows and still differs:
  //     drift, once seen in two rounds (a commit can be in the WAL before L yet
  //     not visible to the read that came just before it).
  // What is still changing after every round is reported as such, not as drift.
  void recheck() {
    for (int round = 0; round < kRecheckRounds && !suspects_.empty(); ++round) {
      if (round > 0) std::this_thread::sleep_for(kRecheckPause);
      std::vector<std::vector<std::string>> keys;
      for (const auto& suspect : suspects_) keys.push_back(suspect.primary_key);
      auto current = lookup_.fetch(keys);
      const pg::Lsn read_before = wait_.wal_insert_lsn();
      wait_.until_applied(read_before);
      std::vector<VerifyTarget::RowRef> refs;
      std::vector<std::optional<std::string>> expected;
      for (auto& suspect : suspects_) {
        auto row = current.find(suspect.primary_key);
        if (row == current.end()) {
          expected.push_back(std::nullopt);  // the row is gone: its key must be too
        } else {
          auto e = target_.expected_for(relation_, row->second);
          suspect.key = std::move(e.key);
          suspect.identity = std::move(e.identity);
          expected.push_back(std::move(e.canonical));
        }
        refs.push_back({suspect.key, suspect.identity});
      }
      auto stored = target_.read_stored(table_.qualified_name(), refs);
      std::vector<Suspect> still;
      for (size_t i = 0; i < suspects_.size(); ++i) {
        if (stored[i].canonical == expected[i]) continue;
        Suspect& suspect = suspects_[i];
        suspect.kind = !expected[i] ? Drift::kExtra : stored[i].canonical ? Drift::kDifferent : Drift::kMissing;
        // Newer than the read: a streamed change whose commit record starts at
        // or after L (index >= 1), or rows copied at a point after L (index 0).
        if (stored[i].version && *stored[i].version > pg::position(read_before)) {
          suspect.settled_rounds = 0;
          still.push_back(std::move(suspect));
        } else if (++suspect.settled_rounds >= 2) {
          decided_.push_back(std::move(suspect));
        } else {
          still.push_back(std::move(suspect));
        }
      }
      suspects_ = std::move(still);
    }
    for (auto& suspect : suspects_) {
      if (suspect.settled_rounds == 0) suspect.kind = Drift::kChanging;
      decided_.push_back(std::move(suspect));
    }
    suspects_.clear();
  }

  // Writes each suspect's current source state (or removes its key) as a change
  // at the WAL position read before the rows were: any change the stream applies
  // later is newer and wins, and the version guard keeps the repair from
  // overwriting a change the stream applied meanwhile.
  // Keys still changing are left to the stream, which is writing them.
  void repair() {
    for (auto& suspect : decided_) {
      (suspect.kind == Drift::kChanging ? suspects_kept_ : suspects_).push_back(std::move(suspect));
    }
    decided_ = std::move(suspects_kept_);
    suspects_kept_.clear();
    if (suspects_.empty()) return;
    for (auto& suspect : suspects_) suspect.settled_rounds = 0;
    const Position version =
        pg::position(pg::Lsn::parse(std::string(conn_.exec("SELECT pg_current_wal_lsn()::text").value(0, 0))));
    std::vector<std::vector<std::string>> keys;
    for (const auto& suspect : suspects_) keys.push_back(suspect.primary_key);
    auto current = lookup_.fetch(keys);
    Batch batch = Batch::of(BatchKind::kRepair);
    for (const auto& suspect : suspects_) {
      auto change = std::make_shared<Change>();
      change->relation = relation_;
      change->position = version;
      auto row = current.find(suspect.primary_key);
      if (row != current.end()) {
        change->op = Op::kInsert;
        change->new_values = row->second;
      } else {
        change->op = Op::kDelete;
        change->old_values.assign(relation_->columns.size(), Value::null());
        for (size_t i = 0; i < table_.primary_key.size(); ++i) {
          change->old_values[relation_->column_index(table_.primary_key[i])] = Value::of(suspect.primary_key[i]);
        }
      }
      batch.changes.push_back(std::move(change));
    }
    sink_.apply(batch);
    report_.repaired += suspects_.size();
    // What is still off after the repair (e.g. a newer change won) is re-checked.
    recheck();
  }

  const Config& config_;
  Sink& sink_;
  VerifyTarget& target_;
  pg::PgConnection& conn_;
  const pg::TableInfo& table_;
  RelationPtr relation_;
  RowLookup lookup_;
  TableReport report_;
  std::vector<Suspect> suspects_;       // not decided yet
  std::vector<Suspect> decided_;        // drift, or still changing after every round
  std::vector<Suspect> suspects_kept_;  // scratch for repair()
  SinkWait& wait_;
  bool repair_ = false;
};

}  // namespace

int verify_command(const Config& config, const VerifyOptions& options) {
  std::vector<std::string> tables = options.tables.empty() ? config.source.tables : options.tables;
  for (auto& table : tables) {
    table = normalize_table_name(table);
    if (std::find(config.source.tables.begin(), config.source.tables.end(), table) == config.source.tables.end()) {
      fmt::print(stderr, "sluice verify: {} is not one of source.tables in {}\n", table, config.path);
      return 1;
    }
  }
  bool drift = false;
  try {
    auto conn = pg::PgConnection::connect(pg::settings_of(config.source).dsn, pg::PgConnection::Mode::kNormal);
    pg::RelationCatalog catalog(pg::settings_of(config.source).dsn);
    for (const auto& sink_config : config.sinks) {
      std::unique_ptr<Sink> made = make_sink(sink_config);
      VerifyTarget* target = made->verify_target();
      if (target == nullptr) {
        fmt::print("sink '{}': {} holds no documents to verify\n", sink_config.name, sink_config.settings->describe());
        continue;
      }
      Sink& sink = *made;
      SinkWait wait(config, sink.name(), *target, conn);
      auto checkpoint = sink.load_checkpoint();
      if (checkpoint.rebuilding || checkpoint.snapshot == SnapshotState::kInProgress) {
        fmt::print(stderr,
                   "verify: sink '{}' is being {} (rows not copied yet show as missing); verify it again once "
                   "that has finished\n",
                   sink_config.name, checkpoint.rebuilding ? "rebuilt after a reset" : "filled by the initial snapshot");
      }
      // Every table routed to the sink: a key under a verified table's prefix
      // may belong to any of them (verify_key_space.h).
      std::vector<RoutedTable> routed;
      std::vector<std::string> routed_names;  // as source.tables spells them
      for (const auto& table_name : config.source.tables) {
        auto table = pg::describe_table(conn, table_name);
        if (!table.exists) {
          if (std::find(tables.begin(), tables.end(), table_name) != tables.end()) {
            throw Error::server(fmt::format("table {} does not exist", table_name));
          }
          continue;
        }
        auto relation = catalog.describe(table);
        routed.push_back({std::move(table), std::move(relation), nullptr});
        routed_names.push_back(table_name);
      }
      // Every verified table is routed (checked above), so this finds it.
      auto routed_table = [&](const std::string& name) {
        return &routed[std::find(routed_names.begin(), routed_names.end(), name) - routed_names.begin()];
      };
      std::vector<TableReport> reports(tables.size());
      for (size_t i = 0; i < tables.size(); ++i) {
        if (!sink.holds_table(tables[i])) continue;
        RoutedTable* at = routed_table(tables[i]);
        if (at->table.primary_key.empty()) continue;
        TableVerifier verifier(config, sink, *target, conn, at->table, at->relation, wait);
        reports[i] = verifier.run(options.repair);
        at->report = &reports[i];
      }
      // Keys under a template's prefix that no row owns (verify_key_space.h).
      // Other stores' verify targets list every document they hold
      // (scan_rows), so nothing lies outside them.
      if (auto* keys = sink.key_space_target()) verify_key_space(*keys, conn, wait, routed, options.repair);
      for (size_t i = 0; i < tables.size(); ++i) {
        if (!sink.holds_table(tables[i])) continue;  // not this sink's table
        RoutedTable* at = routed_table(tables[i]);
        if (!at->report) {
          fmt::print("sink '{}' {}: not verified: the table has no primary key\n", sink_config.name, tables[i]);
          continue;
        }
        print_report(sink_config.name, tables[i], reports[i]);
        if (reports[i].drifted()) drift = true;
      }
    }
  } catch (const Error& e) {
    fmt::print(stderr, "sluice verify: {}: {}\n", to_string(e.kind()), e.what());
    return 1;
  }
  fmt::print("{}\n", drift ? "drift found" : "no drift");
  return drift ? 1 : 0;
}

}  // namespace sluice
