#include "core/identity.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace sluice {
namespace {

TEST(IdentityTest, ValuesRoundTripWhateverTheyContain) {
  const std::vector<std::string> values = {"42", "a:b", "", "3:x", std::string("nul\0byte", 8)};
  std::vector<std::string_view> views(values.begin(), values.end());
  EXPECT_EQ(decode_identity(encode_identity(views)), values);
  EXPECT_EQ(encode_identity({"42", "abc"}), "2:423:abc");
  EXPECT_TRUE(decode_identity("").empty());
}

TEST(IdentityTest, MalformedTextIsAnErrorNamingIt) {
  for (std::string_view bad : {"2:4", "x:42", "2", ":", "99999999999999999999:a", "2:42junk"}) {
    try {
      decode_identity(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      EXPECT_NE(std::string(e.what()).find("row identity is malformed"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace sluice
