// The document id of a row in a search index, and the identity string stored
// beside it (the `_sluice_identity` attribute, index_definition.h).
//
// Key columns: Relation::primary_key in the key's own order; a Relation built
// without it uses the columns marked in_primary_key, else the replica-identity
// columns, in column order (the rule of format/key_template.h's {pk}).
//
// Identity: every key value as "<byte length>:<text>", concatenated ("2:423:abc"
// for (42, 'abc')): injective whatever the values contain, and the same encoding
// as the Redis sink's index fields, so both sinks name a row alike.
//
// Id:
//   - the key is one integer column (core/type_info.h kInteger; PostgreSQL:
//     int2, int4, int8 and domains over them): its value. A value
//     outside 1..2^63-1 is Error::invalid_input naming the table and the value
//     (searchd silently drops a document with id 0, and reads negative ids as
//     unsigned 64-bit ones);
//   - otherwise: FNV-1a 64 (offset basis 14695981039346656037, prime
//     1099511628211) of the identity bytes, reduced as (h mod (2^63-1)) + 1, so
//     1..2^63-1 and never 0. Stable across versions and machines (nothing
//     seeded, no std::hash). Two keys may share an id (about n^2/2^64 for n
//     rows): the stored identity is what tells a collision from a second write of
//     the same row.
// Ids from 2^63 up are never a row's: kCheckpointDocumentId and
// kWholeMarkDocumentId are two of them.
// Ids are unique within a table; an index fed by two tables needs its own scheme
// (not supported here).
//
// Pure functions, thread-safe.
#pragma once

#include "core/identity.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/change.h"

namespace sluice {

// The document that holds a sink's checkpoint in each index: 2^63, outside every
// row id. Sphinx 2.2 (id64 build) stores and finds it (verified by the
// integration test); as a SphinxQL literal it is "9223372036854775808".
inline constexpr uint64_t kCheckpointDocumentId = uint64_t{1} << 63;
// The document that says an index was filled whole (2^63 + 1): written only when
// an index is emptied to be filled from a consistent snapshot (the initial one,
// a rebuild), never by a batch. TRUNCATE RTINDEX removes it with everything
// else; a batch whose transaction was open across the TRUNCATE recreates its own
// documents and the checkpoint document when it commits, but not this one, so
// the next read of the index still sees that it lost its data.
inline constexpr uint64_t kWholeMarkDocumentId = kCheckpointDocumentId + 1;

struct DocumentId {
  int64_t id = 0;        // 1..2^63-1
  std::string identity;  // the encoded key values
};

// The column indexes of the key, as above. Error::invalid_input naming the table
// when it has none; Error::internal when Relation::primary_key points outside
// the columns.
std::vector<int> document_key_columns(const Relation& relation);

// The id and identity of the row `values` (indexed like relation.columns).
// A key value that is NULL or unchanged TOAST is Error::invalid_input naming the
// table and column; so is a value count that does not match the columns.
DocumentId document_id(const Relation& relation, const std::vector<Value>& values);

// Whether the key is one integer column, whose value is the document id (else
// the id is the hash). Throws as document_key_columns does.
bool document_id_is_key_value(const Relation& relation);

// FNV-1a 64 of `bytes` (exposed for tests).
uint64_t fnv1a64(std::string_view bytes);

// The identity encoding is core/identity.h's.

}  // namespace sluice
