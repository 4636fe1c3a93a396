#include "sink/manticore/sphinxql_connection.h"

#include <charconv>
#include <memory>
#include <mutex>

#include <mysql.h>
#include <errmsg.h>

#include "config/redact.h"
#include "sink/manticore/sphinxql_literal.h"

namespace sluice {
namespace {

// Connector/C's client error codes (errmsg.h: CR_MIN_ERROR .. CR_MAX_ERROR) are
// 2000-2999; MariaDB and MySQL server errors are below 2000 or from 3000 up.
constexpr unsigned kClientErrorMin = 2000;
constexpr unsigned kClientErrorMax = 2999;

// Statements are named by their start: a batch REPLACE can be megabytes.
constexpr size_t kStatementShown = 200;

// Sphinx 2.2's default, used when SHOW VARIABLES does not say.
constexpr uint64_t kDefaultMaxAllowedPacket = 8 * 1024 * 1024;

std::string shown(std::string_view statement) {
  if (statement.size() <= kStatementShown) return "'" + std::string(statement) + "'";
  return "'" + std::string(statement.substr(0, kStatementShown)) + "...' (" +
         std::to_string(statement.size()) + " bytes)";
}

// mysql_library_init() is not thread-safe; mysql_init() calls it on first use,
// so the first call is made here, once.
void library_init() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

// The rows of the current result, copied out and freed.
SphinxqlConnection::Result take_result(MYSQL_RES* res) {
  SphinxqlConnection::Result out;
  const unsigned n = mysql_num_fields(res);
  const MYSQL_FIELD* fields = mysql_fetch_fields(res);
  out.columns.reserve(n);
  for (unsigned i = 0; i < n; ++i) out.columns.emplace_back(fields[i].name, fields[i].name_length);
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    const unsigned long* lengths = mysql_fetch_lengths(res);
    SphinxqlConnection::Row r;
    r.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
      if (row[i] == nullptr) {
        r.emplace_back(std::nullopt);
      } else {
        r.emplace_back(std::string(row[i], lengths[i]));
      }
    }
    out.rows.push_back(std::move(r));
  }
  return out;
}

struct ResultFree {
  void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};

}  // namespace

SphinxqlConnection::SphinxqlConnection(const SphinxqlUrl& url, const Options& options, std::string context)
    : url_(url), context_(std::move(context)) {
  library_init();
  mysql_ = mysql_init(nullptr);
  if (mysql_ == nullptr) {
    throw Error::transient(context_ + ": cannot connect to " + url_.redacted() + ": out of memory");
  }
  try {
    const unsigned connect_timeout = static_cast<unsigned>(options.connect_timeout.count());
    const unsigned io_timeout = static_cast<unsigned>(options.io_timeout.count());
    const unsigned protocol = MYSQL_PROTOCOL_TCP;  // "localhost" would mean the Unix socket
    const my_bool no_reconnect = 0;  // a silent reconnect would lose an open transaction
    if (mysql_options(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout) != 0 ||
        mysql_options(mysql_, MYSQL_OPT_READ_TIMEOUT, &io_timeout) != 0 ||
        mysql_options(mysql_, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout) != 0 ||
        mysql_options(mysql_, MYSQL_OPT_PROTOCOL, &protocol) != 0 ||
        mysql_options(mysql_, MYSQL_OPT_RECONNECT, &no_reconnect) != 0) {
      throw Error::internal(context_ + ": Connector/C refused a connection option");
    }
    const char* user = url_.user.empty() ? nullptr : url_.user.c_str();
    const char* password = url_.password ? url_.password->c_str() : nullptr;
    if (mysql_real_connect(mysql_, url_.host.c_str(), user, password, nullptr,
                           static_cast<unsigned>(url_.port), nullptr, 0) == nullptr) {
      const unsigned code = mysql_errno(mysql_);
      std::string message = scrub(context_ + ": cannot connect to " + url_.redacted() + ": " + mysql_error(mysql_));
      broken_ = true;
      if (code >= kClientErrorMin && code <= kClientErrorMax) throw Error::transient(std::move(message));
      throw Error::server(std::move(message));  // an error reply to the handshake (a Manticore login refused)
    }

    max_allowed_packet_ = kDefaultMaxAllowedPacket;
    Result vars = query("SHOW VARIABLES");
    for (const Row& row : vars.rows) {
      if (row.size() < 2 || !row[0] || !row[1] || *row[0] != "max_allowed_packet") continue;
      uint64_t value = 0;
      const std::string& text = *row[1];
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || ptr != text.data() + text.size() || value < 1024) {
        throw Error::protocol(context_ + ": " + url_.redacted() + ": SHOW VARIABLES gave max_allowed_packet '" +
                              text + "'");
      }
      max_allowed_packet_ = value;
    }
  } catch (...) {
    mysql_close(mysql_);
    mysql_ = nullptr;
    throw;
  }
}

SphinxqlConnection::~SphinxqlConnection() {
  if (mysql_ != nullptr) mysql_close(mysql_);
}

std::string SphinxqlConnection::quote(std::string_view text) { return quote_literal(text); }

std::string SphinxqlConnection::scrub(std::string text) const {
  if (!url_.password || url_.password->empty()) return text;
  return redact_secrets(std::move(text), {*url_.password});
}

Error SphinxqlConnection::classify(unsigned code, std::string_view message, std::string_view statement) const {
  if (code >= kClientErrorMin && code <= kClientErrorMax) {
    return Error::transient(scrub(context_ + ": " + url_.redacted() + ": " + shown(statement) + ": " +
                                  std::string(message) + " (client error " + std::to_string(code) + ")"));
  }
  // searchd answers every error with code 1064: only the text tells a server
  // that is going away (SIGTERM: it refuses statements while it saves its RAM
  // chunks) or is full from a statement it will never take.
  for (std::string_view passing : {"Server shutdown in progress", "maxed out"}) {
    if (message.find(passing) != std::string_view::npos) {
      return Error::transient(scrub(context_ + ": " + url_.redacted() + ": " + shown(statement) + ": " +
                                    std::string(message)));
    }
  }
  return Error::server(scrub(context_ + ": searchd refused " + shown(statement) + ": " + std::string(message)));
}

void SphinxqlConnection::ensure_usable() const {
  if (broken_ || mysql_ == nullptr) {
    throw Error::transient(context_ + ": " + url_.redacted() + ": the connection was lost");
  }
}

void SphinxqlConnection::fail(std::string_view statement) {
  const unsigned code = mysql_errno(mysql_);
  Error e = classify(code, mysql_error(mysql_), statement);
  if (e.kind() == ErrorKind::kTransient) broken_ = true;
  throw e;
}

void SphinxqlConnection::send(std::string_view sql) {
  ensure_usable();
  if (sql.find('\0') != std::string_view::npos) {
    throw Error::invalid_input(context_ + ": " + shown(sql) + " holds a NUL byte, which searchd refuses");
  }
  // The packet carries the command byte and the statement.
  if (sql.size() + 1 > max_allowed_packet_) {
    throw Error::invalid_input(context_ + ": a statement of " + std::to_string(sql.size()) +
                               " bytes is over searchd's max_allowed_packet of " +
                               std::to_string(max_allowed_packet_) + " (searchd would drop the connection): " +
                               shown(sql));
  }
  if (mysql_real_query(mysql_, sql.data(), static_cast<unsigned long>(sql.size())) != 0) fail(sql);
}

void SphinxqlConnection::check_warnings(std::string_view statement) {
  if (mysql_warning_count(mysql_) == 0) return;
  std::string messages;
  try {
    Result warnings = query("SHOW WARNINGS");
    for (const Row& row : warnings.rows) {
      if (!messages.empty()) messages += "; ";
      messages += row.size() >= 3 && row[2] ? *row[2] : std::string("(no message)");
    }
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kTransient) throw;
    messages = std::string("SHOW WARNINGS failed: ") + e.what();
  }
  throw Error::invalid_input(scrub(context_ + ": searchd stored " + shown(statement) + " with a warning: " +
                                   (messages.empty() ? std::string("(SHOW WARNINGS was empty)") : messages)));
}

uint64_t SphinxqlConnection::execute(std::string_view sql) {
  send(sql);
  // A statement that unexpectedly returns rows: drain them, the connection must
  // be ready for the next one.
  std::unique_ptr<MYSQL_RES, ResultFree> res(mysql_store_result(mysql_));
  if (!res && mysql_field_count(mysql_) != 0) fail(sql);
  const my_ulonglong affected = res ? 0 : mysql_affected_rows(mysql_);
  res.reset();
  check_warnings(sql);
  return static_cast<uint64_t>(affected);
}

SphinxqlConnection::Result SphinxqlConnection::query(std::string_view sql) {
  send(sql);
  std::unique_ptr<MYSQL_RES, ResultFree> res(mysql_store_result(mysql_));
  if (!res) {
    if (mysql_field_count(mysql_) != 0) fail(sql);
    return {};
  }
  return take_result(res.get());
}

}  // namespace sluice
