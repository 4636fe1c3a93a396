// The tests' config writer (kit/toml_writer.h): the text it writes, escaping that
// an independent TOML parser reads back to the very bytes given, and a whole
// config that sluice's own loader parses to the values the writer was given.
#include "kit/toml_writer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <toml++/toml.h>

#include "app/plugins.h"
#include "config/config.h"
#include "sink/manticore/manticore_config.h"
#include "sink/redis/redis_config.h"
#include "source/postgres/pg_source_config.h"

namespace sluice::test {
namespace {

// The string at `key` of the TOML document `text`, as toml++ reads it.
std::string parsed_string(const std::string& text, const std::string& key) {
  toml::table document = toml::parse(text);
  auto value = document[key].value<std::string>();
  if (!value) ADD_FAILURE() << "no string '" << key << "' in:\n" << text;
  return value.value_or("");
}

TEST(TomlWriterTest, WritesTablesKeysAndValuesInCallOrder) {
  TomlWriter toml;
  toml.table("source").set("slot", "s").set("status_interval_ms", 500).set("snapshot_workers", size_t{3});
  toml.table("metrics").set("enabled", true).set("off", false).set("below", -7);
  EXPECT_EQ(toml.str(),
            "[source]\n"
            "slot = \"s\"\n"
            "status_interval_ms = 500\n"
            "snapshot_workers = 3\n"
            "\n"
            "[metrics]\n"
            "enabled = true\n"
            "off = false\n"
            "below = -7\n");
}

TEST(TomlWriterTest, StringsEscapeBackslashQuoteAndControlCharacters) {
  EXPECT_EQ(toml_string("plain ${env:X} é"), "\"plain ${env:X} é\"");
  EXPECT_EQ(toml_string("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(toml_string("\b\t\n\f\r"), R"("\b\t\n\f\r")");
  EXPECT_EQ(toml_string(std::string("\x01\x1f\x7f", 3)), R"("\u0001\u001F\u007F")");
  EXPECT_EQ(toml_string(std::string("nul\0end", 7)), R"("nul\u0000end")");
}

TEST(TomlWriterTest, EveryByteOfAStringReadsBackAsItWasGiven) {
  std::string every_ascii;
  for (int c = 0; c < 0x80; ++c) every_ascii += static_cast<char>(c);
  for (const std::string& value :
       {every_ascii, std::string("password='it\\'s \"q\" \\\\ x'"), std::string("C:\\dir\\"), std::string("\"\"\""),
        std::string("ünïcödé ✓"), std::string()}) {
    TomlWriter toml;
    toml.set("value", value);
    EXPECT_EQ(parsed_string(toml.str(), "value"), value) << toml.str();
  }
}

TEST(TomlWriterTest, ArraysOfStringsAreEscapedElementByElement) {
  TomlWriter toml;
  toml.set("tables", {"public.a", "public.b"})
      .set("one", {"x"})
      .set("none", std::vector<std::string>{})
      .set("odd", std::vector<std::string>{"a,b", "q\"uote", "back\\slash", "line\nbreak"});
  EXPECT_EQ(toml.str(),
            "tables = [\"public.a\", \"public.b\"]\n"
            "one = [\"x\"]\n"
            "none = []\n"
            "odd = [\"a,b\", \"q\\\"uote\", \"back\\\\slash\", \"line\\nbreak\"]\n");
  toml::table document = toml::parse(toml.str());
  const toml::array* odd = document["odd"].as_array();
  ASSERT_NE(odd, nullptr);
  ASSERT_EQ(odd->size(), 4u);
  EXPECT_EQ((*odd)[1].value<std::string>(), "q\"uote");
  EXPECT_EQ((*odd)[2].value<std::string>(), "back\\slash");
  EXPECT_EQ((*odd)[3].value<std::string>(), "line\nbreak");
  EXPECT_EQ(document["none"].as_array()->size(), 0u);
}

TEST(TomlWriterTest, ArrayTablesOpenAnEntryEachAndNestUnderTheLastParent) {
  TomlWriter toml;
  toml.array_table("sinks").set("name", "a");
  toml.array_table("sinks.tables").set("table", "public.t1");
  toml.array_table("sinks.tables").set("table", "public.t2");
  toml.array_table("sinks").set("name", "b");
  EXPECT_EQ(toml.str(),
            "[[sinks]]\nname = \"a\"\n\n"
            "[[sinks.tables]]\ntable = \"public.t1\"\n\n"
            "[[sinks.tables]]\ntable = \"public.t2\"\n\n"
            "[[sinks]]\nname = \"b\"\n");
  toml::table document = toml::parse(toml.str());
  const toml::array* sinks = document["sinks"].as_array();
  ASSERT_NE(sinks, nullptr);
  ASSERT_EQ(sinks->size(), 2u);
  EXPECT_EQ(document["sinks"][0]["tables"].as_array()->size(), 2u);
  EXPECT_EQ(document["sinks"][0]["tables"][1]["table"].value<std::string>(), "public.t2");
  EXPECT_EQ(document["sinks"][1]["tables"].as_array(), nullptr);
}

TEST(TomlWriterTest, KeysThatAreNotBareAreQuoted) {
  EXPECT_EQ(toml_key("batch_max-changes9"), "batch_max-changes9");
  EXPECT_EQ(toml_key("a.b"), "\"a.b\"");
  EXPECT_EQ(toml_key("with space"), "\"with space\"");
  EXPECT_EQ(toml_key(""), "\"\"");
  TomlWriter toml;
  toml.table("odd table.x").set("a.b", 1);
  EXPECT_EQ(toml.str(), "[\"odd table\".x]\n\"a.b\" = 1\n");
  EXPECT_EQ(toml::parse(toml.str())["odd table"]["x"]["a.b"].value<int64_t>(), 1);
}

TEST(TomlWriterTest, RawTextIsCopiedAndEndsItsLine) {
  TomlWriter toml;
  toml.table("source").raw("# a comment").raw("").raw("snapshot = \"never\"\n").set("slot", "s");
  EXPECT_EQ(toml.str(), "[source]\n# a comment\nsnapshot = \"never\"\nslot = \"s\"\n");
}

TEST(TomlWriterTest, PostgresDsnIsTheHarnessDatabaseWithThePasswordFromTheEnvironment) {
  EXPECT_EQ(postgres_dsn(5433), "host=127.0.0.1 port=5433 dbname=app user=app password=${env:APP_PG_PASSWORD}");
  EXPECT_EQ(postgres_dsn(1, "cdc", "${env:CDC_PASSWORD}"),
            "host=127.0.0.1 port=1 dbname=app user=cdc password=${env:CDC_PASSWORD}");
}

// A whole config made with the helpers, parsed by sluice's loader (with the
// plugins the binary has): every value arrives as given, the escaped ones too.
TEST(TomlWriterTest, AConfigFromTheHelpersParsesToTheValuesGiven) {
  // A quoted libpq value holding \' and \\, and a tab between parameters: both
  // must reach libpq byte for byte.
  const std::string dsn =
      "host=127.0.0.1 port=5432 dbname=app\tuser=app password='${env:TOML_WRITER_TEST_PW}' "
      "application_name='it\\'s \"q\" \\\\ x'";
  TomlWriter toml;
  postgres_source(toml, dsn, "sluice_cache", {"public.user_account", "public.media"})
      .set("snapshot", "never")
      .set("status_interval_ms", 500)
      .set("snapshot_workers", 3);
  fast_retry(toml);
  redis_sink(toml, "cache", "redis://127.0.0.1:6390/2")
      .set("mode", "upsert")
      .set("format", "hash")
      .set("key", "say \"hi\" \\ {table}:{pk}")
      .set("batch_max_changes", 500);
  toml.array_table("sinks.tables").set("table", "public.media").set("key", "m:{channel_id}:{media_id}");
  toml.array_table("sinks.tables").set("table", "public.user_account").set("exclude_columns", {"email", "note"});
  manticore_sink(toml, "search", "mysql://127.0.0.1:9306");
  toml.array_table("sinks.tables").set("table", "public.media").set("fields", {"title", "description"});
  toml.table("metrics").set("listen", "127.0.0.1:9100").set("unhealthy_after_ms", 1500);

  setenv("TOML_WRITER_TEST_PW", "pw", 1);
  Config config = parse_config(toml.str(), "written.toml", builtin_plugins());
  unsetenv("TOML_WRITER_TEST_PW");

  EXPECT_EQ(config.source.kind, "postgres");
  EXPECT_EQ(pg::settings_of(config.source).dsn,
            "host=127.0.0.1 port=5432 dbname=app\tuser=app password='pw' application_name='it\\'s \"q\" \\\\ x'");
  EXPECT_EQ(pg::settings_of(config.source).slot, "sluice_cache");
  EXPECT_EQ(pg::settings_of(config.source).publication, "sluice_cache");
  EXPECT_EQ(config.source.tables, (std::vector<std::string>{"public.user_account", "public.media"}));
  EXPECT_EQ(config.source.snapshot, SnapshotMode::kNever);
  EXPECT_EQ(pg::settings_of(config.source).status_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(config.source.snapshot_workers, 3u);
  EXPECT_EQ(config.retry.initial_backoff, std::chrono::milliseconds(100));
  EXPECT_EQ(config.retry.max_backoff, std::chrono::milliseconds(1000));

  ASSERT_EQ(config.sinks.size(), 2u);
  EXPECT_EQ(config.sinks[0].name, "cache");
  EXPECT_EQ(config.sinks[0].kind, "redis");
  EXPECT_EQ(config.sinks[0].bounds.batch_max_changes, 500u);
  const auto& cache = config.sinks[0].settings_as<RedisSinkConfig>();
  EXPECT_EQ(cache.url, "redis://127.0.0.1:6390/2");
  EXPECT_EQ(cache.mode, SinkMode::kUpsert);
  EXPECT_EQ(cache.format, DocumentFormat::kHash);
  EXPECT_EQ(cache.key, "say \"hi\" \\ {table}:{pk}");
  ASSERT_EQ(cache.tables.size(), 2u);
  EXPECT_EQ(cache.tables[0].table, "public.media");
  EXPECT_EQ(cache.tables[0].key, "m:{channel_id}:{media_id}");
  EXPECT_EQ(cache.tables[1].table, "public.user_account");
  EXPECT_EQ(cache.tables[1].exclude_columns, (std::vector<std::string>{"email", "note"}));

  EXPECT_EQ(config.sinks[1].name, "search");
  EXPECT_EQ(config.sinks[1].kind, "manticore");
  const auto& search = config.sinks[1].settings_as<ManticoreSinkConfig>();
  EXPECT_EQ(search.url, "mysql://127.0.0.1:9306");
  EXPECT_EQ(search.index, "{table}_rt");
  ASSERT_EQ(search.tables.size(), 1u);
  EXPECT_EQ(search.tables[0].table, "public.media");
  EXPECT_EQ(search.tables[0].fields, (std::vector<std::string>{"title", "description"}));

  EXPECT_TRUE(config.metrics.enabled);
  EXPECT_EQ(config.metrics.host, "127.0.0.1");
  EXPECT_EQ(config.metrics.port, 9100);
  EXPECT_EQ(config.metrics.unhealthy_after, std::chrono::milliseconds(1500));
}

}  // namespace
}  // namespace sluice::test
