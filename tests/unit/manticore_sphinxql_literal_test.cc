#include "sink/manticore/sphinxql_literal.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace sluice {
namespace {

TEST(SphinxqlLiteralTest, QuotesAndBackslashesAreEscapedWithABackslash) {
  EXPECT_EQ(quote_literal("plain"), "'plain'");
  EXPECT_EQ(quote_literal(""), "''");
  EXPECT_EQ(quote_literal("it's"), "'it\\'s'");
  EXPECT_EQ(quote_literal("a\\b"), "'a\\\\b'");
  EXPECT_EQ(quote_literal("\\'"), "'\\\\\\''");
}

TEST(SphinxqlLiteralTest, OtherBytesPassThrough) {
  // searchd reads "\n" as a newline, so a real newline needs no escape, and a
  // backslash before an 'n' must be escaped (it is, as every backslash is).
  EXPECT_EQ(quote_literal("line\nnext\t\"dq\" \x01\xff"), "'line\nnext\t\"dq\" \x01\xff'");
  EXPECT_EQ(quote_literal("\\n"), "'\\\\n'");
}

TEST(SphinxqlLiteralTest, NulByteIsInvalidInput) {
  try {
    quote_literal(std::string("a\0b", 3));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("NUL byte (at offset 1)"), std::string::npos) << e.what();
  }
}

TEST(SphinxqlLiteralTest, AppendKeepsWhatWasThere) {
  std::string out = "VALUES (";
  append_quoted(out, "x");
  EXPECT_EQ(out, "VALUES ('x'");
}

TEST(SphinxqlLiteralTest, Identifiers) {
  EXPECT_TRUE(is_plain_identifier("title"));
  EXPECT_TRUE(is_plain_identifier("_sluice_version"));
  EXPECT_TRUE(is_plain_identifier("Price2"));
  EXPECT_FALSE(is_plain_identifier(""));
  EXPECT_FALSE(is_plain_identifier("2price"));
  EXPECT_FALSE(is_plain_identifier("my-col"));
  EXPECT_FALSE(is_plain_identifier("a b"));
  EXPECT_FALSE(is_plain_identifier("a`b"));
  EXPECT_FALSE(is_plain_identifier("caf\xc3\xa9"));
  EXPECT_EQ(quote_identifier("order"), "`order`");
  EXPECT_THROW(quote_identifier("a`b"), Error);
}

}  // namespace
}  // namespace sluice
