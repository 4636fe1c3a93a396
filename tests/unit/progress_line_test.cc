#include "pipeline/progress_line.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(ProgressLineTest, NumbersAreGroupedByThousands) {
  EXPECT_EQ(grouped(0), "0");
  EXPECT_EQ(grouped(999), "999");
  EXPECT_EQ(grouped(1000), "1,000");
  EXPECT_EQ(grouped(1234567), "1,234,567");
}

TEST(ProgressLineTest, SaysDoneTotalPercentRateAndTimeLeft) {
  EXPECT_EQ(progress_line(450000, 1000000, 2.5), "450,000 of ~1,000,000 rows (45%), 180,000 rows/s, about 3s left");
  EXPECT_EQ(progress_line(100, 100000, 10), "100 of ~100,000 rows (0%), 10 rows/s, about 166m30s left");
}

TEST(ProgressLineTest, AnEstimateBelowWhatIsDoneIsNotShownAndNothingIsLeft) {
  EXPECT_EQ(progress_line(1500, 1000, 1), "1,500 of ~1,500 rows (100%), 1,500 rows/s");
  EXPECT_EQ(progress_line(0, 0, 0), "0 of ~0 rows (100%), 0 rows/s");
}

}  // namespace
}  // namespace sluice
