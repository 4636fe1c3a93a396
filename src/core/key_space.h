// The key-space capability of a sink whose keys are rendered from a template
// (the Redis sink in upsert mode): `sluice verify` looks, under each table's
// fixed key prefix, for keys that no row owns — a key an application wrote
// beside sluice, say, left over from a dual write — and `--repair` removes them
// through a guarded delete that never removes a key the stream has written for
// a row meanwhile. The decision of which keys are extra is the caller's
// (app/verify_key_space.h); the sink scans, probes and deletes. Found through
// Sink::key_space_target(); the Redis sink's contract for the guard is in
// sink/redis/key_space_scan.h.
//
// Used from one thread at a time, like the sink that implements it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/change.h"

namespace sluice {

class KeyTemplate;  // format/key_template.h

// A row that could own a key: its identity as the sink names it.
struct KeyOwner {
  std::string table;     // "schema.table"
  std::string identity;  // KeySpaceTarget::identity_from
};

struct UnownedKey {
  std::string key;
  std::vector<KeyOwner> owners;  // rows that could get this key, by identity
  // Some routed table could give the key to a row it cannot name by identity:
  // delete only while no batch was applied (checkpoint_token unchanged).
  bool needs_quiet_sink = false;
};

// What the sink holds for a key found by the scan.
struct KeyProbe {
  bool exists = false;   // the key is still there
  bool indexed = false;  // an owner's entry in the sink's own index names it
};

struct RemovedKeys {
  uint64_t removed = 0;
  std::vector<std::string> kept;  // owned by a row by now, or the sink was busy
};

class KeySpaceTarget {
 public:
  virtual ~KeySpaceTarget() = default;
  // The key template of `table` ("schema.table").
  virtual const KeyTemplate& key_template_for(const std::string& table) const = 0;
  // The identity of the row of `relation` with `values` (indexed like its
  // columns); nullopt when an identity column is not text in `values`.
  virtual std::optional<std::string> identity_from(const RelationPtr& relation, const std::vector<Value>& values) = 0;
  // Visits, in batches, every key matching `glob` (a key present for the whole
  // scan is visited at least once, possibly twice; memory stays flat), leaving
  // out the sink's own state keys.
  virtual void scan_keys(const std::string& glob, const std::function<void(const std::vector<std::string>&)>& visit) = 0;
  // For each key, whether it exists and whether an owner's index entry names it.
  virtual std::vector<KeyProbe> probe_keys(const std::vector<UnownedKey>& keys) = 0;
  // The stored checkpoint position as text ("" when there is none): the token
  // remove_unowned_keys() compares for keys that need a quiet sink.
  virtual std::string checkpoint_token() = 0;
  // Deletes each key unless it is owned by now, atomically with respect to the
  // sink's batches. `token`: checkpoint_token() read before the source was
  // asked about these keys.
  virtual RemovedKeys remove_unowned_keys(const std::vector<UnownedKey>& keys, const std::string& token) = 0;
};

}  // namespace sluice
