// The PostgreSQL source's positions (core/position.h): (commit LSN of the
// transaction, index of the change inside it), encoded in fixed width as
// "00000016B374D848:0000002A" (16 hex digits, ':', 8 hex digits) so that byte
// order is position order. Stream changes have index >= 1; the rows of the
// initial snapshot are at (consistent point, 0), and the end of a transaction at
// (its end LSN, 0). Read in logs as "16/B374D848#42"; events carry "lsn".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/position.h"
#include "source/postgres/lsn.h"

namespace sluice::pg {

Position position(Lsn commit_lsn, uint32_t index = 0);

// The parts of a position this source made. Throw Error::invalid_input naming
// the text when `position` is not one (a checkpoint another source wrote).
Lsn commit_lsn_of(const Position& position);
uint32_t index_of(const Position& position);
// The commit LSN, or nullopt when `position` is not one of this source's.
std::optional<Lsn> commit_lsn_in(const Position& position);

// "16/B374D848#42".
std::string describe(const Position& position);

// Makes logs, events and gauges read positions as above (set_position_format).
void use_position_format();

}  // namespace sluice::pg
