// One logical replication stream from a slot: START_REPLICATION on a
// replication=database connection, then raw CopyData messages in ('w' XLogData,
// 'k' keepalive; parse them with replication_messages.h) and standby status
// updates ('r') out.
// https://www.postgresql.org/docs/current/protocol-replication.html
//
// Errors (sluice::Error):
//   - kTransient: connection lost, the server ended the stream (shutdown, CopyDone),
//     the walsender was terminated (57P01), a status update could not be sent in
//     time, or the slot is active for another PID (55006: usually the previous
//     connection of a restarted sluice, which the server has not reaped yet).
//   - kState: the slot does not exist or has been invalidated (names the slot).
//   - kServer: any other refusal, with SQLSTATE and the server's message (e.g. a
//     missing publication, wal_level, privileges).
//   - kProtocol: START_REPLICATION answered with something other than CopyBoth.
//
// Not thread-safe: one thread reads and sends status updates.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "source/postgres/lsn.h"
#include "source/postgres/pg_connection.h"

namespace sluice::pg {

// IDENTIFY_SYSTEM's answer.
struct SystemIdentity {
  std::string system_id;  // decimal text of the 64-bit system identifier
  int timeline = 0;
  Lsn xlogpos;            // current WAL flush position
  std::string dbname;     // the connection's database (replication=database)
};

// IDENTIFY_SYSTEM on a kReplication connection that is not streaming.
SystemIdentity identify_system(PgConnection& repl_conn);

class ReplicationStream {
 public:
  // Opens its own kReplication connection to `dsn` (PgConnection::connect errors).
  explicit ReplicationStream(const std::string& dsn);
  // Takes over an open kReplication connection (e.g. the one that created the slot).
  explicit ReplicationStream(PgConnection repl_conn);
  ~ReplicationStream() = default;  // closes the connection; the server ends the walsender
  ReplicationStream(const ReplicationStream&) = delete;
  ReplicationStream& operator=(const ReplicationStream&) = delete;

  // START_REPLICATION SLOT "slot" LOGICAL X/Y (proto_version 'N',
  // publication_names '"pub"'[, messages 'true']). A zero `start_lsn` (0/0) starts
  // at the slot's confirmed_flush_lsn. `messages` needs PostgreSQL 14+.
  void start(const std::string& slot, Lsn start_lsn, const std::string& publication, int proto_version,
             bool messages);

  // The next CopyData message from the server (raw bytes, starting with 'w' or
  // 'k'), or nullopt when none arrives within `timeout` (0 = only what is buffered
  // or immediately readable).
  std::optional<std::vector<uint8_t>> read(std::chrono::milliseconds timeout);

  // Sends a standby status update. `flush` is what the server may discard up to
  // (confirmed_flush_lsn). Waits at most `timeout` for the socket to take it.
  void send_status(Lsn write, Lsn flush, Lsn apply, bool reply_requested,
                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // IDENTIFY_SYSTEM; only before start().
  SystemIdentity identify_system();

  bool streaming() const { return streaming_; }
  const std::string& slot() const { return slot_; }
  // The connection (not while streaming: it speaks COPY then).
  PgConnection& connection() { return conn_; }
  void close() noexcept;

 private:
  [[noreturn]] void throw_stream_error(const PgResult& result, const std::string& what);
  [[noreturn]] void end_of_copy();
  // Waits until the socket is readable (`events` POLLIN) or writable (POLLOUT) or
  // `timeout` passes; returns the poll revents (0 on timeout).
  int wait_socket(short events, std::chrono::milliseconds timeout);

  PgConnection conn_;
  std::string slot_;
  bool streaming_ = false;
};

}  // namespace sluice::pg
