// Completes the Relations the sinks see with what pgoutput does not send: each
// column's resolved TypeInfo (so values render exactly like to_jsonb) and which
// columns form the primary key (the document identity; pgoutput only flags the
// replica identity, which is every column under REPLICA IDENTITY FULL).
// Also builds the Relation of a table for the initial snapshot, with the same
// column set pgoutput sends (no dropped or generated columns).
// Not thread-safe: one per thread (it owns a catalog connection).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "core/change.h"
#include "source/postgres/catalog.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/type_resolver.h"

namespace sluice::pg {

class RelationCatalog {
 public:
  explicit RelationCatalog(std::string dsn);

  // The relation as pgoutput described it, completed. Throws Error::server if the
  // table no longer exists, Error::invalid_input for a type sluice cannot render.
  RelationPtr complete(const Relation& decoded);

  // The relation of `table` as it is now ("schema.table"), for the snapshot.
  RelationPtr describe(const TableInfo& table);

  PgConnection& connection();
  // Drops the catalog connection (after an outage); the next call reconnects.
  void reset_connection() { connection_.reset(); }

 private:
  std::string dsn_;
  std::unique_ptr<PgConnection> connection_;
  TypeResolver types_;
};

}  // namespace sluice::pg
