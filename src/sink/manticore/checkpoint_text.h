// The text a search sink keeps in `_sluice_checkpoint` of each index's checkpoint
// document (document_id.h: kCheckpointDocumentId). One line per item, in this
// order, each "<name> <value>":
//   sluice-checkpoint 2
//   position <Position::encode()> | -          last applied change (- : none yet)
//   slot <len>:<bytes>                         core/identity.h encoding
//   snapshot none | in_progress | done
//   snapshot_at <Position::encode()> | -       the snapshot rows' position
//   rebuilding <Position::encode()> | -        a rebuild's copy point
//   shapes <identity-encoded table, shape, table, shape, ...>
// The slot and the shapes are length-prefixed, so they may hold any byte (the
// shapes run to the end of the text). parse() is strict: anything else (a
// missing or reordered line, a bad value) is Error::protocol naming the index and what is wrong, never a guess.
// Pure functions, thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/position.h"
#include "core/sink.h"

namespace sluice {

struct CheckpointState {
  std::optional<Position> position;
  std::string slot;
  SnapshotState snapshot = SnapshotState::kNone;
  std::optional<Position> snapshot_at;
  std::optional<Position> rebuilding;
  std::map<std::string, std::string> shapes;  // table -> shape (RowStore)
  bool operator==(const CheckpointState&) const = default;
};

std::string format_checkpoint(const CheckpointState& state);
// `where` (e.g. "search sink 'search', index 'media_rt'") starts every message.
CheckpointState parse_checkpoint(std::string_view text, std::string_view where);

}  // namespace sluice
