#include "sink/manticore/sphinxql_url.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace sluice {
namespace {

// The Error::config message for `text`, or "" if it parsed.
std::string config_error(const std::string& text) {
  try {
    SphinxqlUrl::parse(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig) << text;
    return e.what();
  }
  return "";
}

TEST(SphinxqlUrlTest, HostAloneTakesTheDefaultPort) {
  SphinxqlUrl u = SphinxqlUrl::parse("mysql://search.internal");
  EXPECT_EQ(u.host, "search.internal");
  EXPECT_EQ(u.port, 9306);
  EXPECT_EQ(u.user, "");
  EXPECT_FALSE(u.password);
  EXPECT_EQ(u.redacted(), "mysql://search.internal:9306");
  EXPECT_EQ(u.endpoint(), "search.internal:9306");
}

TEST(SphinxqlUrlTest, PortUserAndPassword) {
  SphinxqlUrl u = SphinxqlUrl::parse("mysql://reader:s3cret@127.0.0.1:19306");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 19306);
  EXPECT_EQ(u.user, "reader");
  ASSERT_TRUE(u.password);
  EXPECT_EQ(*u.password, "s3cret");
  EXPECT_EQ(u.redacted(), "mysql://reader:********@127.0.0.1:19306");
}

TEST(SphinxqlUrlTest, UserWithoutPassword) {
  SphinxqlUrl u = SphinxqlUrl::parse("mysql://reader@h");
  EXPECT_EQ(u.user, "reader");
  EXPECT_FALSE(u.password);
  EXPECT_EQ(u.redacted(), "mysql://reader@h:9306");
}

TEST(SphinxqlUrlTest, PercentEncodedCredentialsAndEmptyPassword) {
  SphinxqlUrl u = SphinxqlUrl::parse("mysql://us%40er:p%3Aw%2Fd@h:1");
  EXPECT_EQ(u.user, "us@er");
  EXPECT_EQ(*u.password, "p:w/d");
  EXPECT_EQ(u.port, 1);
  SphinxqlUrl empty = SphinxqlUrl::parse("mysql://u:@h");
  ASSERT_TRUE(empty.password);
  EXPECT_EQ(*empty.password, "");
}

TEST(SphinxqlUrlTest, UnencodedAtInPasswordBelongsToThePassword) {
  SphinxqlUrl u = SphinxqlUrl::parse("mysql://u:p@ss@h:2");
  EXPECT_EQ(*u.password, "p@ss");
  EXPECT_EQ(u.host, "h");
}

TEST(SphinxqlUrlTest, Ipv6InBrackets) {
  SphinxqlUrl u = SphinxqlUrl::parse("mysql://[::1]:9307");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 9307);
  EXPECT_EQ(u.endpoint(), "[::1]:9307");
  EXPECT_EQ(SphinxqlUrl::parse("mysql://[fe80::1]").port, 9306);
}

TEST(SphinxqlUrlTest, SchemeIsCaseInsensitiveAndATrailingSlashIsAllowed) {
  EXPECT_EQ(SphinxqlUrl::parse("MySQL://h/").host, "h");
}

TEST(SphinxqlUrlTest, WrongSchemeSaysWhatIsExpected) {
  EXPECT_NE(config_error("redis://h").find("expected mysql://[user[:password]@]host[:port]"), std::string::npos);
  EXPECT_NE(config_error("h:9306").find("expected mysql://"), std::string::npos);
  EXPECT_NE(config_error("").find("expected mysql://"), std::string::npos);
  EXPECT_NE(config_error("mysqlx://h").find("expected mysql://"), std::string::npos);
}

TEST(SphinxqlUrlTest, BadPortsAreNamed) {
  EXPECT_NE(config_error("mysql://h:").find("empty port"), std::string::npos);
  EXPECT_NE(config_error("mysql://h:0").find("port '0' is not a number from 1 to 65535"), std::string::npos);
  EXPECT_NE(config_error("mysql://h:65536").find("port '65536'"), std::string::npos);
  EXPECT_NE(config_error("mysql://h:93o6").find("port '93o6'"), std::string::npos);
  EXPECT_NE(config_error("mysql://h:-1").find("port '-1'"), std::string::npos);
  EXPECT_NE(config_error("mysql://h:99999999999999999999").find("is not a number"), std::string::npos);
  EXPECT_NE(config_error("mysql://[::1]:").find("empty port"), std::string::npos);
}

TEST(SphinxqlUrlTest, MissingOrGarbledHostIsNamed) {
  EXPECT_NE(config_error("mysql://").find("no host"), std::string::npos);
  EXPECT_NE(config_error("mysql://:9306").find("no host"), std::string::npos);
  EXPECT_NE(config_error("mysql://u:p@").find("no host"), std::string::npos);
  EXPECT_NE(config_error("mysql://h st").find("host 'h st' has characters"), std::string::npos);
  EXPECT_NE(config_error(std::string("mysql://h\0x", 11)).find("host 'h\\x00x' has characters"), std::string::npos);
  EXPECT_NE(config_error("mysql://[::1").find("unclosed '['"), std::string::npos);
  EXPECT_NE(config_error("mysql://[::1]x").find("unexpected text after the IPv6 host"), std::string::npos);
  EXPECT_NE(config_error("mysql://[not-v6]").find("is not an IPv6 address"), std::string::npos);
  EXPECT_NE(config_error("mysql://@h").find("empty user name"), std::string::npos);
}

TEST(SphinxqlUrlTest, PathsQueriesAndFragmentsAreRefused) {
  EXPECT_NE(config_error("mysql://h/db").find("SphinxQL has no databases"), std::string::npos);
  EXPECT_NE(config_error("mysql://h?ssl=1").find("query parameters"), std::string::npos);
  EXPECT_NE(config_error("mysql://h#x").find("fragments"), std::string::npos);
}

TEST(SphinxqlUrlTest, MalformedEscapesAreNamedWithoutThePassword) {
  const std::string user_error = config_error("mysql://u%zz:pw@h");
  EXPECT_NE(user_error.find("percent-escape in the user name"), std::string::npos);
  const std::string password_error = config_error("mysql://u:hunter2%4@h");
  EXPECT_NE(password_error.find("percent-escape in the password"), std::string::npos);
  EXPECT_EQ(password_error.find("hunter2"), std::string::npos) << password_error;
}

TEST(SphinxqlUrlTest, NoMessageContainsThePassword) {
  for (const char* text : {"mysql://u:hunter2@h:0", "mysql://u:hunter2@h/db", "mysql://u:hunter2@", "mysql://u:hunter2@h st"}) {
    const std::string message = config_error(text);
    EXPECT_FALSE(message.empty()) << text;
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  }
}

TEST(SphinxqlUrlTest, GarbageNeverParsesAndNeverCrashes) {
  // Every prefix of a valid url, and a few byte soups: each either parses or
  // throws Error::config (never anything else).
  const std::string good = "mysql://us%41r:p%40ss@[::1]:9306/";
  for (size_t n = 0; n <= good.size(); ++n) {
    try {
      SphinxqlUrl::parse(good.substr(0, n));
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kConfig) << good.substr(0, n);
    }
  }
  for (const char* soup : {"mysql://%", "mysql://%%%@", "mysql://:::::", "mysql://[]", "mysql://[]:1", "\xff\xfe",
                           "mysql://\x01", "mysql://h:+9306"}) {
    EXPECT_FALSE(config_error(soup).empty()) << soup;
  }
}

}  // namespace
}  // namespace sluice
