#include "source/postgres/pg_connection.h"

#include <libpq-fe.h>

#include <array>
#include <utility>

#include <fmt/format.h>

#include "config/redact.h"

namespace sluice::pg {

namespace {

// The settings that make value text output stable (see pg_connection.h).
constexpr const char* kSessionOptions =
    "-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3 "
    "-c bytea_output=hex";
constexpr const char* kDefaultConnectTimeout = "10";  // seconds; libpq waits forever by default

struct PqFree {
  void operator()(void* p) const { PQfreemem(p); }
};
struct ConninfoFree {
  void operator()(PQconninfoOption* p) const { PQconninfoFree(p); }
};
struct ConnFinish {
  void operator()(PGconn* p) const { PQfinish(p); }
};

std::string or_empty(const char* s) { return s ? std::string(s) : std::string(); }

// libpq messages end in "\n" and continue lines with "\n\t"; one line reads better.
std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      out += ' ';
      while (i + 1 < text.size() && (text[i + 1] == '\t' || text[i + 1] == ' ')) ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// A conninfo parse error quotes the offending fragment of the dsn, which may be
// part of a password (and may itself contain quotes): everything from the first
// quoted fragment longer than one character to the last quote is masked (keeps
// 'missing "=" after ...').
std::string without_quoted(std::string_view text) {
  size_t open = text.find('"');
  while (open != std::string_view::npos) {
    size_t close = text.find('"', open + 1);
    if (close == std::string_view::npos || close - open - 1 > 1) break;
    open = text.find('"', close + 1);
  }
  if (open == std::string_view::npos) return std::string(text);
  size_t last = text.rfind('"');
  std::string out(text.substr(0, open));
  out += "\"...\"";
  if (last > open) out += text.substr(last + 1);
  return out;
}

bool contains(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

std::string make_where(PGconn* conn) {
  std::string host = or_empty(PQhost(conn));
  std::string port = or_empty(PQport(conn));
  std::string db = or_empty(PQdb(conn));
  if (host.empty()) host = "localhost";
  return fmt::format("{}:{}/{}", host, port.empty() ? "5432" : port, db);
}

// Classifies a failed connection attempt from libpq's message (there is no
// SQLSTATE for connection failures before PostgreSQL 17's libpq).
ErrorKind classify_connect_failure(std::string_view message) {
  // Errors the server sent during startup carry its severity.
  if (contains(message, "FATAL:") || contains(message, "ERROR:")) {
    static constexpr std::array kTransientMarkers = {
        "the database system is starting up",         // 57P03
        "the database system is shutting down",       // 57P03
        "the database system is in recovery mode",    // 57P03
        "the database system is not yet accepting",   // 57P03
        "the database system is not accepting",       // 57P03
        "too many clients already",                   // 53300
        "remaining connection slots are reserved",    // 53300
        "terminating connection",                     // 57P01
    };
    for (const char* marker : kTransientMarkers) {
      if (contains(message, marker)) return ErrorKind::kTransient;
    }
    // Authentication (28P01, 28000), missing database or role, and the rest.
    return ErrorKind::kServer;
  }
  // libpq's own option checks ("invalid sslmode value", "invalid port number", ...).
  std::string_view body = message;
  if (auto pos = body.find(" failed: "); pos != std::string_view::npos) body.remove_prefix(pos + 9);
  if (body.starts_with("invalid ") || contains(body, "could not match")) return ErrorKind::kConfig;
  // Refused, unreachable, name resolution, timeout, connection reset: retry.
  return ErrorKind::kTransient;
}

}  // namespace

bool is_transient_sqlstate(std::string_view sqlstate) {
  return sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03" || sqlstate == "53300";
}

// ---------------------------------------------------------------------------------
// PgResult

PgResult::PgResult(pg_result* result) : result_(result) {}

PgResult::~PgResult() {
  if (result_) PQclear(result_);
}

PgResult::PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

int PgResult::rows() const { return result_ ? PQntuples(result_) : 0; }
int PgResult::columns() const { return result_ ? PQnfields(result_) : 0; }

void PgResult::check(int row, int column) const {
  if (!result_ || row < 0 || row >= rows() || column < 0 || column >= columns()) {
    throw Error::internal(fmt::format("result has {} rows and {} columns; asked for ({}, {})",
                                      rows(), columns(), row, column));
  }
}

std::string_view PgResult::value(int row, int column) const {
  check(row, column);
  return {PQgetvalue(result_, row, column), static_cast<size_t>(PQgetlength(result_, row, column))};
}

bool PgResult::is_null(int row, int column) const {
  check(row, column);
  return PQgetisnull(result_, row, column) != 0;
}

std::optional<std::string> PgResult::optional_value(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return std::string(value(row, column));
}

void PgResult::check_column(int column) const {
  if (!result_ || column < 0 || column >= columns()) {
    throw Error::internal(fmt::format("result has {} columns; asked for column {}", columns(), column));
  }
}

std::string PgResult::column_name(int column) const {
  check_column(column);
  return or_empty(PQfname(result_, column));
}

uint32_t PgResult::column_type(int column) const {
  check_column(column);
  return PQftype(result_, column);
}

int PgResult::column_index(std::string_view name) const {
  for (int c = 0; c < columns(); ++c) {
    if (name == PQfname(result_, c)) return c;
  }
  throw Error::internal(fmt::format("result has no column '{}'", name));
}

int PgResult::status() const { return result_ ? PQresultStatus(result_) : PGRES_FATAL_ERROR; }

// ---------------------------------------------------------------------------------
// PgConnection

PgConnection PgConnection::connect(const std::string& dsn, Mode mode) {
  char* parse_error_raw = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoFree> parsed(PQconninfoParse(dsn.c_str(), &parse_error_raw));
  std::unique_ptr<char, PqFree> parse_error(parse_error_raw);
  if (!parsed) {
    if (!parse_error) throw Error::internal("out of memory parsing a PostgreSQL connection string");
    throw Error::config("the PostgreSQL connection string does not parse: " +
                        one_line(without_quoted(parse_error.get())));
  }

  std::string application_name, options, password, connect_timeout;
  bool dsn_sets_replication = false;
  for (PQconninfoOption* o = parsed.get(); o->keyword; ++o) {
    if (!o->val) continue;
    std::string_view key = o->keyword;
    if (key == "application_name") application_name = o->val;
    if (key == "options") options = o->val;
    if (key == "password") password = o->val;
    if (key == "connect_timeout") connect_timeout = o->val;
    if (key == "replication") dsn_sets_replication = true;
  }
  std::string merged_options = options.empty() ? kSessionOptions : options + " " + kSessionOptions;

  // expand_dbname=1: the first "dbname" is the whole dsn (conninfo or URI); the
  // keywords after it override what it sets.
  std::vector<const char*> keys = {"dbname"};
  std::vector<const char*> values = {dsn.c_str()};
  if (application_name.empty()) {
    keys.push_back("application_name");
    values.push_back("sluice");
  }
  keys.push_back("options");
  values.push_back(merged_options.c_str());
  if (connect_timeout.empty()) {
    keys.push_back("connect_timeout");
    values.push_back(kDefaultConnectTimeout);
  }
  if (mode == Mode::kReplication) {
    keys.push_back("replication");
    values.push_back("database");
  } else if (dsn_sets_replication) {
    keys.push_back("replication");
    values.push_back("false");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  std::unique_ptr<PGconn, ConnFinish> conn(PQconnectdbParams(keys.data(), values.data(), 1));
  if (!conn) throw Error::internal("out of memory creating a PostgreSQL connection");

  PgConnection result;
  result.mode_ = mode;
  result.password_ = password;
  result.where_ = make_where(conn.get());
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string message = result.scrub(one_line(or_empty(PQerrorMessage(conn.get()))));
    std::string user = or_empty(PQuser(conn.get()));
    throw Error(classify_connect_failure(message),
                fmt::format("cannot connect to PostgreSQL {}{}{}: {}", result.where_,
                            user.empty() ? "" : " as ", user, message));
  }
  result.conn_ = conn.release();
  return result;
}

PgConnection::~PgConnection() { close(); }

PgConnection::PgConnection(PgConnection&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)),
      mode_(other.mode_),
      where_(std::move(other.where_)),
      password_(std::move(other.password_)) {}

PgConnection& PgConnection::operator=(PgConnection&& other) noexcept {
  if (this != &other) {
    close();
    conn_ = std::exchange(other.conn_, nullptr);
    mode_ = other.mode_;
    where_ = std::move(other.where_);
    password_ = std::move(other.password_);
  }
  return *this;
}

void PgConnection::close() noexcept {
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
}

bool PgConnection::is_ok() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }
int PgConnection::server_version() const { return conn_ ? PQserverVersion(conn_) : 0; }
std::string PgConnection::server_version_text() const {
  const int v = server_version();
  return std::to_string(v / 10000) + "." + std::to_string(v % 10000);  // 10 and later: major * 10000 + minor
}
int PgConnection::backend_pid() const { return conn_ ? PQbackendPID(conn_) : 0; }

std::string PgConnection::scrub(std::string text) const {
  return redact_secrets(std::move(text), {password_});
}

namespace {
// The statement, shortened, for "while running ..." in messages.
std::string statement_for_message(const std::string& sql) {
  constexpr size_t kMax = 120;
  std::string s = one_line(sql);
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

bool is_error_status(int status) {
  return status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE || status == PGRES_NONFATAL_ERROR;
}
}  // namespace

PgResult PgConnection::exec(const std::string& sql) {
  if (!conn_) throw Error::internal("exec on a closed PostgreSQL connection");
  PgResult result(PQexec(conn_, sql.c_str()));
  if (!result || is_error_status(result.status())) {
    throw error_for(result, "running " + statement_for_message(sql));
  }
  return result;
}

PgResult PgConnection::exec_params(const std::string& sql,
                                   const std::vector<std::optional<std::string>>& params,
                                   const std::vector<uint32_t>& param_types) {
  if (!conn_) throw Error::internal("exec on a closed PostgreSQL connection");
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  std::vector<Oid> types(params.size(), 0);
  for (size_t i = 0; i < param_types.size() && i < types.size(); ++i) types[i] = param_types[i];
  PgResult result(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), types.data(),
                               values.data(), nullptr, nullptr, 0));
  if (!result || is_error_status(result.status())) {
    throw error_for(result, "running " + statement_for_message(sql));
  }
  return result;
}

Error PgConnection::connection_error(std::string_view what) const {
  std::string message = conn_ ? scrub(one_line(or_empty(PQerrorMessage(conn_)))) : "not connected";
  if (message.empty()) message = "no result from the server";
  std::string text = fmt::format("PostgreSQL {}: {}: {}", where_, what, message);
  if (!conn_ || PQstatus(conn_) == CONNECTION_BAD) return Error::transient(std::move(text));
  return Error::server(std::move(text));
}

Error PgConnection::error_for(const PgResult& result, std::string_view what) const {
  if (!result) return connection_error(what);
  pg_result* res = result.native();
  std::string sqlstate = or_empty(PQresultErrorField(res, PG_DIAG_SQLSTATE));
  std::string primary = or_empty(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
  std::string detail = or_empty(PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
  std::string hint = or_empty(PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
  if (primary.empty()) primary = one_line(or_empty(PQresultErrorMessage(res)));
  if (primary.empty() && conn_) primary = one_line(or_empty(PQerrorMessage(conn_)));

  std::string text = fmt::format("PostgreSQL {}: {}: {}", where_, what, primary);
  if (!sqlstate.empty()) text += fmt::format(" (SQLSTATE {})", sqlstate);
  if (!detail.empty()) text += "; " + one_line(detail);
  if (!hint.empty()) text += "; hint: " + one_line(hint);
  text = scrub(std::move(text));

  bool connection_bad = !conn_ || PQstatus(conn_) == CONNECTION_BAD;
  if (connection_bad || is_transient_sqlstate(sqlstate)) return Error::transient(std::move(text));
  if (result.status() == PGRES_BAD_RESPONSE) return Error::protocol(std::move(text));
  return Error::server(std::move(text));
}

std::string PgConnection::quote_identifier(std::string_view identifier) const {
  if (!conn_) throw Error::internal("quote_identifier on a closed PostgreSQL connection");
  std::unique_ptr<char, PqFree> quoted(PQescapeIdentifier(conn_, identifier.data(), identifier.size()));
  if (!quoted) {
    throw Error::invalid_input(fmt::format("cannot quote identifier: {}",
                                           one_line(or_empty(PQerrorMessage(conn_)))));
  }
  return quoted.get();
}

std::string PgConnection::quote_literal(std::string_view literal) const {
  if (!conn_) throw Error::internal("quote_literal on a closed PostgreSQL connection");
  std::unique_ptr<char, PqFree> quoted(PQescapeLiteral(conn_, literal.data(), literal.size()));
  if (!quoted) {
    throw Error::invalid_input(fmt::format("cannot quote literal: {}",
                                           one_line(or_empty(PQerrorMessage(conn_)))));
  }
  return quoted.get();
}

std::string PgConnection::quote_qualified(std::string_view schema, std::string_view name) const {
  return quote_identifier(schema) + "." + quote_identifier(name);
}

}  // namespace sluice::pg
