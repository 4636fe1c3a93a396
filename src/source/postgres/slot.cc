#include "source/postgres/slot.h"

#include <charconv>
#include <thread>

#include <fmt/format.h>

namespace sluice::pg {

namespace {

Lsn lsn_or_zero(const PgResult& r, int row, int column) {
  if (r.is_null(row, column)) return Lsn();
  return Lsn::parse(r.value(row, column));
}

}  // namespace

void validate_slot_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 63;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) ok = false;
  }
  if (!ok) {
    throw Error::invalid_input(fmt::format(
        "'{}' is not a valid replication slot name (1 to 63 characters of a-z, 0-9 and _)", name));
  }
}

std::optional<SlotInfo> query_slot(PgConnection& conn, const std::string& name) {
  // wal_status appeared in PostgreSQL 13.
  std::string wal_status = conn.server_version() >= 130000 ? "wal_status" : "NULL::text";
  PgResult r = conn.exec_params(
      "SELECT slot_name, plugin, slot_type, database, active, active_pid, restart_lsn, "
      "confirmed_flush_lsn, " + wal_status + ", temporary "
      "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
      {name});
  if (r.rows() == 0) return std::nullopt;
  SlotInfo s;
  s.slot_name = r.value(0, 0);
  s.plugin = r.value(0, 1);
  s.slot_type = r.value(0, 2);
  s.database = r.value(0, 3);
  s.active = r.value(0, 4) == "t";
  if (!r.is_null(0, 5)) {
    auto pid = r.value(0, 5);
    std::from_chars(pid.data(), pid.data() + pid.size(), s.active_pid);
  }
  s.restart_lsn = lsn_or_zero(r, 0, 6);
  s.confirmed_flush_lsn = lsn_or_zero(r, 0, 7);
  s.wal_status = r.optional_value(0, 8);
  s.temporary = r.value(0, 9) == "t";
  return s;
}

CreatedSlot create_logical_slot(PgConnection& repl_conn, const std::string& name, bool temporary) {
  validate_slot_name(name);
  if (repl_conn.mode() != PgConnection::Mode::kReplication) {
    throw Error::internal("create_logical_slot needs a replication connection");
  }
  // The name is validated to [a-z0-9_], so quoting it is only for form.
  const char* kind = temporary ? "TEMPORARY LOGICAL" : "LOGICAL";
  std::string sql = repl_conn.server_version() >= 150000
                        ? fmt::format("CREATE_REPLICATION_SLOT \"{}\" {} pgoutput (SNAPSHOT 'export')", name, kind)
                        : fmt::format("CREATE_REPLICATION_SLOT \"{}\" {} pgoutput EXPORT_SNAPSHOT", name, kind);
  PgResult r = repl_conn.exec(sql);
  if (r.rows() != 1 || r.columns() < 3) {
    throw Error::protocol(fmt::format("PostgreSQL {}: CREATE_REPLICATION_SLOT {} returned {} rows of {} columns",
                                      repl_conn.where(), name, r.rows(), r.columns()));
  }
  CreatedSlot created;
  created.consistent_point = Lsn::parse(r.value(0, r.column_index("consistent_point")));
  int snapshot_column = r.column_index("snapshot_name");
  if (r.is_null(0, snapshot_column)) {
    throw Error::protocol(fmt::format("PostgreSQL {}: CREATE_REPLICATION_SLOT {} exported no snapshot",
                                      repl_conn.where(), name));
  }
  created.snapshot_name = r.value(0, snapshot_column);
  return created;
}

bool drop_slot(PgConnection& conn, const std::string& name, std::chrono::milliseconds timeout) {
  validate_slot_name(name);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::optional<SlotInfo> slot = query_slot(conn, name);
    if (!slot) return false;
    if (!slot->active) {
      try {
        // Only drops an inactive slot; 0 rows when it went away or became active.
        PgResult r = conn.exec_params(
            "SELECT pg_catalog.pg_drop_replication_slot(slot_name) "
            "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND NOT active",
            {name});
        if (r.rows() == 1) return true;
      } catch (const Error&) {
        // A walsender acquired it between the check and the drop (55006): wait again.
        std::optional<SlotInfo> again = query_slot(conn, name);
        if (!again) return false;
        if (!again->active) throw;
      }
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error::state(fmt::format(
          "replication slot {} on PostgreSQL {} is still active for PID {} after {} ms; not dropping it "
          "(is another sluice or replication client using it?)",
          name, conn.where(), slot->active_pid, timeout.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace sluice::pg
