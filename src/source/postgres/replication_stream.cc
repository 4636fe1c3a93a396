#include "source/postgres/replication_stream.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "source/postgres/replication_messages.h"
#include "source/postgres/slot.h"

namespace sluice::pg {

namespace {

struct PqFree {
  void operator()(void* p) const { PQfreemem(p); }
};

std::string or_empty(const char* s) { return s ? std::string(s) : std::string(); }

bool contains(std::string_view text, std::string_view needle) { return text.find(needle) != std::string_view::npos; }

// The replication grammar (repl_scanner.l) knows '...' literals with '' doubling
// and "..." identifiers with "" doubling, no E'' strings: quote by hand.
std::string quote_repl_literal(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string quote_repl_identifier(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

SystemIdentity identify_system(PgConnection& repl_conn) {
  if (repl_conn.mode() != PgConnection::Mode::kReplication) {
    throw Error::internal("IDENTIFY_SYSTEM needs a replication connection");
  }
  PgResult r = repl_conn.exec("IDENTIFY_SYSTEM");
  if (r.rows() != 1 || r.columns() < 4) {
    throw Error::protocol(fmt::format("PostgreSQL {}: IDENTIFY_SYSTEM returned {} rows of {} columns",
                                      repl_conn.where(), r.rows(), r.columns()));
  }
  SystemIdentity id;
  id.system_id = r.value(0, 0);
  auto timeline = r.value(0, 1);
  auto [ptr, ec] = std::from_chars(timeline.data(), timeline.data() + timeline.size(), id.timeline);
  if (ec != std::errc() || ptr != timeline.data() + timeline.size()) {
    throw Error::protocol(fmt::format("PostgreSQL {}: IDENTIFY_SYSTEM timeline '{}' is not a number",
                                      repl_conn.where(), timeline));
  }
  id.xlogpos = Lsn::parse(r.value(0, 2));
  if (!r.is_null(0, 3)) id.dbname = r.value(0, 3);
  return id;
}

ReplicationStream::ReplicationStream(const std::string& dsn)
    : conn_(PgConnection::connect(dsn, PgConnection::Mode::kReplication)) {}

ReplicationStream::ReplicationStream(PgConnection repl_conn) : conn_(std::move(repl_conn)) {
  if (!conn_.is_open() || conn_.mode() != PgConnection::Mode::kReplication) {
    throw Error::internal("ReplicationStream needs an open replication connection");
  }
}

SystemIdentity ReplicationStream::identify_system() {
  if (streaming_) throw Error::internal("IDENTIFY_SYSTEM while streaming");
  return pg::identify_system(conn_);
}

void ReplicationStream::close() noexcept {
  conn_.close();
  streaming_ = false;
}

void ReplicationStream::start(const std::string& slot, Lsn start_lsn, const std::string& publication,
                              int proto_version, bool messages) {
  if (streaming_) throw Error::internal(fmt::format("replication stream of slot {} already started", slot_));
  if (!conn_.is_open()) throw Error::internal("ReplicationStream::start on a closed connection");
  validate_slot_name(slot);
  if (publication.empty()) throw Error::invalid_input("START_REPLICATION needs a publication name");
  slot_ = slot;

  std::string sql = fmt::format(
      "START_REPLICATION SLOT {} LOGICAL {} (proto_version '{}', publication_names {}", quote_repl_identifier(slot),
      start_lsn.str(), proto_version, quote_repl_literal(quote_repl_identifier(publication)));
  if (messages) sql += ", messages 'true'";
  sql += ")";

  PgResult result(PQexec(conn_.native(), sql.c_str()));
  if (!result || result.status() != PGRES_COPY_BOTH) {
    if (!result || result.status() == PGRES_FATAL_ERROR || result.status() == PGRES_BAD_RESPONSE) {
      throw_stream_error(result, fmt::format("starting replication from slot {}", slot));
    }
    throw Error::protocol(fmt::format("PostgreSQL {}: START_REPLICATION of slot {} answered {} instead of CopyBoth",
                                      conn_.where(), slot, PQresStatus(static_cast<ExecStatusType>(result.status()))));
  }
  // Nonblocking from here: PQputCopyData/PQflush must never hang on a full socket
  // buffer (send_status waits with its own timeout instead).
  if (PQsetnonblocking(conn_.native(), 1) != 0) {
    throw conn_.connection_error("switching the replication connection to nonblocking mode");
  }
  streaming_ = true;
}

void ReplicationStream::throw_stream_error(const PgResult& result, const std::string& what) {
  streaming_ = false;
  if (result && result.status() == PGRES_FATAL_ERROR && conn_.is_ok()) {
    std::string sqlstate = or_empty(PQresultErrorField(result.native(), PG_DIAG_SQLSTATE));
    std::string primary = or_empty(PQresultErrorField(result.native(), PG_DIAG_MESSAGE_PRIMARY));
    std::string detail = or_empty(PQresultErrorField(result.native(), PG_DIAG_MESSAGE_DETAIL));
    std::string text = conn_.scrub(fmt::format("PostgreSQL {}: {}: {} (SQLSTATE {}){}{}", conn_.where(), what,
                                               primary, sqlstate, detail.empty() ? "" : "; ", detail));
    bool about_slot = contains(primary, "replication slot");
    // 42704: replication slot "x" does not exist. Invalidated (max_slot_wal_keep_size,
    // or a removed catalog row on a standby): "can no longer get changes from
    // replication slot" / "This slot has been invalidated ...".
    if ((sqlstate == "42704" && about_slot) || contains(primary, "can no longer get changes") ||
        (about_slot && (contains(primary, "invalidated") || contains(detail, "invalidated")))) {
      throw Error::state(std::move(text));
    }
    // 55006: replication slot "x" is active for PID n.
    if (sqlstate == "55006") throw Error::transient(std::move(text));
  }
  throw conn_.error_for(result, what);
}

int ReplicationStream::wait_socket(short events, std::chrono::milliseconds timeout) {
  int fd = PQsocket(conn_.native());
  if (fd < 0) throw conn_.connection_error("waiting on the replication connection");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int wait_ms = remaining.count() > 0 ? static_cast<int>(std::min<int64_t>(remaining.count(), 60'000)) : 0;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, wait_ms);
    if (rc > 0) return p.revents;
    if (rc == 0) {
      if (wait_ms == 0 || std::chrono::steady_clock::now() >= deadline) return 0;
      continue;
    }
    if (errno == EINTR) continue;
    throw Error::transient(fmt::format("PostgreSQL {}: poll() on the replication connection failed: {}",
                                       conn_.where(), std::strerror(errno)));
  }
}

std::optional<std::vector<uint8_t>> ReplicationStream::read(std::chrono::milliseconds timeout) {
  if (!streaming_) throw Error::internal("ReplicationStream::read before start()");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    char* raw = nullptr;
    int n = PQgetCopyData(conn_.native(), &raw, 1);
    std::unique_ptr<char, PqFree> buffer(raw);
    if (n > 0) {
      const auto* bytes = reinterpret_cast<const uint8_t*>(buffer.get());
      return std::vector<uint8_t>(bytes, bytes + n);
    }
    if (n == -1) end_of_copy();
    if (n == -2) {
      streaming_ = false;
      throw conn_.connection_error(fmt::format("reading the replication stream of slot {}", slot_));
    }
    // n == 0: nothing complete buffered; wait for the socket.
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (wait_socket(POLLIN, std::max(remaining, std::chrono::milliseconds(0))) == 0) return std::nullopt;
    if (PQconsumeInput(conn_.native()) == 0) {
      streaming_ = false;
      throw conn_.connection_error(fmt::format("reading the replication stream of slot {}", slot_));
    }
  }
}

void ReplicationStream::end_of_copy() {
  // The server left COPY: an ErrorResponse (walsender error or termination), or
  // CopyDone (shutdown). PQgetResult tells which.
  streaming_ = false;
  std::string what = fmt::format("replication stream of slot {}", slot_);
  PgResult result(PQgetResult(conn_.native()));
  if (!result || result.status() == PGRES_FATAL_ERROR || result.status() == PGRES_BAD_RESPONSE) {
    throw_stream_error(result, what);
  }
  // CopyDone: a walsender ends the stream when the server shuts down.
  throw Error::transient(fmt::format("PostgreSQL {}: the server ended the {} (shutting down?)", conn_.where(), what));
}

void ReplicationStream::send_status(Lsn write, Lsn flush, Lsn apply, bool reply_requested,
                                    std::chrono::milliseconds timeout) {
  if (!streaming_) throw Error::internal("ReplicationStream::send_status before start()");
  StandbyStatus status;
  status.write = write;
  status.flush = flush;
  status.apply = apply;
  status.client_time = std::chrono::system_clock::now();
  status.reply_requested = reply_requested;
  const std::string message = build_standby_status_update(status);

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto timed_out = [&] {
    streaming_ = false;
    return Error::transient(fmt::format(
        "PostgreSQL {}: could not send a standby status update for slot {} within {} ms (socket not writable)",
        conn_.where(), slot_, timeout.count()));
  };
  auto wait_writable = [&] {
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) throw timed_out();
    int revents = wait_socket(POLLOUT | POLLIN, remaining);
    if (revents == 0) throw timed_out();
    // Read what arrived while we wait, so a server blocked on sending to us does
    // not deadlock with us blocked on sending to it (libpq docs, PQflush).
    if ((revents & POLLIN) && PQconsumeInput(conn_.native()) == 0) {
      streaming_ = false;
      throw conn_.connection_error(fmt::format("sending a status update for slot {}", slot_));
    }
  };

  while (true) {
    int rc = PQputCopyData(conn_.native(), message.data(), static_cast<int>(message.size()));
    if (rc == 1) break;
    if (rc < 0) {
      streaming_ = false;
      throw conn_.connection_error(fmt::format("sending a status update for slot {}", slot_));
    }
    wait_writable();  // rc == 0: libpq's buffer is full (nonblocking)
  }
  while (true) {
    int rc = PQflush(conn_.native());
    if (rc == 0) return;
    if (rc < 0) {
      streaming_ = false;
      throw conn_.connection_error(fmt::format("sending a status update for slot {}", slot_));
    }
    wait_writable();
  }
}

}  // namespace sluice::pg
