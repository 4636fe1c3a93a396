// Positions (core/position.h) as the core sees them — opaque, byte-ordered — and
// the PostgreSQL source's positions (source/postgres/pg_position.h).
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/position.h"
#include "source/postgres/lsn.h"
#include "source/postgres/pg_position.h"

namespace sluice {
namespace {

using pg::Lsn;

TEST(LsnTest, ParsesAndFormatsServerNotation) {
  Lsn lsn = Lsn::parse("16/B374D848");
  EXPECT_EQ(lsn.value(), 0x16B374D848ULL);
  EXPECT_EQ(lsn.str(), "16/B374D848");
  EXPECT_EQ(Lsn::parse("0/0").value(), 0u);
}

TEST(LsnTest, RejectsMalformedText) {
  for (const char* bad : {"", "16", "/1", "1/", "G/1", "1/123456789", "1/2/3", " 1/2"}) {
    EXPECT_THROW(Lsn::parse(bad), Error) << bad;
  }
}

TEST(PositionTest, AnyPrintableEncodingIsAPositionOrderedByItsBytes) {
  // A source other than PostgreSQL: positions the core knows nothing about.
  const Position a = Position::decode("0-1-00000009"), b = Position::decode("0-1-0000000A");
  const Position c = Position::decode("0-1-0000000A:1");  // a longer one after its prefix
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(Position::decode(c.encode()), c);
  EXPECT_LT(Position(), a);  // the empty position is older than every other
  EXPECT_TRUE(Position().empty());
  EXPECT_EQ(Position().str(), "none");
}

TEST(PositionTest, DecodeRejectsWhatNoSourceMakes) {
  EXPECT_THROW(Position::decode(""), Error);
  EXPECT_THROW(Position::decode("has space"), Error);
  EXPECT_THROW(Position::decode("tab\there"), Error);
  EXPECT_THROW(Position::decode(std::string("\x80\x81", 2)), Error);
  EXPECT_THROW(Position::decode(std::string(Position::kMaxBytes + 1, 'A')), Error);
  EXPECT_NO_THROW(Position::decode(std::string(Position::kMaxBytes, 'A')));
}

TEST(PgPositionTest, EncodingOrderIsCommitOrderAndRoundTrips) {
  const Position a = pg::position(Lsn(0x10), 5), b = pg::position(Lsn(0x10), 6), c = pg::position(Lsn(0x1000000000), 1);
  EXPECT_EQ(a.encode(), "0000000000000010:00000005");
  EXPECT_LT(a.encode(), b.encode());
  EXPECT_LT(b.encode(), c.encode());
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(Position::decode(c.encode()), c);
  EXPECT_EQ(pg::commit_lsn_of(c), Lsn(0x1000000000));
  EXPECT_EQ(pg::index_of(c), 1u);
  EXPECT_EQ(pg::describe(pg::position(Lsn(0x16B374D848), 42)), "16/B374D848#42");
}

TEST(PgPositionTest, PositionsOfAnotherSourceAreNotTakenApart) {
  for (const char* other : {"0000000000000010-00000005", "00000000000000100:0000005", "zz",
                            "0000000000000a10:00000005"}) {
    const Position p = Position::decode(other);
    EXPECT_THROW(pg::commit_lsn_of(p), Error) << other;
    EXPECT_FALSE(pg::commit_lsn_in(p).has_value()) << other;
    EXPECT_EQ(pg::describe(p), other);  // shown as stored
  }
}

TEST(PgPositionTest, TheFormatReadsPositionsInLogsEventsAndGauges) {
  pg::use_position_format();
  const Position p = pg::position(Lsn(0x16B3748), 2);
  EXPECT_EQ(p.str(), "0/16B3748#2");
  ASSERT_TRUE(position_format().as_number);
  EXPECT_EQ(position_format().as_number(p), static_cast<double>(0x16B3748));
  ASSERT_EQ(position_format().event_fields.size(), 1u);
  EXPECT_EQ(position_format().event_fields[0].first, "lsn");
  EXPECT_EQ(position_format().event_fields[0].second(p), "0/16B3748");
}

}  // namespace
}  // namespace sluice
