#include "source/postgres/snapshot_reader.h"

#include <algorithm>

#include <fmt/format.h>

namespace sluice::pg {

namespace {
constexpr const char* kCursorName = "sluice_snapshot";
}  // namespace

SnapshotReader::SnapshotReader(const std::string& dsn, const std::string& snapshot_name)
    : SnapshotReader(PgConnection::connect(dsn, PgConnection::Mode::kNormal), snapshot_name) {}

SnapshotReader::SnapshotReader(PgConnection conn, const std::string& snapshot_name) : conn_(std::move(conn)) {
  if (snapshot_name.empty()) return;  // current state, one statement per chunk
  conn_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  conn_.exec("SET TRANSACTION SNAPSHOT " + conn_.quote_literal(snapshot_name));
}

void SnapshotReader::finish_table() {
  if (cursor_open_) {
    conn_.exec(std::string("CLOSE ") + kCursorName);
    cursor_open_ = false;
  }
  has_table_ = false;
  done_ = true;
  last_key_.clear();
  range_ = {};
  key_result_columns_.clear();
  key_types_.clear();
  rows_read_ = 0;
}

void SnapshotReader::begin_table(const TableInfo& table, size_t chunk_rows, std::vector<std::string> start_after,
                                 KeyRange range) {
  if (!conn_.is_open()) throw Error::internal("SnapshotReader used after close()");
  finish_table();
  if (!table.exists) {
    throw Error::server(fmt::format("PostgreSQL {}: table {} does not exist", conn_.where(), table.qualified_name()));
  }
  table_ = table;
  chunk_rows_ = std::max<size_t>(chunk_rows, 1);

  // Columns in the table's order; primary-key columns the list lacks (generated
  // key columns) are appended so the last key is always known.
  select_list_.clear();
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (i) select_list_ += ", ";
    select_list_ += conn_.quote_identifier(table.columns[i].name);
  }
  int extra = static_cast<int>(table.columns.size());
  std::string order_by;
  std::string key_tuple;
  std::string params_tuple;
  for (size_t k = 0; k < table.primary_key.size(); ++k) {
    const std::string& key = table.primary_key[k];
    std::string quoted = conn_.quote_identifier(key);
    int index = table.column_index(key);
    if (index < 0) {
      select_list_ += (select_list_.empty() ? "" : ", ") + quoted;
      index = extra++;
      key_types_.push_back(0);  // let the server infer it from the comparison
    } else {
      key_types_.push_back(table.columns[static_cast<size_t>(index)].type_oid);
    }
    key_result_columns_.push_back(index);
    if (k) {
      order_by += ", ";
      key_tuple += ", ";
      params_tuple += ", ";
    }
    order_by += quoted;
    key_tuple += quoted;
    params_tuple += fmt::format("${}", k + 1);
  }

  // ONLY: an inheritance child is a table of its own (published on its own); a
  // partitioned table has no rows itself, so it is read with its partitions.
  std::string from = (table.kind == 'p' ? "" : "ONLY ") + conn_.quote_qualified(table.schema, table.name);
  std::string select = fmt::format("SELECT {} FROM {}", select_list_, from);

  if (!table.primary_key.empty()) {
    // The part's bounds: on the first key column; $1.. in the first chunk's
    // statement, after the key's parameters in the next ones'.
    range_ = std::move(range);
    const std::string first_key = conn_.quote_identifier(table.primary_key[0]);
    std::string first_where;
    if (range_.from) first_where = fmt::format("{} >= $1", first_key);
    if (range_.to) {
      first_where += fmt::format("{}{} < ${}", first_where.empty() ? "" : " AND ", first_key, range_.from ? 2 : 1);
    }
    const std::string next_to =
        range_.to ? fmt::format(" AND {} < ${}", first_key, table.primary_key.size() + 1) : std::string();
    first_chunk_sql_ = fmt::format("{}{}{} ORDER BY {} LIMIT {}", select, first_where.empty() ? "" : " WHERE ",
                                   first_where, order_by, chunk_rows_);
    next_chunk_sql_ = fmt::format("{} WHERE ({}) > ({}){} ORDER BY {} LIMIT {}", select, key_tuple, params_tuple, next_to,
                                  order_by, chunk_rows_);
    if (!start_after.empty()) {
      if (start_after.size() != table.primary_key.size()) {
        throw Error::internal(fmt::format("resuming {} needs {} key values, got {}", table.qualified_name(),
                                          table.primary_key.size(), start_after.size()));
      }
      last_key_ = std::move(start_after);
    }
  } else {
    if (!start_after.empty()) {
      throw Error::internal(fmt::format("{} has no primary key; its snapshot cannot resume", table.qualified_name()));
    }
    if (range.from || range.to) {
      throw Error::internal(fmt::format("{} has no primary key; it cannot be read in parts", table.qualified_name()));
    }
    conn_.exec(fmt::format("DECLARE {} NO SCROLL CURSOR FOR {}", kCursorName, select));
    cursor_open_ = true;
  }
  has_table_ = true;
  done_ = false;
}

bool SnapshotReader::next_chunk(std::vector<std::vector<Value>>& rows) {
  rows.clear();
  if (!has_table_ || done_) return false;
  if (table_.primary_key.empty()) {
    read_cursor_chunk(rows);
  } else {
    read_pk_chunk(rows);
  }
  rows_read_ += rows.size();
  return !rows.empty();
}

namespace {
void append_rows(const PgResult& r, size_t columns, std::vector<std::vector<Value>>& rows) {
  rows.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    std::vector<Value> row;
    row.reserve(columns);
    for (size_t c = 0; c < columns; ++c) {
      int col = static_cast<int>(c);
      row.push_back(r.is_null(i, col) ? Value::null() : Value::of(std::string(r.value(i, col))));
    }
    rows.push_back(std::move(row));
  }
}
}  // namespace

void SnapshotReader::read_pk_chunk(std::vector<std::vector<Value>>& rows) {
  PgResult r;
  const uint32_t first_type = key_types_.empty() ? 0 : key_types_[0];
  if (last_key_.empty()) {
    std::vector<std::optional<std::string>> params;
    if (range_.from) params.push_back(range_.from);
    if (range_.to) params.push_back(range_.to);
    r = params.empty() ? conn_.exec(first_chunk_sql_)
                       : conn_.exec_params(first_chunk_sql_, params, std::vector<uint32_t>(params.size(), first_type));
  } else {
    std::vector<std::optional<std::string>> params(last_key_.begin(), last_key_.end());
    std::vector<uint32_t> types = key_types_;
    if (range_.to) {
      params.push_back(range_.to);
      types.resize(params.size() - 1, 0);
      types.push_back(first_type);
    }
    r = conn_.exec_params(next_chunk_sql_, params, types);
  }
  append_rows(r, table_.columns.size(), rows);
  if (r.rows() > 0) {
    int last = r.rows() - 1;
    last_key_.clear();
    for (int column : key_result_columns_) last_key_.emplace_back(r.value(last, column));
  }
  if (static_cast<size_t>(r.rows()) < chunk_rows_) done_ = true;
}

void SnapshotReader::read_cursor_chunk(std::vector<std::vector<Value>>& rows) {
  PgResult r = conn_.exec(fmt::format("FETCH FORWARD {} FROM {}", chunk_rows_, kCursorName));
  append_rows(r, table_.columns.size(), rows);
  if (static_cast<size_t>(r.rows()) < chunk_rows_) {
    done_ = true;
    conn_.exec(std::string("CLOSE ") + kCursorName);
    cursor_open_ = false;
  }
}

std::vector<std::string> split_points(PgConnection& conn, const TableInfo& table, size_t parts) {
  std::vector<std::string> points;
  if (table.primary_key.empty() || parts < 2 || table.estimated_rows < static_cast<double>(parts)) return points;
  const std::string key = conn.quote_identifier(table.primary_key[0]);
  const std::string from = (table.kind == 'p' ? "" : "ONLY ") + conn.quote_qualified(table.schema, table.name);
  for (size_t k = 1; k < parts; ++k) {
    const auto offset = static_cast<long long>(table.estimated_rows * static_cast<double>(k) / static_cast<double>(parts));
    PgResult r = conn.exec(fmt::format("SELECT {} FROM {} ORDER BY {} OFFSET {} LIMIT 1", key, from, key, offset));
    if (r.rows() == 0) break;  // fewer rows than estimated
    std::string point(r.value(0, 0));
    if (points.empty() || points.back() != point) points.push_back(std::move(point));
  }
  return points;
}

void SnapshotReader::close() {
  if (!conn_.is_open()) return;
  finish_table();
  conn_.exec("COMMIT");
  conn_.close();
}

}  // namespace sluice::pg
