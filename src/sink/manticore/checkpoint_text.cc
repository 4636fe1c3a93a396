#include "sink/manticore/checkpoint_text.h"

#include <charconv>
#include <vector>

#include "core/error.h"
#include "core/identity.h"

namespace sluice {

namespace {

// Version 2: snapshot_at and rebuilding are encoded positions (version 1, of
// development builds before positions became opaque, held PostgreSQL LSNs).
constexpr std::string_view kMagic = "sluice-checkpoint 2";

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
  out += state.snapshot_at ? state.snapshot_at->encode() : "-";
  out += "\nrebuilding ";
  out += state.rebuilding ? state.rebuilding->encode() : "-";
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
  // A cursor over the text: plain lines end at '\n'; the slot and the shapes are
  // length-prefixed (core/identity.h), so they may hold any byte, and the shapes
  // run to the end of the text.
  size_t at = 0;
  size_t line_number = 0;
  auto line = [&](std::string_view name) -> std::string_view {
    ++line_number;
    const std::string_view rest = text.substr(at);
    const std::string head = name.empty() ? std::string() : std::string(name) + " ";
    if (rest.substr(0, head.size()) != head) {
      throw fail("line " + std::to_string(line_number) + " is not '" + std::string(name) + " ...'");
    }
    const size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) throw fail("it ends at line " + std::to_string(line_number));
    at += nl + 1;
    return rest.substr(head.size(), nl - head.size());
  };
  CheckpointState s;
  try {
    ++line_number;
    const size_t first = text.find('\n');
    if (text.substr(0, first) == "sluice-checkpoint 1") {
      throw fail("it was written by a development build of sluice before positions were opaque; start once with "
                 "`sluice run --resnapshot` to fill the index again");
    }
    if (text.substr(0, first) != kMagic) throw fail("the first line is not '" + std::string(kMagic) + "'");
    at = first + 1;
    if (auto p = line("position"); p != "-") s.position = Position::decode(p);
    {
      ++line_number;
      if (text.substr(at, 5) != "slot ") throw fail("line 3 is not 'slot ...'");
      at += 5;
      const size_t colon = text.find(':', at);
      if (colon == std::string_view::npos) throw fail("slot has no length");
      size_t length = 0;
      auto [ptr, ec] = std::from_chars(text.data() + at, text.data() + colon, length);
      if (ec != std::errc() || ptr != text.data() + colon || text.size() - colon - 1 < length + 1 ||
          text[colon + 1 + length] != '\n') {
        throw fail("slot is not one length-prefixed value");
      }
      s.slot = std::string(text.substr(colon + 1, length));
      at = colon + 1 + length + 1;
    }
    const std::string_view snap = line("snapshot");
    if (snap == "none") {
      s.snapshot = SnapshotState::kNone;
    } else if (snap == "in_progress") {
      s.snapshot = SnapshotState::kInProgress;
    } else if (snap == "done") {
      s.snapshot = SnapshotState::kDone;
    } else {
      throw fail("snapshot is '" + std::string(snap.substr(0, 40)) + "'");
    }
    if (auto a = line("snapshot_at"); a != "-") s.snapshot_at = Position::decode(a);
    if (auto r = line("rebuilding"); r != "-") s.rebuilding = Position::decode(r);
    if (text.substr(at, 7) != "shapes ") throw fail("line 7 is not 'shapes ...'");
    const std::vector<std::string> shapes = decode_identity(text.substr(at + 7));
    if (shapes.size() % 2 != 0) throw fail("shapes is not pairs of table and shape");
    for (size_t i = 0; i < shapes.size(); i += 2) s.shapes[shapes[i]] = shapes[i + 1];
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kProtocol) throw;
    throw fail(e.what());
  }
  return s;
}

}  // namespace sluice
