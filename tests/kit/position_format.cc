// Every test binary reads positions as `sluice run` does with its PostgreSQL
// source (core/position.h: set_position_format): logs, events ("lsn") and gauges.
#include "source/postgres/pg_position.h"

namespace sluice::kit {
namespace {

const bool kPostgresPositionFormat = [] {
  pg::use_position_format();
  return true;
}();

}  // namespace
}  // namespace sluice::kit
