// `sluice verify`: extra keys under each verified table's key space, not only
// in sluice's own index (a key an application wrote beside sluice, e.g. left
// over from a dual write, matches no row but is in no index).
//
// For each verified table whose key template has a fixed prefix
// (KeyTemplate::fixed_prefix: the text before the first row-varying
// placeholder), the keys under that prefix are scanned (SCAN MATCH, one batch
// of about 1000 keys at a time: memory stays flat however many keys there are;
// a prefix under another one is scanned once, with the shorter one). A key is
// *extra* when
//   - no table routed to the sink (every source table, verified or not) has a
//     current row whose key it is: each template that reads the key back
//     (KeyTemplate::match) gives column values, which PostgreSQL casts to the
//     columns' types and looks up; the cast values must render to the key
//     again, else no row of that table can have it;
//   - and no index entry of the sink names it (an index entry whose row is
//     gone is reported by the index check in verify_command.cc, not here);
//   - both still hold after the sink has applied everything committed before
//     a second look (rows inserted while verify runs are not extra).
// Keys under the sink's state prefix are never looked at. A table whose
// template has no fixed prefix gets a note that extra keys cannot be looked
// for under it (scanning the whole database is not an option).
// Extra keys are counted (and a few named) in the report of the verified table
// whose template reads them back, else of the one with the longest prefix
// under which they lie. A key SCAN returns twice (Redis may, while it resizes
// its table) can be counted twice.
//
// --repair deletes them through KeySpaceTarget::remove_unowned_keys, whose guard
// (for Redis: sink/redis/key_space_scan.h) never deletes a key the stream has written for
// a row meanwhile; what the guard keeps is counted as extra and named.
#pragma once

#include <vector>

#include "app/verify_report.h"
#include "app/verify_sink_wait.h"
#include "core/change.h"
#include "core/key_space.h"
#include "source/postgres/catalog.h"
#include "source/postgres/pg_connection.h"

namespace sluice {

// A table routed to the sink.
struct RoutedTable {
  pg::TableInfo table;
  RelationPtr relation;
  // Set for the tables being verified: their key spaces are scanned and the
  // extra keys found are counted here. Must outlive verify_key_space().
  TableReport* report = nullptr;
};

// Runs the check above for one sink with that capability (Sink::key_space_target). `tables` lists every table routed
// to it. Throws Error like the rest of verify (transient when a server is lost).
void verify_key_space(KeySpaceTarget& sink, pg::PgConnection& conn, SinkWait& wait, const std::vector<RoutedTable>& tables,
                      bool repair);

}  // namespace sluice
