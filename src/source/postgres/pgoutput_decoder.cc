// Decodes pgoutput messages. Layouts follow
// https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html;
// the contract (what is an error, what the messages say) is in pgoutput_decoder.h.
#include "source/postgres/pgoutput_decoder.h"


#include <algorithm>
#include <ratio>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"
#include "source/postgres/replica_identity.h"

namespace sluice::pg {
namespace {

using RelationMap = std::unordered_map<uint32_t, RelationPtr>;

// --- Timestamps -------------------------------------------------------------------

// PostgreSQL's epoch, 2000-01-01 00:00:00 UTC, in Unix time (system_clock's epoch
// since C++20).
constexpr std::chrono::microseconds kPgEpoch = std::chrono::seconds(946'684'800);

static_assert(std::ratio_less_equal_v<Timestamp::period, std::micro>,
              "Timestamp must hold microseconds exactly");
// The range of Timestamp, in microseconds since the Unix epoch. With libstdc++'s
// nanosecond clock this is roughly the years 1678..2262.
constexpr int64_t kMaxClockMicros =
    std::chrono::duration_cast<std::chrono::microseconds>(Timestamp::duration::max()).count();
constexpr int64_t kMinClockMicros =
    std::chrono::duration_cast<std::chrono::microseconds>(Timestamp::duration::min()).count();

// Whether kPgEpoch + micros fits in a Timestamp. Written so that no step overflows.
bool representable(int64_t micros_since_2000) {
  const int64_t epoch = kPgEpoch.count();
  if (micros_since_2000 >= 0) return micros_since_2000 <= kMaxClockMicros - epoch;
  return micros_since_2000 + epoch >= kMinClockMicros;
}

// --- Bounds-checked reader ---------------------------------------------------------

// "'I' (0x49)" for printable bytes, "0x07" otherwise: error messages must show what
// the server sent even when it is garbage.
std::string describe_byte(uint8_t byte) {
  if (byte >= 0x20 && byte < 0x7f)
    return fmt::format("'{}' (0x{:02x})", static_cast<char>(byte), byte);
  return fmt::format("0x{:02x}", byte);
}

// Reads one message. Every read checks the remaining length first and throws
// Error::protocol naming the message, the byte offset and the expected field, so
// that a short or garbled message can never read past the buffer (STYLE.md: bounds
// are checked in release builds). `message_name` must outlive the reader.
class Reader {
 public:
  Reader(std::span<const uint8_t> data, std::string_view message_name)
      : data_(data), name_(message_name) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }

  uint8_t u8(std::string_view field) {
    need(1, field);
    return data_[pos_++];
  }
  int16_t i16(std::string_view field) { return static_cast<int16_t>(big_endian<uint16_t>(field)); }
  uint32_t u32(std::string_view field) { return big_endian<uint32_t>(field); }
  int32_t i32(std::string_view field) { return static_cast<int32_t>(big_endian<uint32_t>(field)); }
  Lsn lsn(std::string_view field) { return Lsn(big_endian<uint64_t>(field)); }

  Timestamp timestamp(std::string_view field) {
    const size_t at = pos_;
    const auto micros = static_cast<int64_t>(big_endian<uint64_t>(field));
    if (!representable(micros)) {
      fail(at,
           fmt::format("{} of {} microseconds since 2000-01-01 is out of range", field, micros));
    }
    return from_pg_timestamp(micros);
  }

  // A NUL-terminated string (the protocol's "String"); the NUL is consumed.
  std::string cstring(std::string_view field) {
    const auto* begin = data_.data() + pos_;
    const auto* end = data_.data() + data_.size();
    const auto* nul = std::find(begin, end, uint8_t{0});
    if (nul == end) truncated(fmt::format("NUL-terminated {}", field));
    std::string out(reinterpret_cast<const char*>(begin), static_cast<size_t>(nul - begin));
    pos_ += out.size() + 1;
    return out;
  }

  // Exactly `n` bytes (the protocol's "Byte n").
  std::string bytes(size_t n, std::string_view field) {
    if (remaining() < n) truncated(fmt::format("{} bytes of {}", n, field));
    std::string out(reinterpret_cast<const char*>(data_.data() + pos_), n);
    pos_ += n;
    return out;
  }

  // A complete message has no bytes left over: trailing bytes mean the layout we
  // decoded is not the one the server wrote.
  void expect_end() {
    if (remaining() != 0) {
      fail(pos_, fmt::format("expected end of message, found {} trailing byte{}", remaining(),
                             remaining() == 1 ? "" : "s"));
    }
  }

  [[noreturn]] void fail(size_t at, std::string_view detail) const {
    throw Error::protocol(fmt::format("pgoutput {} message at byte {}: {}", name_, at, detail));
  }

 private:
  [[noreturn]] void truncated(std::string_view expected) const {
    throw Error::protocol(fmt::format("pgoutput {} message truncated at byte {}: expected {}",
                                      name_, pos_, expected));
  }

  void need(size_t n, std::string_view field) const {
    if (remaining() < n) truncated(fmt::format("{}-byte {}", n, field));
  }

  // Integers on the wire are in network byte order.
  template <typename T>
  T big_endian(std::string_view field) {
    need(sizeof(T), field);
    T value = 0;
    for (size_t i = 0; i < sizeof(T); ++i) value = static_cast<T>((value << 8) | data_[pos_ + i]);
    pos_ += sizeof(T);
    return value;
  }

  std::span<const uint8_t> data_;
  std::string_view name_;
  size_t pos_ = 0;
};

// --- Message names -----------------------------------------------------------------

const char* message_name(uint8_t type) {
  switch (type) {
    case 'B': return "Begin";
    case 'C': return "Commit";
    case 'O': return "Origin";
    case 'R': return "Relation";
    case 'Y': return "Type";
    case 'I': return "Insert";
    case 'U': return "Update";
    case 'D': return "Delete";
    case 'T': return "Truncate";
    case 'M': return "Logical Decoding Message";
    case 'S': return "Stream Start";
    case 'E': return "Stream Stop";
    case 'c': return "Stream Commit";
    case 'A': return "Stream Abort";
    case 'b': return "Begin Prepare";
    case 'P': return "Prepare";
    case 'K': return "Commit Prepared";
    case 'r': return "Rollback Prepared";
    case 'p': return "Stream Prepare";
    default: return nullptr;
  }
}

// --- Shared pieces ------------------------------------------------------------------

// Protocol 2 prefixes R/Y/I/U/D/T/M with the xid only inside a streamed block.
std::optional<uint32_t> stream_xid(Reader& r, bool in_stream) {
  if (!in_stream) return std::nullopt;
  return r.u32("transaction ID");
}

// The docs: "Namespace (empty string for pg_catalog)".
std::string namespace_name(Reader& r) {
  std::string name = r.cstring("namespace");
  if (name.empty()) name = "pg_catalog";
  return name;
}

RelationPtr known_relation(Reader& r, const RelationMap& relations) {
  const size_t at = r.offset();
  const uint32_t oid = r.u32("relation OID");
  auto it = relations.find(oid);
  if (it == relations.end()) {
    r.fail(at,
           fmt::format("unknown relation OID {}: no Relation message was received for it", oid));
  }
  return it->second;
}

// TupleData: Int16 column count, then per column a kind byte ('n' null, 'u' unchanged
// TOAST, 't' text with Int32 length, 'b' binary with Int32 length).
std::vector<Value> tuple(Reader& r, const Relation& relation) {
  const size_t count_at = r.offset();
  const int16_t count = r.i16("tuple column count");
  if (count < 0) r.fail(count_at, fmt::format("negative tuple column count {}", count));
  if (static_cast<size_t>(count) != relation.columns.size()) {
    r.fail(count_at, fmt::format("tuple has {} columns but relation {} (OID {}) has {}", count,
                                 relation.qualified_name(), relation.source_id, relation.columns.size()));
  }
  std::vector<Value> values;
  values.reserve(static_cast<size_t>(count));
  for (const Column& column : relation.columns) {
    const size_t kind_at = r.offset();
    const uint8_t kind = r.u8("tuple value kind");
    switch (kind) {
      case 'n': values.push_back(Value::null()); break;
      case 'u': values.push_back(Value::unchanged_toast()); break;
      case 't': {
        const size_t length_at = r.offset();
        const int32_t length = r.i32("column length");
        if (length < 0) {
          r.fail(length_at,
                 fmt::format("negative length {} for column \"{}\"", length, column.name));
        }
        values.push_back(Value::of(r.bytes(static_cast<size_t>(length), "column value")));
        break;
      }
      case 'b':
        r.fail(kind_at, fmt::format("binary value for column \"{}\", but sluice requests the text "
                                    "format (binary = false)",
                                    column.name));
      default:
        r.fail(kind_at, fmt::format("expected tuple value kind 'n', 'u' or 't', got {}",
                                    describe_byte(kind)));
    }
  }
  return values;
}

// A 0/1 byte. Anything else means we are not reading the layout the server wrote.
bool boolean(Reader& r, std::string_view field) {
  const size_t at = r.offset();
  const uint8_t value = r.u8(field);
  if (value > 1) r.fail(at, fmt::format("expected {} 0 or 1, got {}", field, value));
  return value == 1;
}

// --- One function per message; each consumes the whole message ---------------------

BeginMessage decode_begin(Reader& r) {
  BeginMessage m;
  m.final_lsn = r.lsn("final LSN");
  m.commit_time = r.timestamp("commit timestamp");
  m.xid = r.u32("transaction ID");
  r.expect_end();
  return m;
}

CommitMessage decode_commit(Reader& r) {
  CommitMessage m;
  m.flags = r.u8("flags");  // "currently unused": kept, not judged
  m.commit_lsn = r.lsn("commit LSN");
  m.end_lsn = r.lsn("end LSN");
  m.commit_time = r.timestamp("commit timestamp");
  r.expect_end();
  return m;
}

OriginMessage decode_origin(Reader& r) {
  OriginMessage m;
  m.commit_lsn = r.lsn("origin commit LSN");
  m.name = r.cstring("origin name");
  r.expect_end();
  return m;
}

// Returns the relation; the caller stores it once the whole message decoded.
std::pair<std::optional<uint32_t>, std::shared_ptr<Relation>> decode_relation(Reader& r,
                                                                              bool in_stream) {
  auto xid = stream_xid(r, in_stream);
  auto rel = std::make_shared<Relation>();
  rel->source_id = r.u32("relation OID");
  rel->schema = namespace_name(r);
  const size_t name_at = r.offset();
  rel->name = r.cstring("relation name");
  if (rel->name.empty()) r.fail(name_at, "empty relation name");

  const size_t identity_at = r.offset();
  const uint8_t identity = r.u8("replica identity");
  if (identity != 'd' && identity != 'n' && identity != 'f' && identity != 'i') {
    r.fail(identity_at, fmt::format("expected replica identity 'd', 'n', 'f' or 'i', got {}",
                                    describe_byte(identity)));
  }
  rel->old_row = old_row_of(static_cast<char>(identity));

  const size_t count_at = r.offset();
  const int16_t count = r.i16("column count");
  if (count < 0) r.fail(count_at, fmt::format("negative column count {}", count));
  rel->columns.reserve(static_cast<size_t>(count));
  for (int16_t i = 0; i < count; ++i) {
    Column column;
    const size_t flags_at = r.offset();
    const uint8_t flags = r.u8("column flags");
    if ((flags & ~1u) != 0) {
      r.fail(flags_at,
             fmt::format("expected column flags 0 or 1 (part of the key), got {}", flags));
    }
    column.in_identity = (flags & 1u) != 0;
    const size_t column_name_at = r.offset();
    column.name = r.cstring("column name");
    if (column.name.empty()) r.fail(column_name_at, "empty column name");
    column.source_type_id = r.u32("column type OID");
    column.source_type_modifier = r.i32("column type modifier");
    rel->columns.push_back(std::move(column));
  }
  r.expect_end();
  return {xid, std::move(rel)};
}

TypeMessage decode_type(Reader& r, bool in_stream) {
  TypeMessage m;
  m.xid = stream_xid(r, in_stream);
  m.oid = r.u32("type OID");
  m.schema = namespace_name(r);
  m.name = r.cstring("type name");
  r.expect_end();
  return m;
}

// Byte1 that must be one of `allowed` (e.g. the 'N' before a new tuple).
uint8_t tag(Reader& r, std::string_view allowed, std::string_view what) {
  const size_t at = r.offset();
  const uint8_t value = r.u8(what);
  if (allowed.find(static_cast<char>(value)) == std::string_view::npos) {
    r.fail(at, fmt::format("expected {}, got {}", what, describe_byte(value)));
  }
  return value;
}

InsertMessage decode_insert(Reader& r, bool in_stream, const RelationMap& relations) {
  InsertMessage m;
  m.xid = stream_xid(r, in_stream);
  m.relation = known_relation(r, relations);
  tag(r, "N", "new tuple marker 'N'");
  m.new_values = tuple(r, *m.relation);
  r.expect_end();
  return m;
}

UpdateMessage decode_update(Reader& r, bool in_stream, const RelationMap& relations) {
  UpdateMessage m;
  m.xid = stream_xid(r, in_stream);
  m.relation = known_relation(r, relations);
  // Optional 'K' (old key) or 'O' (old row), then the mandatory 'N'.
  const uint8_t first = tag(r, "KON", "tuple marker 'K', 'O' or 'N'");
  if (first != 'N') {
    m.old_kind = static_cast<char>(first);
    m.old_values = tuple(r, *m.relation);
    tag(r, "N", "new tuple marker 'N'");
  }
  m.new_values = tuple(r, *m.relation);
  r.expect_end();
  return m;
}

DeleteMessage decode_delete(Reader& r, bool in_stream, const RelationMap& relations) {
  DeleteMessage m;
  m.xid = stream_xid(r, in_stream);
  m.relation = known_relation(r, relations);
  m.old_kind = static_cast<char>(tag(r, "KO", "old tuple marker 'K' or 'O'"));
  m.old_values = tuple(r, *m.relation);
  r.expect_end();
  return m;
}

TruncateMessage decode_truncate(Reader& r, bool in_stream, const RelationMap& relations) {
  TruncateMessage m;
  m.xid = stream_xid(r, in_stream);
  const size_t count_at = r.offset();
  const int32_t count = r.i32("relation count");
  if (count < 0) r.fail(count_at, fmt::format("negative relation count {}", count));
  const size_t options_at = r.offset();
  const uint8_t options = r.u8("option bits");
  if ((options & ~3u) != 0) {
    r.fail(
        options_at,
        fmt::format("expected option bits 1 (CASCADE) and 2 (RESTART IDENTITY), got {}", options));
  }
  m.cascade = (options & 1u) != 0;
  m.restart_identity = (options & 2u) != 0;
  // The count is untrusted: reserve no more than the bytes left could hold.
  m.relations.reserve(std::min(static_cast<size_t>(count), r.remaining() / 4));
  for (int32_t i = 0; i < count; ++i) m.relations.push_back(known_relation(r, relations));
  r.expect_end();
  return m;
}

LogicalMessage decode_logical(Reader& r, bool in_stream) {
  LogicalMessage m;
  m.xid = stream_xid(r, in_stream);
  const size_t flags_at = r.offset();
  const uint8_t flags = r.u8("flags");
  if ((flags & ~1u) != 0) {
    r.fail(flags_at, fmt::format("expected flags 0 or 1 (transactional), got {}", flags));
  }
  m.transactional = flags == 1;
  m.lsn = r.lsn("message LSN");
  m.prefix = r.cstring("prefix");
  const size_t length_at = r.offset();
  const int32_t length = r.i32("content length");
  if (length < 0) r.fail(length_at, fmt::format("negative content length {}", length));
  m.content = r.bytes(static_cast<size_t>(length), "content");
  r.expect_end();
  return m;
}

StreamStartMessage decode_stream_start(Reader& r) {
  StreamStartMessage m;
  m.xid = r.u32("transaction ID");
  m.first_segment = boolean(r, "first-segment flag");
  r.expect_end();
  return m;
}

StreamCommitMessage decode_stream_commit(Reader& r) {
  StreamCommitMessage m;
  m.xid = r.u32("transaction ID");
  m.flags = r.u8("flags");  // "currently unused": kept, not judged
  m.commit_lsn = r.lsn("commit LSN");
  m.end_lsn = r.lsn("end LSN");
  m.commit_time = r.timestamp("commit timestamp");
  r.expect_end();
  return m;
}

StreamAbortMessage decode_stream_abort(Reader& r) {
  StreamAbortMessage m;
  m.xid = r.u32("transaction ID");
  m.subxid = r.u32("subtransaction ID");
  // Protocol 4 (streaming = parallel) appends abort LSN and time; we ask for 1 or 2.
  r.expect_end();
  return m;
}

}  // namespace

PgOutputDecoder::PgOutputDecoder(int protocol_version) : protocol_version_(protocol_version) {
  if (protocol_version != 1 && protocol_version != 2) {
    throw Error::internal(fmt::format(
        "pgoutput protocol version {} is not supported (sluice speaks 1 and 2)", protocol_version));
  }
}

Message PgOutputDecoder::decode(std::span<const uint8_t> data) {
  if (data.empty()) {
    throw Error::protocol("pgoutput message truncated at byte 0: expected 1-byte message type");
  }
  const uint8_t type_byte = data[0];
  const char* name = message_name(type_byte);
  if (name == nullptr) {
    throw Error::protocol(fmt::format("pgoutput message at byte 0: unknown message type {}",
                                      describe_byte(type_byte)));
  }
  Reader r(data, name);
  r.u8("message type");

  // Streaming changes the layout of later messages, so the block structure is checked
  // rather than trusted: a misplaced marker means we would misread what follows.
  auto require_streaming = [&] {
    if (protocol_version_ < 2) {
      r.fail(0, fmt::format("streamed transactions need protocol version 2, this stream uses {}",
                            protocol_version_));
    }
  };
  auto require_outside_stream = [&] {
    if (in_stream_) r.fail(0, "not allowed between Stream Start and Stream Stop");
  };

  switch (type_byte) {
    case 'B': require_outside_stream(); return decode_begin(r);
    case 'C': require_outside_stream(); return decode_commit(r);
    case 'O': return decode_origin(r);  // also sent right after Stream Start
    case 'R': {
      auto [xid, rel] = decode_relation(r, in_stream_);
      RelationPtr stored = std::move(rel);
      // A new Relation message for a known OID (e.g. after ALTER TABLE) replaces the
      // old shape; changes already decoded keep the RelationPtr they were built with.
      relations_[static_cast<uint32_t>(stored->source_id)] = stored;
      return RelationMessage{xid, std::move(stored)};
    }
    case 'Y': return decode_type(r, in_stream_);
    case 'I': return decode_insert(r, in_stream_, relations_);
    case 'U': return decode_update(r, in_stream_, relations_);
    case 'D': return decode_delete(r, in_stream_, relations_);
    case 'T': return decode_truncate(r, in_stream_, relations_);
    case 'M': return decode_logical(r, in_stream_);
    case 'S': {
      require_streaming();
      if (in_stream_) r.fail(0, "Stream Start while a streamed block is already open");
      StreamStartMessage m = decode_stream_start(r);
      in_stream_ = true;
      return m;
    }
    case 'E': {
      require_streaming();
      if (!in_stream_) r.fail(0, "Stream Stop without a preceding Stream Start");
      r.expect_end();
      in_stream_ = false;
      return StreamStopMessage{};
    }
    case 'c':
      require_streaming();
      require_outside_stream();
      return decode_stream_commit(r);
    case 'A':
      require_streaming();
      require_outside_stream();
      return decode_stream_abort(r);
    case 'b':
    case 'P':
    case 'K':
    case 'r':
    case 'p':
      r.fail(0, "two-phase commit messages were not requested (sluice does not set two_phase)");
    default: break;
  }
  // message_name() knows a type this switch does not: a bug here, not on the wire.
  throw Error::internal(fmt::format("pgoutput {} message is not handled", name));
}

RelationPtr PgOutputDecoder::relation(uint32_t oid) const {
  auto it = relations_.find(oid);
  return it == relations_.end() ? nullptr : it->second;
}

void PgOutputDecoder::replace_relation(RelationPtr relation) {
  if (!relation) throw Error::internal("replace_relation: null relation");
  auto it = relations_.find(static_cast<uint32_t>(relation->source_id));
  if (it == relations_.end()) {
    throw Error::internal(fmt::format("replace_relation: no relation with OID {} ({}) was decoded",
                                      relation->source_id, relation->qualified_name()));
  }
  // Tuples are decoded against the stored column list, so an enriched copy must keep
  // the shape the server announced.
  const auto& old_columns = it->second->columns;
  bool same_shape = old_columns.size() == relation->columns.size();
  for (size_t i = 0; same_shape && i < old_columns.size(); ++i) {
    same_shape = old_columns[i].name == relation->columns[i].name;
  }
  if (!same_shape) {
    throw Error::internal(fmt::format(
        "replace_relation: relation {} (OID {}) does not have the columns the server announced",
        relation->qualified_name(), relation->source_id));
  }
  it->second = std::move(relation);
}

Timestamp from_pg_timestamp(int64_t micros_since_2000) {
  if (!representable(micros_since_2000)) {
    throw Error::invalid_input(
        fmt::format("PostgreSQL timestamp of {} microseconds since 2000-01-01 is outside the "
                    "representable range",
                    micros_since_2000));
  }
  const std::chrono::microseconds since_unix_epoch{micros_since_2000 + kPgEpoch.count()};
  return Timestamp(std::chrono::duration_cast<Timestamp::duration>(since_unix_epoch));
}

int64_t to_pg_timestamp(Timestamp time) {
  // floor, not truncation: a time before 2000 with sub-microsecond digits rounds down
  // like every other time.
  const auto since_unix_epoch =
      std::chrono::floor<std::chrono::microseconds>(time.time_since_epoch());
  return since_unix_epoch.count() - kPgEpoch.count();
}

}  // namespace sluice::pg
