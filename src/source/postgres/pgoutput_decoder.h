// Decodes the messages of PostgreSQL's pgoutput logical replication plugin
// (https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html),
// protocol versions 1 and 2 (2 adds streamed in-progress transactions).
//
// Input is one XLogData payload (the bytes after the 'w' header). Every read is
// bounds-checked in release builds; a truncated or garbled message, an unknown
// message type, a tuple that references an unknown relation, or a column count
// that disagrees with the relation, throws Error::protocol naming the message type,
// the byte offset and what was expected. Nothing is ever skipped. Also errors:
// trailing bytes after a complete message; a 'b' (binary) tuple value (sluice asks for
// text); the two-phase messages (b, P, K, r, p; sluice does not ask for two_phase);
// stream messages (S, E, c, A) under protocol 1; a misplaced stream marker (Stream
// Start inside a block, Stream Stop outside one, B/C/c/A inside one); a commit
// timestamp outside the range of Timestamp. A failed decode changes no decoder state.
//
// Protocol 2: R/Y/I/U/D/T/M carry the xid prefix only between Stream Start and Stream
// Stop; the decoder tracks that block, so messages must be fed in stream order.
// Namespace "" on the wire means pg_catalog and is returned as "pg_catalog".
//
// The decoder keeps the relation map (Relation messages), so Insert/Update/Delete/
// Truncate come back with their RelationPtr. The owner may replace a relation with
// an enriched copy (types resolved, primary key flagged) via replace_relation().
// Not thread-safe; one decoder per replication stream.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/change.h"
#include "source/postgres/lsn.h"

namespace sluice::pg {

using Timestamp = std::chrono::system_clock::time_point;

struct BeginMessage {
  Lsn final_lsn;  // the commit LSN of the transaction
  Timestamp commit_time;
  uint32_t xid = 0;
};
struct CommitMessage {
  uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;
  Timestamp commit_time;
};
struct OriginMessage {
  Lsn commit_lsn;
  std::string name;
};
struct RelationMessage {
  std::optional<uint32_t> xid;  // protocol 2, inside a streamed transaction
  RelationPtr relation;         // already stored in the decoder's map
};
struct TypeMessage {
  std::optional<uint32_t> xid;
  uint32_t oid = 0;
  std::string schema;
  std::string name;
};
struct InsertMessage {
  std::optional<uint32_t> xid;
  RelationPtr relation;
  std::vector<Value> new_values;
};
struct UpdateMessage {
  std::optional<uint32_t> xid;
  RelationPtr relation;
  char old_kind = 0;  // 0: no old tuple, 'K': old key, 'O': old row
  std::vector<Value> old_values;
  std::vector<Value> new_values;
};
struct DeleteMessage {
  std::optional<uint32_t> xid;
  RelationPtr relation;
  char old_kind = 'K';  // 'K' or 'O'
  std::vector<Value> old_values;
};
struct TruncateMessage {
  std::optional<uint32_t> xid;
  bool cascade = false;
  bool restart_identity = false;
  std::vector<RelationPtr> relations;
};
struct LogicalMessage {
  std::optional<uint32_t> xid;
  bool transactional = false;
  Lsn lsn;
  std::string prefix;
  std::string content;
};
struct StreamStartMessage {
  uint32_t xid = 0;
  bool first_segment = false;
};
struct StreamStopMessage {};
struct StreamCommitMessage {
  uint32_t xid = 0;
  uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;
  Timestamp commit_time;
};
struct StreamAbortMessage {
  uint32_t xid = 0;
  uint32_t subxid = 0;
};

using Message = std::variant<BeginMessage, CommitMessage, OriginMessage, RelationMessage,
                             TypeMessage, InsertMessage, UpdateMessage, DeleteMessage,
                             TruncateMessage, LogicalMessage, StreamStartMessage,
                             StreamStopMessage, StreamCommitMessage, StreamAbortMessage>;

class PgOutputDecoder {
 public:
  // protocol_version is what START_REPLICATION asked for: 1 or 2, otherwise throws
  // Error::internal.
  explicit PgOutputDecoder(int protocol_version = 1);

  // Decodes one message. Throws Error::protocol (see file comment).
  Message decode(std::span<const uint8_t> data);

  // The relation with this OID, or nullptr.
  RelationPtr relation(uint32_t oid) const;
  // Replaces the stored relation with the same OID (e.g. with types resolved). Throws
  // Error::internal if `relation` is null, its OID was never decoded, or its columns
  // (count and names) differ from the stored ones: tuples are decoded against them.
  void replace_relation(RelationPtr relation);

  int protocol_version() const { return protocol_version_; }

 private:
  int protocol_version_;
  bool in_stream_ = false;  // between Stream Start and Stream Stop (protocol 2)
  std::unordered_map<uint32_t, RelationPtr> relations_;
};

// PostgreSQL timestamps on the wire: microseconds since 2000-01-01 00:00:00 UTC.
// from_pg_timestamp throws Error::invalid_input for values Timestamp cannot hold
// (with a nanosecond system_clock: outside about 1678..2262), never wraps.
// to_pg_timestamp rounds sub-microsecond times down (towards the past).
Timestamp from_pg_timestamp(int64_t micros_since_2000);
int64_t to_pg_timestamp(Timestamp time);

}  // namespace sluice::pg
