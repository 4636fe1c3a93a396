// One blocking SphinxQL connection (Manticore Search, or Sphinx 2.2 searchd
// listening with `mysql41`), through MariaDB Connector/C, owned RAII-style. Only
// sphinxql_connection.cc includes the Connector/C header; the MYSQL* never
// leaves it.
//
// SphinxQL is not MySQL, and this class is written for what searchd does
// (NOTES-search.md has the observations):
//   - no prepared statements: values go in as literals (sphinxql_literal.h);
//   - no databases, no authentication in Sphinx 2.2 (user/password are sent but
//     ignored);
//   - every server error is code 1064 with SQLSTATE 42000, whatever the cause;
//   - a value searchd cannot store (malformed JSON, a JSON scalar) is not an
//     error: the row is written with the attribute empty and a *warning*. So
//     execute() checks the warning count and throws (see below); send writes
//     inside BEGIN ... COMMIT so that the caller can ROLLBACK after one;
//   - a statement larger than searchd's max_allowed_packet (8 MiB by default)
//     makes searchd drop the connection, which the client reports as "server has
//     gone away": retrying it would fail forever. The connection reads the limit
//     at connect (SHOW VARIABLES) and refuses such a statement before sending it;
//   - SELECT has an implicit LIMIT 20 and max_matches 1000: a caller reading
//     many rows says `LIMIT n OPTION max_matches=n`; SHOW META after a SELECT
//     tells the total found;
//   - document ids are unsigned 64-bit in searchd (printed unsigned: -1 comes
//     back as 18446744073709551615); sluice uses 1..2^63-1 (document_id.h).
//
// Errors (core/error.h):
//   - cannot connect, connection refused or lost, timed out, "server has gone
//     away" (Connector/C client errors CR_*, codes 2000-2999), and the replies
//     of a searchd that is stopping ("Server shutdown in progress") or full
//     ("maxed out"): Error::transient,
//     and the connection is broken() from then on; the owner drops it and
//     reconnects. A COMMIT that fails this way is in doubt (applied or not): the
//     caller must be able to apply the same batch again (REPLACE is idempotent).
//   - an error reply from searchd (syntax, unknown index or column, duplicate
//     id on INSERT, ...): Error::server("<context>: searchd refused <statement>:
//     <searchd's message>"); the connection stays usable.
//   - warnings: Error::invalid_input("<context>: searchd stored <statement> with
//     a warning: <messages>"); the connection stays usable.
//   - a statement over max_allowed_packet or holding a NUL byte:
//     Error::invalid_input, nothing sent.
// Statements are named in messages by their first 200 bytes. No message contains
// the password.
//
// Not thread-safe: one connection is used by one thread at a time. Different
// connections may be used from different threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "sink/manticore/sphinxql_url.h"

struct st_mysql;  // MYSQL, opaque here

namespace sluice {

class SphinxqlConnection {
 public:
  struct Options {
    std::chrono::seconds connect_timeout{5};
    // Each read or write of a reply or statement; past this the statement counts
    // as lost (transient). Connector/C counts in whole seconds.
    std::chrono::seconds io_timeout{60};
  };

  // A row of a result set: nullopt for SQL NULL (searchd sends NULL for an
  // empty json attribute).
  using Row = std::vector<std::optional<std::string>>;
  struct Result {
    std::vector<std::string> columns;  // names, as searchd returns them
    std::vector<Row> rows;
  };

  // Connects over TCP (never a Unix socket, even for "localhost") with the
  // timeouts above, and reads max_allowed_packet. `context` names the owner in
  // messages (e.g. "search sink 'docs'"). Throws as the header says.
  SphinxqlConnection(const SphinxqlUrl& url, const Options& options, std::string context);
  ~SphinxqlConnection();
  SphinxqlConnection(const SphinxqlConnection&) = delete;
  SphinxqlConnection& operator=(const SphinxqlConnection&) = delete;

  // A statement without a result set (REPLACE, DELETE, BEGIN, COMMIT, ALTER,
  // ...). Returns the affected-row count searchd reports (REPLACE: the rows
  // sent; DELETE ... WHERE id IN (...): the documents it removed). Throws on
  // warnings (above).
  uint64_t execute(std::string_view sql);
  // A statement with a result set (SELECT, SHOW ..., DESCRIBE). A statement
  // without one gives an empty Result.
  Result query(std::string_view sql);

  // searchd's max_allowed_packet, as read at connect (the statement limit is one
  // byte less: the packet also carries the command byte).
  uint64_t max_allowed_packet() const { return max_allowed_packet_; }

  // True once the connection failed; every later call throws Error::transient.
  bool broken() const { return broken_; }

  // SphinxQL string literal of `text` (sphinxql_literal.h).
  static std::string quote(std::string_view text);

  // The Error for Connector/C error `code` with `message`, as classified above:
  // 2000-2999 -> transient, anything else -> server. `statement` is named.
  Error classify(unsigned code, std::string_view message, std::string_view statement) const;

 private:
  void send(std::string_view sql);
  [[noreturn]] void fail(std::string_view statement);
  void ensure_usable() const;
  std::string scrub(std::string text) const;
  void check_warnings(std::string_view statement);

  SphinxqlUrl url_;
  std::string context_;
  st_mysql* mysql_ = nullptr;
  bool broken_ = false;
  uint64_t max_allowed_packet_ = 0;
};

}  // namespace sluice
