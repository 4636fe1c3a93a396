// PostgreSQL's REPLICA IDENTITY ('d' default: the primary key, 'i' an index,
// 'f' full, 'n' nothing; pg_class.relreplident and pgoutput's Relation message)
// as the neutral Relation::old_row.
#pragma once

#include "core/change.h"

namespace sluice::pg {

constexpr OldRow old_row_of(char replica_identity) {
  switch (replica_identity) {
    case 'f': return OldRow::kComplete;
    case 'n': return OldRow::kNone;
    default: return OldRow::kIdentity;  // 'd', 'i'
  }
}

}  // namespace sluice::pg
