// Replication slot administration: look a slot up, create a logical pgoutput slot
// with an exported snapshot, drop a slot.
// https://www.postgresql.org/docs/current/protocol-replication.html
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "source/postgres/lsn.h"
#include "source/postgres/pg_connection.h"

namespace sluice::pg {

// Slot names are what PostgreSQL accepts (ReplicationSlotValidateName): 1 to 63
// characters of [a-z0-9_]. Throws Error::invalid_input naming the slot otherwise.
void validate_slot_name(std::string_view name);

struct SlotInfo {
  std::string slot_name;
  std::string plugin;       // "pgoutput"; empty for a physical slot
  std::string slot_type;    // "logical" or "physical"
  std::string database;     // empty for a physical slot
  bool active = false;
  int active_pid = 0;       // 0 when not active
  Lsn restart_lsn;          // zero when null (e.g. an invalidated slot)
  Lsn confirmed_flush_lsn;  // zero when null (physical slot)
  std::optional<std::string> wal_status;  // "reserved", "extended", "unreserved", "lost"; PG13+
  bool temporary = false;
};

// The slot from pg_replication_slots, or nullopt when there is none.
std::optional<SlotInfo> query_slot(PgConnection& conn, const std::string& name);

struct CreatedSlot {
  Lsn consistent_point;       // changes after this LSN stream from the slot
  std::string snapshot_name;  // the exported snapshot: the data as of consistent_point
};

// CREATE_REPLICATION_SLOT "name" LOGICAL pgoutput with an exported snapshot (PG15+
// "(SNAPSHOT 'export')", before that "EXPORT_SNAPSHOT"). `repl_conn` must be a
// kReplication connection. The snapshot can be imported (SnapshotReader) only while
// `repl_conn` stays open and runs no other command; see snapshot_reader.h.
// A `temporary` slot is dropped by PostgreSQL when `repl_conn` closes (or its
// backend dies): what a rebuild needs, a consistent snapshot and its exact LSN.
CreatedSlot create_logical_slot(PgConnection& repl_conn, const std::string& name, bool temporary = false);

// Drops the slot with pg_drop_replication_slot(). A slot that is active (a
// walsender still streams from it, e.g. the connection was just closed) is waited
// for up to `timeout`; still active after that -> Error::state naming the slot and
// the PID. Returns false when there was no such slot.
bool drop_slot(PgConnection& conn, const std::string& name,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace sluice::pg
