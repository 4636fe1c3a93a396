// The CopyBoth framing of START_REPLICATION: the messages a walsender sends inside
// CopyData (XLogData 'w', Primary keepalive 'k') and the Standby status update 'r'
// the client sends back. Layouts:
// https://www.postgresql.org/docs/current/protocol-replication.html
//
// Pure functions, no I/O, no state; safe to call from any thread. Input is the body
// of one CopyData message (starting at the 'w'/'k' byte). Lengths are checked in
// release builds: any other first byte, a short message, or trailing bytes after a
// fixed-size keepalive throw Error::protocol naming the message, byte offset and what
// was expected.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>

#include "source/postgres/lsn.h"
#include "source/postgres/pgoutput_decoder.h"  // Timestamp, from/to_pg_timestamp

namespace sluice::pg {

// XLogData 'w': one chunk of the replication stream; for logical replication one
// pgoutput message (feed `payload` to PgOutputDecoder::decode).
struct XLogData {
  Lsn wal_start;  // where this message's data starts in the WAL
  Lsn wal_end;    // current end of WAL on the server
  Timestamp send_time;
  // Points into the buffer given to parse_replication_message(): valid only as long
  // as that buffer is, and never owns. May be empty.
  std::span<const uint8_t> payload;
};

// Primary keepalive 'k'.
struct PrimaryKeepalive {
  Lsn wal_end;  // current end of WAL on the server
  Timestamp send_time;
  bool reply_requested = false;  // answer now or the server times us out
};

using ReplicationMessage = std::variant<XLogData, PrimaryKeepalive>;

// Parses one CopyData body from the server. Throws Error::protocol on anything but a
// well-formed 'w' (at least 25 bytes) or 'k' (exactly 18 bytes, reply flag 0 or 1),
// and on a send time outside the range of Timestamp.
ReplicationMessage parse_replication_message(std::span<const uint8_t> data);

// Standby status update 'r': what the client has durably handled.
struct StandbyStatus {
  Lsn write;  // last WAL byte + 1 received and written
  Lsn flush;  // last WAL byte + 1 flushed (for sluice: acknowledged by every sink)
  Lsn apply;  // last WAL byte + 1 applied
  Timestamp client_time;
  bool reply_requested = false;  // ask the server to answer immediately
};

// The 34-byte CopyData body ('r', 4 x Int64, Byte1), ready for PQputCopyData.
std::string build_standby_status_update(const StandbyStatus& status);

}  // namespace sluice::pg
