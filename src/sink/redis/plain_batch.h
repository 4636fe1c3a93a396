// The common batch of a JSON upsert sink — streamed inserts, updates and
// deletes whose documents are whole (no unchanged TOAST value), and the initial
// snapshot's rows — applied with
// plain Redis commands instead of the batch script: the same checks, the same
// messages and the same effect as kBatchScript (batch_script.h) for these ops,
// at a fraction of Redis' time (a script's redis.call() costs several times the
// command behind it, and the script was most of Redis' time: docs/benchmarks.md).
//
//   1. WATCH the checkpoint and the tables' indexes, then read, pipelined: the
//      checkpoint, the indexes' types, every row's index entry (HMGET) and the
//      target keys' types (MGET: a string comes back as a value; EXISTS, then
//      TYPE, for the others).
//   2. Check and plan as the script does, op by op through an overlay: fencing
//      (SinkWasReset, Error::state), the per-row version guard, WRONGTYPE
//      (Error::invalid_input), keys that move. An error here has written nothing.
//   3. MULTI; each key's final content (DEL, MSET), the index entries (HSET,
//      HDEL), the checkpoint; EXEC. When anyone else changed a watched key
//      (another writer of the state, a rebuild starting, FLUSHALL), EXEC does
//      nothing and the batch is planned again from step 1.
//
// The one difference from the script: the target keys are not watched (WATCH
// is quadratic in the number of keys one client watches), so a value of another
// type written to one by someone else in the microseconds between its type
// check and EXEC is overwritten, where the script would have refused the batch.
#pragma once

#include <optional>
#include <string>

#include "sink/redis/batch_script.h"

namespace sluice {

class RedisConnection;

// Applies `plan` if this path covers it: mode "upsert", format "json", only U
// ops without TOAST columns and with their key, and D ops, in a batch that
// moves the checkpoint while no rebuild is in progress in the store — or the
// initial snapshot's rows (no checkpoint; U ops only), fenced like
// kSnapshotRowsScript: on snapshot=in_progress and every row at snapshot_at,
// with no version guard and no index reads (Sink::begin_snapshot). Returns nullopt when it does not (nothing written, no
// key left watched): the caller applies the batch with the script. Throws what
// the script's replies map to (see above), and Error::transient for a lost
// connection.
std::optional<BatchOutcome> apply_plain(RedisConnection& conn, const BatchPlan& plan);

}  // namespace sluice
