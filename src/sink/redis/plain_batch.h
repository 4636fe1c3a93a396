// The batches of a JSON upsert sink — streamed inserts, updates, deletes and
// truncates, and the initial snapshot's rows — applied with plain Redis
// commands instead of the batch script: the same checks, the same messages and
// the same effect as kBatchScript (batch_script.h) for these ops, at a fraction
// of Redis' time (a script's redis.call() costs several times the command
// behind it, and the script was most of Redis' time: docs/benchmarks.md).
// It is also the one path for a document that keeps unchanged TOAST values
// from the stored one: the splice is done here (json_members.h), and the script
// reads no JSON.
//
//   1. WATCH the checkpoint and the tables' indexes, then read, pipelined: the
//      checkpoint, the indexes' types, every row's index entry (HMGET), every
//      entry of a table the batch truncates (HGETALL) and the target keys'
//      types (MGET: a string comes back as a value; EXISTS, then TYPE, for the
//      others). An update that keeps TOAST values, or takes its key from the
//      index, then reads the documents it may take them from (MGET): wherever
//      the row is stored, its old key and its new one.
//   2. Check and plan as the script does, op by op through an overlay: fencing
//      (SinkWasReset, Error::state), the per-row version guard, WRONGTYPE
//      (Error::invalid_input), keys that move, the TOAST splice (Error::state
//      when the stored document lacks a value), and while a rebuild is in
//      progress its tombstones and the wait for a row it has not copied yet
//      (Error::transient). An error here has written nothing.
//   3. MULTI; each key's final content (DEL, MSET), the indexes (DEL when
//      truncated, HSET, HDEL), tombstones, the checkpoint; EXEC. When anyone
//      else changed a watched key (another writer of the state, a rebuild
//      starting or ending, a repair, FLUSHALL), EXEC does nothing and the batch
//      is planned again from step 1.
//
// The one difference from the script: the documents are not watched (WATCH is
// quadratic in the number of keys one client watches). Every writer of sluice's
// state also writes an index or the checkpoint, which are watched; but a value
// written to a key by someone else in the microseconds between its read and
// EXEC is overwritten, where the script would have refused the batch or kept
// TOAST values from it.
#pragma once

#include <optional>
#include <string>

#include "sink/redis/batch_script.h"

namespace sluice {

class RedisConnection;

// Applies `plan` if this path covers it: mode "upsert", format "json", a batch
// that moves the checkpoint (U, D and T ops), or the initial snapshot's rows
// (no checkpoint; U ops with their key and without TOAST values only), fenced
// like kSnapshotRowsScript: on snapshot=in_progress and every row at
// snapshot_at, with no version guard and no index reads (Sink::begin_snapshot).
// Returns nullopt when it does not, or when other writers kept changing the
// watched keys through every attempt (nothing written, no key left watched):
// the caller applies the batch with the script. A plan that
// splices_stored_json() is never left to the script: Error::transient then.
// Throws what the script's replies map to (see above), and Error::transient for
// a lost connection.
std::optional<BatchOutcome> apply_plain(RedisConnection& conn, const BatchPlan& plan);

}  // namespace sluice
