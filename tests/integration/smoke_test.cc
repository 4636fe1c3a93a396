#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

// The built binary answers --version (placeholder until the harness lands).
TEST(SmokeTest, BinaryPrintsVersion) {
  std::string cmd = std::string(SLUICE_BINARY) + " --version > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}
