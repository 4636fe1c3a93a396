// Owning libpq from C++ (after jtv/libpqxx): PgConnection owns a PGconn, PgResult
// owns a PGresult. Only .cc files include libpq-fe.h; this header forward-declares
// the two C structs so other .cc files of this layer can reach the native handle.
//
// Every failure is a sluice::Error whose kind says what the caller does with it:
//   - kTransient: the server could not be reached, dropped the connection, is
//     starting up or shutting down, or is out of connection slots (SQLSTATE class
//     08, 57P01/57P02/57P03, 53300, or a result while the connection is bad).
//   - kServer: the server refused: authentication (28000/28P01), missing database,
//     any other SQL error. The message carries the SQLSTATE and the server's
//     primary message.
//   - kConfig: the connection string does not parse.
// Messages name host:port/database (PQhost/PQport/PQdb) and never contain the
// password: the dsn itself is never shown, and the password is scrubbed from any
// text that comes back from libpq.
//
// Sessions are pinned to settings that make the text output of values stable,
// because pgoutput formats values with the walsender session's settings and the
// snapshot reader must produce exactly the same text (core/change.h):
//   TimeZone=UTC DateStyle=ISO IntervalStyle=postgres extra_float_digits=3
//   bytea_output=hex
//
// Not thread-safe: one thread uses a connection at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

// libpq's handles (libpq-fe.h: typedef struct pg_conn PGconn; ... pg_result PGresult).
struct pg_conn;
struct pg_result;

namespace sluice::pg {

// One PGresult. Move-only; the destructor PQclear()s it.
class PgResult {
 public:
  PgResult() = default;
  // Takes ownership of `result` (may be null).
  explicit PgResult(pg_result* result);
  ~PgResult();
  PgResult(PgResult&& other) noexcept;
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  int columns() const;
  // Text of the value at (row, column); empty for SQL NULL (see is_null). The view
  // is valid while this PgResult lives. Out-of-range indexes throw Error::internal.
  std::string_view value(int row, int column) const;
  bool is_null(int row, int column) const;
  // value() as a std::string, or nullopt for SQL NULL.
  std::optional<std::string> optional_value(int row, int column) const;
  std::string column_name(int column) const;
  uint32_t column_type(int column) const;  // type OID
  // Index of the column with this name; throws Error::internal when absent.
  int column_index(std::string_view name) const;

  // PQresultStatus() as libpq's ExecStatusType value.
  int status() const;
  pg_result* native() const { return result_; }
  explicit operator bool() const { return result_ != nullptr; }

 private:
  void check(int row, int column) const;
  void check_column(int column) const;
  pg_result* result_ = nullptr;
};

class PgConnection {
 public:
  enum class Mode {
    kNormal,
    kReplication,  // replication=database: walsender commands plus SQL (PG10+)
  };

  // Connects (blocking). The dsn is a libpq conninfo string or a postgres:// URI
  // (PQconnectdbParams with expand_dbname=1). Adds application_name=sluice unless
  // the dsn sets one, connect_timeout=10 unless the dsn sets one, and appends the
  // session settings above to any `options` of the dsn. Throws (file comment).
  static PgConnection connect(const std::string& dsn, Mode mode);

  PgConnection() = default;  // not connected; only assign to it
  ~PgConnection();
  PgConnection(PgConnection&& other) noexcept;
  PgConnection& operator=(PgConnection&& other) noexcept;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement (simple query protocol). Returns the result of any status
  // but an error (tuples, command ok, empty query, COPY ...); throws on error.
  PgResult exec(const std::string& sql);
  // Runs one statement with $1.. parameters in text format (nullopt = SQL NULL).
  // `param_types` (OIDs, optional, may be shorter) pins parameter types.
  PgResult exec_params(const std::string& sql,
                       const std::vector<std::optional<std::string>>& params,
                       const std::vector<uint32_t>& param_types = {});

  // "name" -> "\"name\"" as needed (PQescapeIdentifier); throws Error::invalid_input
  // on text libpq cannot escape (e.g. invalid encoding).
  std::string quote_identifier(std::string_view identifier) const;
  // "it's" -> "'it''s'" (PQescapeLiteral).
  std::string quote_literal(std::string_view literal) const;
  // quote_identifier(schema) + "." + quote_identifier(name)
  std::string quote_qualified(std::string_view schema, std::string_view name) const;

  // Closes the connection (PQfinish). Idempotent; never throws.
  void close() noexcept;

  bool is_open() const { return conn_ != nullptr; }
  // True while libpq reports CONNECTION_OK.
  bool is_ok() const;
  Mode mode() const { return mode_; }
  int server_version() const;  // PQserverVersion, e.g. 150004
  std::string server_version_text() const;  // e.g. "15.4"
  int backend_pid() const;
  // "host:port/database" for messages.
  const std::string& where() const { return where_; }

  // An Error for a failed result (or a null result: PQerrorMessage), classified as
  // in the file comment; `what` says what was being done ("reading pg_class").
  Error error_for(const PgResult& result, std::string_view what) const;
  // An Error from PQerrorMessage alone (connection-level failure), kTransient when
  // the connection is bad, kServer otherwise.
  Error connection_error(std::string_view what) const;
  // Removes the password this connection was opened with from `text`.
  std::string scrub(std::string text) const;

  // The PGconn, for the .cc files of this layer that speak COPY (replication).
  pg_conn* native() const { return conn_; }

 private:
  pg_conn* conn_ = nullptr;
  Mode mode_ = Mode::kNormal;
  std::string where_;
  std::string password_;  // only to scrub it from messages; never printed
};

// SQLSTATE-based classification shared by this layer: true for the codes that
// mean "could not reach / lost the server, retry" (class 08, 57P01-57P03, 53300).
bool is_transient_sqlstate(std::string_view sqlstate);

}  // namespace sluice::pg
