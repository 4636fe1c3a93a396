// The checkpoint document's text (sink/manticore/checkpoint_text.h): round trips,
// and a strict parser that names what is wrong.
#include "sink/manticore/checkpoint_text.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "source/postgres/pg_position.h"

namespace sluice {
namespace {

CheckpointState full() {
  CheckpointState s;
  s.position = pg::position(pg::Lsn(0x16B374D848), 42);
  s.slot = "sluice slot\nwith a newline";
  s.snapshot = SnapshotState::kInProgress;
  s.snapshot_at = pg::position(pg::Lsn(0x1000));
  s.rebuilding = pg::position(pg::Lsn(0x2000));
  s.shapes = {{"public.media", "shape 1"}, {"public.t", ""}};
  return s;
}

std::string protocol_error(std::string_view text) {
  try {
    parse_checkpoint(text, "search sink 's', index 'i'");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kProtocol);
    return e.what();
  }
  ADD_FAILURE() << "parsed: " << text;
  return "";
}

TEST(ManticoreCheckpointTextTest, EveryFieldRoundTrips) {
  EXPECT_EQ(parse_checkpoint(format_checkpoint(full()), "w"), full());
  CheckpointState empty;
  EXPECT_EQ(parse_checkpoint(format_checkpoint(empty), "w"), empty);
}

TEST(ManticoreCheckpointTextTest, TheTextIsReadableLineByLine) {
  CheckpointState s;
  s.position = pg::position(pg::Lsn(0x10), 1);
  s.slot = "slot1";
  s.snapshot = SnapshotState::kDone;
  EXPECT_EQ(format_checkpoint(s),
            "sluice-checkpoint 2\nposition 0000000000000010:00000001\nslot 5:slot1\nsnapshot done\n"
            "snapshot_at -\nrebuilding -\nshapes ");
}

TEST(ManticoreCheckpointTextTest, MalformedTextIsAProtocolErrorNamingTheIndexAndTheLine) {
  EXPECT_NE(protocol_error("").find("index 'i'"), std::string::npos);
  EXPECT_NE(protocol_error("something else").find("first line"), std::string::npos);
  EXPECT_NE(protocol_error("sluice-checkpoint 2\nposition -\n").find("slot"), std::string::npos);
  // Version 1 held PostgreSQL LSNs: named, with what to do.
  EXPECT_NE(protocol_error("sluice-checkpoint 1\nposition -\n").find("--resnapshot"), std::string::npos);
  std::string text = format_checkpoint(full());
  EXPECT_NE(protocol_error(text.replace(text.find("snapshot in_progress"), 20, "snapshot maybe")).find("maybe"),
            std::string::npos);
  std::string bad_position = format_checkpoint(full());
  bad_position.replace(bad_position.find("position ") + 9, 4, "zz z");  // a position has no space
  EXPECT_FALSE(protocol_error(bad_position).empty());
  std::string odd_shapes = format_checkpoint(CheckpointState{});
  odd_shapes += "1:a";
  EXPECT_NE(protocol_error(odd_shapes).find("pairs"), std::string::npos);
  std::string wrong_magic = format_checkpoint(CheckpointState{});
  wrong_magic[18] = '3';
  EXPECT_NE(protocol_error(wrong_magic).find("first line"), std::string::npos);
}

}  // namespace
}  // namespace sluice
