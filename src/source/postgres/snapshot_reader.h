// Reads the initial copy of tables under the snapshot a logical slot exported, so
// the copy shows exactly the data as of the slot's consistent point: every change
// after it comes from the slot, every change before it is in the copy, none twice.
//
// Lifetime of the exported snapshot (the caller's contract): a snapshot exported by
// CREATE_REPLICATION_SLOT ... (SNAPSHOT 'export') can be imported only while the
// replication connection that created it is still open and has run no other
// command (PostgreSQL drops the export at the next command on that connection, e.g.
// START_REPLICATION, or when it closes). Construct every SnapshotReader first; once
// the constructors have returned, each reader's transaction holds the snapshot by
// itself and the replication connection may start streaming.
// https://www.postgresql.org/docs/current/protocol-replication.html#PROTOCOL-REPLICATION-CREATE-REPLICATION-SLOT
//
// Tables with a primary key are read in primary-key chunks
//   SELECT <cols> FROM t WHERE (pk1, pk2) > ($1, $2) ORDER BY pk1, pk2 LIMIT n
// (the first chunk without WHERE), so each chunk is an index range scan and the
// last key read tells where to resume. Tables without a primary key (REPLICA
// IDENTITY FULL) are read in one pass through a server-side cursor (FETCH n).
//
// Values are the server's text output with the session settings of
// pg_connection.h, i.e. the same text pgoutput sends. Not thread-safe; run several
// readers (one connection each) for parallelism.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/change.h"
#include "source/postgres/catalog.h"
#include "source/postgres/pg_connection.h"

namespace sluice::pg {

class SnapshotReader {
 public:
  // Opens a normal connection to `dsn` and imports the snapshot:
  //   BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '<name>'
  // Throws what PgConnection throws; an expired or unknown snapshot is Error::server
  // (SQLSTATE 22023 "invalid snapshot identifier").
  // An empty `snapshot_name` reads the current state instead, each chunk in its
  // own statement (no long transaction): what `sluice verify` wants. Tables
  // without a primary key need a snapshot (their cursor lives in a transaction).
  SnapshotReader(const std::string& dsn, const std::string& snapshot_name);
  // Same, on a connection the caller opened (kNormal, idle, no transaction open).
  SnapshotReader(PgConnection conn, const std::string& snapshot_name);
  ~SnapshotReader() = default;
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;

  // A part of a table with a primary key: the rows whose first primary-key
  // column is >= `from` and < `to` (text values, as the server prints them;
  // none = unbounded). Parts whose bounds meet cover the table exactly.
  struct KeyRange {
    std::optional<std::string> from;
    std::optional<std::string> to;
  };

  // Starts reading `table` (from describe_table) in chunks of `chunk_rows` rows.
  // `start_after` (primary-key values as text, in primary-key order) resumes after
  // that key; only for tables with a primary key. `range` reads only that part
  // (tables with a primary key). Ends the previous table's read.
  void begin_table(const TableInfo& table, size_t chunk_rows,
                   std::vector<std::string> start_after = {}, KeyRange range = {});

  // Replaces `rows` with the next chunk: one vector<Value> per row, indexed like
  // table.columns (Value::of(text) or Value::null()). Returns false, with `rows`
  // empty, when the table has no more rows.
  bool next_chunk(std::vector<std::vector<Value>>& rows);

  // The primary key (text, in primary-key order) of the last row returned; empty
  // before the first chunk and for tables without a primary key.
  const std::vector<std::string>& last_key() const { return last_key_; }
  size_t rows_read() const { return rows_read_; }
  // The reader's connection: without a snapshot, a caller may wrap chunks in a
  // transaction of its own (BEGIN ... next_chunk ... COMMIT).
  PgConnection& connection() { return conn_; }

  // Ends the transaction (COMMIT) and closes the connection. The destructor closes
  // without reporting.
  void close();

 private:
  void read_pk_chunk(std::vector<std::vector<Value>>& rows);
  void read_cursor_chunk(std::vector<std::vector<Value>>& rows);
  void finish_table();

  PgConnection conn_;
  TableInfo table_;
  size_t chunk_rows_ = 0;
  bool has_table_ = false;
  bool done_ = true;
  bool cursor_open_ = false;

  std::string select_list_;            // table columns, then primary-key columns not among them
  std::vector<int> key_result_columns_;  // where each pk column is in the result
  std::vector<uint32_t> key_types_;    // pk column type OIDs, for the $n parameters
  std::string first_chunk_sql_;
  std::string next_chunk_sql_;
  KeyRange range_;
  std::vector<std::string> last_key_;
  size_t rows_read_ = 0;
};

// Values of `table`'s first primary-key column that cut it into about `parts`
// parts of equal size (by its estimated row count), ascending, as text; fewer
// when the table is smaller than estimated or the column repeats, none for a
// table without a primary key. Reads the current state: whatever the points,
// the parts between them (SnapshotReader::KeyRange) cover the table exactly.
std::vector<std::string> split_points(PgConnection& conn, const TableInfo& table, size_t parts);

}  // namespace sluice::pg
