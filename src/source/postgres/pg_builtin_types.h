// TypeInfo for PostgreSQL's builtin types (OIDs from pg_type.dat, stable across
// versions), rendered by to_jsonb_renderer() (pg_value_json.h). Types not
// listed here (domains, enums, user arrays, composites, extension types) are
// resolved from the catalog (type_resolver.h).
#pragma once

#include <cstdint>

#include "core/type_info.h"

namespace sluice::pg {

// The builtin type with this OID, or nullptr when it is not a builtin we know.
TypeInfoPtr builtin_type(uint32_t oid);

}  // namespace sluice::pg
