#include "sink/manticore/checkpoint_text.h"

#include <vector>

#include "core/error.h"
#include "core/identity.h"

namespace sluice {

namespace {

constexpr std::string_view kMagic = "sluice-checkpoint 1";

std::string_view snapshot_word(SnapshotState s) {
  switch (s) {
    case SnapshotState::kNone: return "none";
    case SnapshotState::kInProgress: return "in_progress";
    case SnapshotState::kDone: return "done";
  }
  return "none";
}

}  // namespace

std::string format_checkpoint(const CheckpointState& state) {
  std::string out(kMagic);
  out += "\nposition ";
  out += state.position ? state.position->encode() : "-";
  out += "\nslot ";
  append_identity_part(out, state.slot);
  out += "\nsnapshot ";
  out += snapshot_word(state.snapshot);
  out += "\nsnapshot_at ";
  out += state.snapshot_at ? state.snapshot_at->str() : "-";
  out += "\nrebuilding ";
  out += state.rebuilding ? state.rebuilding->str() : "-";
  out += "\nshapes ";
  for (const auto& [table, shape] : state.shapes) {
    append_identity_part(out, table);
    append_identity_part(out, shape);
  }
  return out;
}

CheckpointState parse_checkpoint(std::string_view text, std::string_view where) {
  auto fail = [&](std::string_view what) -> Error {
    return Error::protocol(std::string(where) + ": the stored checkpoint is malformed: " + std::string(what));
  };
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (true) {
    const size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  if (lines.size() != 7) throw fail("expected 7 lines, found " + std::to_string(lines.size()));
  if (lines[0] != kMagic) throw fail("the first line is not '" + std::string(kMagic) + "'");
  auto value = [&](size_t i, std::string_view name) {
    const std::string_view line = lines[i];
    if (line.size() < name.size() + 1 || line.substr(0, name.size()) != name || line[name.size()] != ' ') {
      throw fail("line " + std::to_string(i + 1) + " is not '" + std::string(name) + " ...'");
    }
    return line.substr(name.size() + 1);
  };
  CheckpointState s;
  try {
    if (auto p = value(1, "position"); p != "-") s.position = Position::decode(p);
    const std::vector<std::string> slot = decode_identity(value(2, "slot"));
    if (slot.size() != 1) throw fail("slot is not one value");
    s.slot = slot[0];
    const std::string_view snap = value(3, "snapshot");
    if (snap == "none") {
      s.snapshot = SnapshotState::kNone;
    } else if (snap == "in_progress") {
      s.snapshot = SnapshotState::kInProgress;
    } else if (snap == "done") {
      s.snapshot = SnapshotState::kDone;
    } else {
      throw fail("snapshot is '" + std::string(snap.substr(0, 40)) + "'");
    }
    if (auto a = value(4, "snapshot_at"); a != "-") s.snapshot_at = Lsn::parse(a);
    if (auto r = value(5, "rebuilding"); r != "-") s.rebuilding = Lsn::parse(r);
    const std::vector<std::string> shapes = decode_identity(value(6, "shapes"));
    if (shapes.size() % 2 != 0) throw fail("shapes is not pairs of table and shape");
    for (size_t i = 0; i < shapes.size(); i += 2) s.shapes[shapes[i]] = shapes[i + 1];
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kProtocol) throw;
    throw fail(e.what());
  }
  return s;
}

}  // namespace sluice
