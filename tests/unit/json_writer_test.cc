#include "format/json_writer.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace sluice {
namespace {

std::string quoted(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

TEST(JsonWriterTest, PlainTextIsQuoted) {
  EXPECT_EQ(quoted("abc"), "\"abc\"");
  EXPECT_EQ(quoted(""), "\"\"");
  EXPECT_EQ(quoted("a b/c'd"), "\"a b/c'd\"");  // '/' and '\'' are not escaped
}

TEST(JsonWriterTest, EscapesQuoteAndBackslash) {
  EXPECT_EQ(quoted("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(quoted("C:\\dir\\"), "\"C:\\\\dir\\\\\"");
  EXPECT_EQ(quoted("\\x0102"), "\"\\\\x0102\"");
}

TEST(JsonWriterTest, ShortEscapesLikeEscapeJson) {
  EXPECT_EQ(quoted("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(quoted("line1\nline2"), "\"line1\\nline2\"");
}

TEST(JsonWriterTest, OtherControlCharactersAsLowerCaseUnicodeEscapes) {
  EXPECT_EQ(quoted("\x01"), "\"\\u0001\"");
  EXPECT_EQ(quoted("\x1f"), "\"\\u001f\"");
  EXPECT_EQ(quoted("a\x0b" "b"), "\"a\\u000bb\"");
  EXPECT_EQ(quoted(std::string_view("x\0y", 3)), "\"x\\u0000y\"");
}

TEST(JsonWriterTest, DeleteAndNonAsciiPassThrough) {
  EXPECT_EQ(quoted("\x7f"), "\"\x7f\"");
  EXPECT_EQ(quoted("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80"),
            "\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80\"");
}

TEST(JsonWriterTest, AppendsToExistingOutput) {
  std::string out = "[";
  append_json_string(out, "a");
  out += ',';
  append_json_string(out, "\"");
  out += ']';
  EXPECT_EQ(out, "[\"a\",\"\\\"\"]");
}

}  // namespace
}  // namespace sluice
