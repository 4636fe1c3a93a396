#include <gtest/gtest.h>

#include "core/error.h"
#include "core/lsn.h"
#include "core/position.h"

namespace sluice {
namespace {

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

TEST(PositionTest, EncodingOrderIsPositionOrder) {
  Position a{Lsn(0x10), 5}, b{Lsn(0x10), 6}, c{Lsn(0x1000000000), 1};
  EXPECT_LT(a.encode(), b.encode());
  EXPECT_LT(b.encode(), c.encode());
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(Position::decode(c.encode()), c);
}

TEST(PositionTest, DecodeRejectsGarbage) {
  EXPECT_THROW(Position::decode("0000000000000010-00000005"), Error);
  EXPECT_THROW(Position::decode("00000000000000100:0000005"), Error);
  EXPECT_THROW(Position::decode("zz"), Error);
}

}  // namespace
}  // namespace sluice
