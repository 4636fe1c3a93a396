// Looking for keys that no row owns under a table's key space (`sluice verify`,
// upsert mode; issue: keys an application wrote beside sluice, e.g. left over
// from a dual write, were never reported). RedisSink's scan_keys(),
// probe_keys() and remove_unowned_keys() (redis_sink.h, implemented in
// key_space_scan.cc) use the types below; app/verify_key_space.h decides which
// keys are extra.
//
// A key K under a table's fixed prefix (KeyTemplate::fixed_prefix) is *extra*
// when no current row of any table routed to the sink renders to K, and no
// index entry of the sink maps a row that could render to K to K. The caller
// finds, for every routed table whose template reads K back
// (KeyTemplate::match), the identity a row with K's values would have (its
// index field, RedisSink::identity_from): those are K's possible owners.
//
// The guarded delete (remove_unowned_keys), one Lua call per batch, atomic with
// every batch the sink applies (each is one MULTI/EXEC or script):
//   - K is kept if any possible owner's entry in P:index:<table> names K now:
//     the stream wrote K for a row since verify decided (the entry is written in
//     the same atomic step as the document, batch_script.h), so a key sluice
//     writes for a real row is never deleted;
//   - when some table could give K to a row whose identity K does not tell (its
//     template reads a unique key, not the identity columns; or an identity
//     column's text depends on session settings, e.g. timestamptz), the index
//     cannot be trusted to answer: K is also kept unless the sink's checkpoint position is still the one read
//     before the source was asked (no batch applied since, so nothing wrote K
//     after the source said no row has it);
//   - every K is kept while the initial snapshot or a rebuild copies rows (the
//     checkpoint says snapshot=in_progress or rebuild=...): copied rows do not
//     move the checkpoint, and `verify --repair` waits for copies elsewhere too;
//   - otherwise K is deleted. A row that gets K later is written by the stream as
//     usual: deleting a key the stream has not written yet loses nothing.
// Keys under the sink's own state prefix are never returned by scan_keys().
#pragma once

// The types (KeyOwner, UnownedKey, KeyProbe, RemovedKeys) are core/key_space.h's.
#include "core/key_space.h"
