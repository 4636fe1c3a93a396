#include "config/redact.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(RedactDsnTest, KeywordValuePasswordIsMasked) {
  EXPECT_EQ(redact_dsn("host=db port=5432 user=app password=s3cret dbname=app"),
            "host=db port=5432 user=app password=******** dbname=app");
  EXPECT_EQ(redact_dsn("password=s3cret"), "password=********");
  EXPECT_EQ(redact_dsn("host=db sslpassword=keypass"), "host=db sslpassword=********");
}

TEST(RedactDsnTest, QuotedPasswordWithEscapesIsMaskedWhole) {
  EXPECT_EQ(redact_dsn(R"(host=db password='it\'s a \\ secret' user=app)"),
            "host=db password=******** user=app");
  EXPECT_EQ(redact_dsn("password = 'a b c'  host=db"), "password = ********  host=db");
  EXPECT_EQ(redact_dsn("password='' host=db"), "password=******** host=db");
}

TEST(RedactDsnTest, UnquotedValueWithBackslashEscapesIsMaskedWhole) {
  EXPECT_EQ(redact_dsn(R"(password=a\ b host=db)"), "password=******** host=db");
}

TEST(RedactDsnTest, MisspeltPasswordKeywordIsMaskedToo) {
  EXPECT_EQ(redact_dsn("host=db passwd=s3cret"), "host=db passwd=********");
  EXPECT_EQ(redact_dsn("host=db PASSWORD=s3cret"), "host=db PASSWORD=********");
}

TEST(RedactDsnTest, EverythingAfterASyntaxErrorIsHidden) {
  EXPECT_EQ(redact_dsn("host=db password='s3cret"), "host=db password=********");
  EXPECT_EQ(redact_dsn("host=db password=s3 cret"), "host=db password=******** ********");
  EXPECT_EQ(redact_dsn("host=db garbage"), "host=db ********");
}

TEST(RedactDsnTest, DsnWithoutPasswordIsUnchanged) {
  EXPECT_EQ(redact_dsn("host=db dbname=app user=app"), "host=db dbname=app user=app");
  EXPECT_EQ(redact_dsn(""), "");
}

TEST(RedactDsnTest, UriUserinfoPasswordIsMasked) {
  EXPECT_EQ(redact_dsn("postgresql://app:s3cret@db:5432/app?sslmode=require"),
            "postgresql://app:********@db:5432/app?sslmode=require");
  EXPECT_EQ(redact_dsn("postgres://app:s3cret@db/app"), "postgres://app:********@db/app");
  EXPECT_EQ(redact_dsn("postgresql://app:s3cret@h1:5432,h2:5433/app"),
            "postgresql://app:********@h1:5432,h2:5433/app");
}

TEST(RedactDsnTest, UriPasswordWithUnencodedSpecialCharactersIsMaskedWhole) {
  EXPECT_EQ(redact_dsn("postgresql://app:p@ss/w:rd@db/app"), "postgresql://app:********@db/app");
  EXPECT_EQ(redact_dsn("postgresql://app:pa?ss@db/app"), "postgresql://app:********@db/app");
}

TEST(RedactDsnTest, UriQueryPasswordIsMasked) {
  EXPECT_EQ(redact_dsn("postgresql://app@db/app?sslmode=require&password=s3cret"),
            "postgresql://app@db/app?sslmode=require&password=********");
  EXPECT_EQ(redact_dsn("postgresql://db/app?password=s3cret&connect_timeout=5"),
            "postgresql://db/app?password=********&connect_timeout=5");
  EXPECT_EQ(redact_dsn("postgresql://app:one@db/app?password=two"),
            "postgresql://app:********@db/app?password=********");
}

TEST(RedactDsnTest, UriWithoutPasswordIsUnchanged) {
  EXPECT_EQ(redact_dsn("postgresql://app@db:5432/app"), "postgresql://app@db:5432/app");
  EXPECT_EQ(redact_dsn("postgresql://db/app?user=a@b"), "postgresql://db/app?user=a@b");
  EXPECT_EQ(redact_dsn("postgresql:///app"), "postgresql:///app");
}

TEST(RedactUrlTest, PasswordInUserinfoIsMasked) {
  EXPECT_EQ(redact_url("redis://user:s3cret@cache:6379/0"), "redis://user:********@cache:6379/0");
  EXPECT_EQ(redact_url("redis://:s3cret@cache:6379/0"), "redis://:********@cache:6379/0");
  EXPECT_EQ(redact_url("rediss://user:p@ss@cache"), "rediss://user:********@cache");
}

TEST(RedactUrlTest, UserinfoWithoutColonIsTreatedAsAPassword) {
  EXPECT_EQ(redact_url("redis://s3cret@cache:6379"), "redis://********@cache:6379");
}

TEST(RedactUrlTest, UrlWithoutCredentialsIsUnchanged) {
  EXPECT_EQ(redact_url("redis://127.0.0.1:6379/0"), "redis://127.0.0.1:6379/0");
  EXPECT_EQ(redact_url("redis://[::1]:6379"), "redis://[::1]:6379");
  EXPECT_EQ(redact_url(""), "");
}

TEST(RedactUrlTest, UrlWithoutSchemeIsStillRedacted) {
  EXPECT_EQ(redact_url("user:s3cret@cache:6379"), "user:********@cache:6379");
}

TEST(RedactSecretsTest, EveryOccurrenceIsMasked) {
  EXPECT_EQ(redact_secrets("auth failed for s3cret (s3cret)", {"s3cret"}),
            "auth failed for ******** (********)");
}

TEST(RedactSecretsTest, LongerSecretIsMaskedWhole) {
  EXPECT_EQ(redact_secrets("token abcdef", {"abc", "abcdef"}), "token ********");
}

TEST(RedactSecretsTest, EmptySecretIsIgnored) {
  EXPECT_EQ(redact_secrets("nothing to hide", {"", "absent"}), "nothing to hide");
}

}  // namespace
}  // namespace sluice
