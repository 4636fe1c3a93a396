// Resolves a column's type OID to the TypeInfo the JSON renderer needs
// (core/type_info.h), mirroring how PostgreSQL's to_jsonb() categorizes a type
// (src/backend/utils/adt/jsonb.c, jsonb_categorize_type):
//   - builtin types: format/builtin_types.h, no query;
//   - domain: its base type's category (recursively), keeping the domain's OID/name;
//   - enum, range, multirange, pseudo types: string;
//   - composite: kComposite with the attributes of typrelid (in attnum order, not
//     dropped), each resolved recursively;
//   - array (typcategory 'A', typelem != 0): kArray, element resolved,
//     array_delimiter = the element's typdelim;
//   - other base types (extension types such as citext, hstore): string, unless the
//     type has a function cast to json or jsonb: to_jsonb() would call that cast and
//     sluice does not reproduce it, so resolve() throws Error::invalid_input rather
//     than emit a document that differs from PostgreSQL's.
// Results are cached by OID for the life of the resolver (type OIDs are stable;
// an ALTER TYPE ... ADD ATTRIBUTE on a composite needs a new resolver).
//
// Not thread-safe. The connection getter is called only on a cache miss, so a
// caller can open the catalog connection lazily.
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>

#include "core/type_info.h"
#include "source/postgres/pg_connection.h"

namespace sluice::pg {

class TypeResolver {
 public:
  explicit TypeResolver(std::function<PgConnection&()> catalog_connection);

  // Throws Error::server naming the OID when pg_type has no such type, and
  // Error::invalid_input for types sluice cannot render (see above).
  TypeInfoPtr resolve(uint32_t oid);

 private:
  TypeInfoPtr resolve(uint32_t oid, int depth);
  TypeInfoPtr lookup(uint32_t oid, int depth);

  std::function<PgConnection&()> catalog_connection_;
  std::unordered_map<uint32_t, TypeInfoPtr> cache_;
};

}  // namespace sluice::pg
