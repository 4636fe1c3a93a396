// CopyBoth framing of START_REPLICATION; contract in replication_messages.h, layouts in
// https://www.postgresql.org/docs/current/protocol-replication.html
#include "source/postgres/replication_messages.h"

#include <fmt/format.h>

#include "core/error.h"

namespace sluice::pg {
namespace {

// Byte1 type, Int64 walStart, Int64 walEnd, Int64 sendTime; the payload follows.
constexpr size_t kXLogDataHeaderSize = 1 + 8 + 8 + 8;
// Byte1 type, Int64 walEnd, Int64 sendTime, Byte1 replyRequested.
constexpr size_t kKeepaliveSize = 1 + 8 + 8 + 1;
// Byte1 type, Int64 write, Int64 flush, Int64 apply, Int64 clientTime, Byte1 reply.
constexpr size_t kStatusUpdateSize = 1 + 8 + 8 + 8 + 8 + 1;

// Callers check the length first; integers are in network byte order.
uint64_t read_u64(std::span<const uint8_t> data, size_t at) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value = (value << 8) | data[at + i];
  return value;
}

void put_u64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

Timestamp send_time(std::span<const uint8_t> data, size_t at, const char* message) {
  const auto micros = static_cast<int64_t>(read_u64(data, at));
  try {
    return from_pg_timestamp(micros);
  } catch (const Error&) {
    throw Error::protocol(fmt::format(
        "replication {} message at byte {}: send time of {} microseconds since 2000-01-01 is out "
        "of range",
        message, at, micros));
  }
}

XLogData parse_xlog_data(std::span<const uint8_t> data) {
  if (data.size() < kXLogDataHeaderSize) {
    throw Error::protocol(
        fmt::format("replication XLogData message truncated at byte {}: expected a {}-byte header",
                    data.size(), kXLogDataHeaderSize));
  }
  XLogData m;
  m.wal_start = Lsn(read_u64(data, 1));
  m.wal_end = Lsn(read_u64(data, 9));
  m.send_time = send_time(data, 17, "XLogData");
  m.payload = data.subspan(kXLogDataHeaderSize);
  return m;
}

PrimaryKeepalive parse_keepalive(std::span<const uint8_t> data) {
  if (data.size() < kKeepaliveSize) {
    throw Error::protocol(fmt::format(
        "replication Primary keepalive message truncated at byte {}: expected {} bytes in all",
        data.size(), kKeepaliveSize));
  }
  if (data.size() > kKeepaliveSize) {
    throw Error::protocol(fmt::format(
        "replication Primary keepalive message at byte {}: expected end of message, found {} "
        "trailing bytes",
        kKeepaliveSize, data.size() - kKeepaliveSize));
  }
  PrimaryKeepalive m;
  m.wal_end = Lsn(read_u64(data, 1));
  m.send_time = send_time(data, 9, "Primary keepalive");
  const uint8_t reply = data[17];
  if (reply > 1) {
    throw Error::protocol(fmt::format(
        "replication Primary keepalive message at byte 17: expected reply flag 0 or 1, got {}",
        reply));
  }
  m.reply_requested = reply == 1;
  return m;
}

}  // namespace

ReplicationMessage parse_replication_message(std::span<const uint8_t> data) {
  if (data.empty()) {
    throw Error::protocol(
        "replication message truncated at byte 0: expected 1-byte message type 'w' or 'k'");
  }
  switch (data[0]) {
    case 'w': return parse_xlog_data(data);
    case 'k': return parse_keepalive(data);
    default: break;
  }
  const uint8_t type = data[0];
  throw Error::protocol(
      type >= 0x20 && type < 0x7f
          ? fmt::format(
                "replication message at byte 0: expected type 'w' or 'k', got '{}' (0x{:02x})",
                static_cast<char>(type), type)
          : fmt::format("replication message at byte 0: expected type 'w' or 'k', got 0x{:02x}",
                        type));
}

std::string build_standby_status_update(const StandbyStatus& status) {
  std::string out;
  out.reserve(kStatusUpdateSize);
  out.push_back('r');
  put_u64(out, status.write.value());
  put_u64(out, status.flush.value());
  put_u64(out, status.apply.value());
  put_u64(out, static_cast<uint64_t>(to_pg_timestamp(status.client_time)));
  out.push_back(status.reply_requested ? 1 : 0);
  return out;
}

}  // namespace sluice::pg
