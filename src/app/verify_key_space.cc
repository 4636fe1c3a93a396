#include "app/verify_key_space.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <fmt/format.h>

#include "core/error.h"
#include "format/key_template.h"

namespace sluice {

namespace {

// What PostgreSQL makes of the values a key template read back from keys: each
// value cast to its column's type, as text, and whether a row has them all.
class TemplateLookup {
 public:
  struct Answer {
    bool castable = false;           // every value is one of its column's type
    std::vector<std::string> texts;  // the cast values' text, in KeyTemplate::columns() order
    bool row_exists = false;         // a current row has exactly these values
  };

  TemplateLookup(pg::PgConnection& conn, const pg::TableInfo& table, const std::vector<std::string>& columns)
      : conn_(conn) {
    std::vector<std::string> texts, match, unnest_args, aliases;
    for (size_t i = 0; i < columns.size(); ++i) {
      const int at = table.column_index(columns[i]);
      if (at < 0) throw Error::internal("table " + table.qualified_name() + " has no column " + columns[i]);
      auto type = conn.exec_params("SELECT format_type($1::oid, $2::int)",
                                   {std::to_string(table.columns[at].type_oid),
                                    std::to_string(table.columns[at].type_modifier)});
      const std::string cast = fmt::format("k.c{}::{}", i, type.value(0, 0));
      texts.push_back(fmt::format("({})::text", cast));
      match.push_back(fmt::format("t.{} = {}", conn.quote_identifier(columns[i]), cast));
      unnest_args.push_back(fmt::format("${}::text[]", i + 1));
      aliases.push_back(fmt::format("c{}", i));
    }
    sql_ = fmt::format("SELECT {}, EXISTS (SELECT 1 FROM {} t WHERE {}) FROM unnest({}) WITH ORDINALITY AS k({}, i) "
                       "ORDER BY k.i",
                       fmt::join(texts, ", "), conn.quote_qualified(table.schema, table.name),
                       fmt::join(match, " AND "), fmt::join(unnest_args, ", "), fmt::join(aliases, ", "));
    width_ = columns.size();
  }

  // One answer per entry of `values` (each in KeyTemplate::columns() order).
  std::vector<Answer> ask(const std::vector<std::vector<std::string>>& values) {
    try {
      return run(values);
    } catch (const Error& e) {
      if (!is_cast_failure(e)) throw;
    }
    // Some value is not one of its column's type: ask one at a time.
    std::vector<Answer> answers;
    for (const auto& one : values) {
      try {
        answers.push_back(run({one}).at(0));
      } catch (const Error& e) {
        if (!is_cast_failure(e)) throw;
        answers.emplace_back();  // not castable: no row of this table has these values
      }
    }
    return answers;
  }

 private:
  // SQLSTATE class 22 (data exception): "abc"::int, 99999999999::int, ...
  static bool is_cast_failure(const Error& e) {
    return e.kind() != ErrorKind::kTransient && std::string_view(e.what()).find("(SQLSTATE 22") != std::string_view::npos;
  }

  std::vector<Answer> run(const std::vector<std::vector<std::string>>& values) {
    std::vector<std::optional<std::string>> params;
    for (size_t c = 0; c < width_; ++c) {
      std::vector<std::string> column;
      for (const auto& one : values) column.push_back(one[c]);
      params.push_back(text_array(column));
    }
    auto result = conn_.exec_params(sql_, params);
    if (result.rows() != static_cast<int>(values.size())) {
      throw Error::internal(fmt::format("key lookup returned {} rows for {} keys", result.rows(), values.size()));
    }
    std::vector<Answer> answers(values.size());
    for (int r = 0; r < result.rows(); ++r) {
      Answer& answer = answers[r];
      answer.castable = true;
      for (size_t c = 0; c < width_; ++c) answer.texts.emplace_back(result.value(r, static_cast<int>(c)));
      answer.row_exists = result.value(r, static_cast<int>(width_)) == "t";
    }
    return answers;
  }

  pg::PgConnection& conn_;
  std::string sql_;
  size_t width_ = 0;
};

// Whether PostgreSQL's text output of every identity column (the primary key,
// else the replica identity, as the sink's index uses them) is the same in
// every session. Dates, times, money, intervals, ... depend on session
// settings (TimeZone, DateStyle, lc_monetary, IntervalStyle), so the identity
// verify derives for them might not be the one the stream writes: the guard
// then also needs a quiet sink.
bool identity_text_is_stable(const Relation& relation) {
  static const std::set<uint32_t> kStable = {16 /* bool */,    19 /* name */,     20 /* int8 */,
                                             21 /* int2 */,    23 /* int4 */,     25 /* text */,
                                             26 /* oid */,     1042 /* bpchar */, 1043 /* varchar */,
                                             1700 /* numeric */, 2950 /* uuid */};
  bool any_key = false;
  for (const Column& column : relation.columns) any_key = any_key || column.in_primary_key;
  for (const Column& column : relation.columns) {
    const bool identity = any_key ? column.in_primary_key : column.in_identity;
    if (identity && !kStable.count(column.source_type_id)) return false;
  }
  return true;
}

class KeySpaceCheck {
 public:
  KeySpaceCheck(KeySpaceTarget& sink, pg::PgConnection& conn, SinkWait& wait, const std::vector<RoutedTable>& tables,
                bool repair)
      : sink_(sink), conn_(conn), wait_(wait), repair_(repair) {
    for (const auto& routed : tables) {
      Table t{&routed, &sink.key_template_for(routed.table.qualified_name()), {}, {},
              identity_text_is_stable(*routed.relation), nullptr};
      t.columns = t.key->columns(*routed.relation);
      for (const auto& name : t.columns) t.column_indexes.push_back(routed.relation->column_index(name));
      tables_.push_back(std::move(t));
    }
  }

  void run() {
    // Fixed prefixes, shortest first; one under a kept one is scanned with it.
    std::vector<std::pair<std::string, const Table*>> prefixes;
    for (const Table& t : tables_) {
      if (!t.routed->report) continue;
      std::string prefix = t.key->fixed_prefix(*t.routed->relation);
      if (prefix.empty()) {
        t.routed->report->notes.push_back(fmt::format(
            "extra keys cannot be looked for: key template '{}' starts with a row-varying placeholder, so its keys "
            "have no fixed prefix to scan under (only sluice's index was checked)",
            t.key->text()));
        continue;
      }
      prefixes.emplace_back(std::move(prefix), &t);
    }
    std::stable_sort(prefixes.begin(), prefixes.end(),
              [](const auto& a, const auto& b) { return a.first.size() < b.first.size(); });
    prefixes_ = prefixes;  // report_for() needs them all before the first scan
    std::vector<std::string> scanned;
    for (const auto& [prefix, table] : prefixes) {
      const bool covered = std::any_of(scanned.begin(), scanned.end(),
                                       [&, &prefix = prefix](const std::string& p) { return prefix.starts_with(p); });
      if (covered) continue;
      scanned.push_back(prefix);
      sink_.scan_keys(table->key->prefix_glob(*table->routed->relation),
                      [&](const std::vector<std::string>& keys) { visit(keys); });
    }
  }

 private:
  struct Table {
    const RoutedTable* routed;
    const KeyTemplate* key;
    std::vector<std::string> columns;  // KeyTemplate::columns()
    std::vector<int> column_indexes;   // of `columns` in the relation
    bool stable_identity;              // identity_text_is_stable()
    std::unique_ptr<TemplateLookup> lookup;  // made when first needed
  };

  // One batch of scanned keys: decides which are extra, counts and repairs them.
  void visit(const std::vector<std::string>& keys) {
    std::vector<UnownedKey> candidates = unowned(keys);
    if (candidates.empty()) return;
    // A second look once the sink has applied what was committed by now: a row
    // inserted meanwhile owns its key, and the stream has written the key and
    // its index entry. The guard's token is read before the source is asked.
    wait_.until_applied(wait_.wal_insert_lsn());
    const std::string token = sink_.checkpoint_token();
    std::vector<std::string> again;
    for (auto& candidate : candidates) again.push_back(std::move(candidate.key));
    candidates = unowned(again);
    const std::vector<KeyProbe> probes = sink_.probe_keys(candidates);
    std::vector<UnownedKey> extra;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (probes[i].exists && !probes[i].indexed) extra.push_back(std::move(candidates[i]));
    }
    if (!repair_) {
      for (const auto& key : extra) report_for(key.key).add(Drift::kExtra, key.key);
      return;
    }
    const RemovedKeys removed = sink_.remove_unowned_keys(extra, token);
    const std::set<std::string> kept(removed.kept.begin(), removed.kept.end());
    for (const auto& key : extra) {
      TableReport& report = report_for(key.key);
      if (kept.count(key.key)) {
        report.add(Drift::kExtra, key.key);
        report.add_kept(key.key);
      } else {
        ++report.repaired;
      }
    }
  }

  // The keys no current row of any routed table owns, each with the rows that
  // could get it (KeyOwner) or needs_quiet_sink.
  std::vector<UnownedKey> unowned(const std::vector<std::string>& keys) {
    std::vector<UnownedKey> found(keys.size());
    std::vector<bool> owned(keys.size(), false);
    for (size_t k = 0; k < keys.size(); ++k) found[k].key = keys[k];
    for (Table& t : tables_) {
      const Relation& relation = *t.routed->relation;
      std::vector<size_t> which;
      std::vector<std::vector<std::string>> values;
      for (size_t k = 0; k < keys.size(); ++k) {
        if (owned[k]) continue;
        if (auto read = t.key->match(relation, keys[k])) {
          which.push_back(k);
          values.push_back(std::move(*read));
        }
      }
      if (which.empty()) continue;
      if (!t.lookup) t.lookup = std::make_unique<TemplateLookup>(conn_, t.routed->table, t.columns);
      const auto answers = t.lookup->ask(values);
      for (size_t j = 0; j < which.size(); ++j) {
        const size_t k = which[j];
        if (!answers[j].castable) continue;
        std::vector<Value> row(relation.columns.size(), Value::null());
        for (size_t c = 0; c < t.columns.size(); ++c) row[t.column_indexes[c]] = Value::of(answers[j].texts[c]);
        std::string rendered;
        try {
          rendered = t.key->render(relation, row);
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::kInvalidInput) throw;
          continue;  // the values do not make a key of this table
        }
        if (rendered != keys[k]) continue;  // no value of the columns' types renders to it
        if (answers[j].row_exists) {
          owned[k] = true;
          continue;
        }
        auto identity = sink_.identity_from(t.routed->relation, row);
        if (identity) found[k].owners.push_back({t.routed->table.qualified_name(), std::move(*identity)});
        if (!identity || !t.stable_identity) found[k].needs_quiet_sink = true;
      }
    }
    std::vector<UnownedKey> out;
    for (size_t k = 0; k < keys.size(); ++k) {
      if (!owned[k]) out.push_back(std::move(found[k]));
    }
    return out;
  }

  // The verified table whose template reads `key` back, else the one with the
  // longest fixed prefix of it.
  TableReport& report_for(const std::string& key) const {
    const Table* best = nullptr;
    size_t best_length = 0;
    for (const auto& [prefix, table] : prefixes_) {
      if (!key.starts_with(prefix)) continue;
      if (table->key->match(*table->routed->relation, key)) return *table->routed->report;
      if (!best || prefix.size() > best_length) {
        best = table;
        best_length = prefix.size();
      }
    }
    if (!best) throw Error::internal("verify: key " + key + " lies under no scanned prefix");
    return *best->routed->report;
  }

  KeySpaceTarget& sink_;
  pg::PgConnection& conn_;
  SinkWait& wait_;
  const bool repair_;
  std::vector<Table> tables_;
  std::vector<std::pair<std::string, const Table*>> prefixes_;  // every verified table's, shortest first
};

}  // namespace

void verify_key_space(KeySpaceTarget& sink, pg::PgConnection& conn, SinkWait& wait, const std::vector<RoutedTable>& tables,
                      bool repair) {
  KeySpaceCheck(sink, conn, wait, tables, repair).run();
}

}  // namespace sluice
