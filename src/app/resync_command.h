// `sluice resync --config FILE --table T`: asks the instance streaming this
// config's slot to re-sync table T (read every row again while streaming goes
// on, through the per-row version guard; source/postgres/table_resync.h) — for a
// table changed behind sluice's back, a sink edited by hand, a new `columns`
// selection.
//
// The request is a transactional logical message in the source database
// (pg_logical_emit_message, prefix "sluice.resync-request"), so it travels
// through the slot in commit order: it is durable the moment this command
// returns, reaches the instance even if that one is down right now (it acts on
// it when it streams again), and the instance records it in every sink before
// acknowledging past it, so a kill -9 at any moment cannot lose it.
// Exit status: 0 once the request is written; 1 for a table that is not
// captured or a server that refuses.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace sluice {

struct ResyncOptions {
  std::vector<std::string> tables;  // "schema.table" (normalised like source.tables)
};

int resync_command(const Config& config, const ResyncOptions& options);

}  // namespace sluice
