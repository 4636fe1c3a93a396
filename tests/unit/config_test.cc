#include "config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "app/plugins.h"
#include "core/error.h"
#include "sink/redis/redis_config.h"
#include "source/postgres/pg_source_config.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

// The loader with the plugins the sluice binary has.
Config parse_config(std::string_view text, const std::string& path) {
  return sluice::parse_config(text, path, builtin_plugins());
}
Config load_config(const std::string& path) { return sluice::load_config(path, builtin_plugins()); }

// The example from docs/configuration.md, exactly as a user writes it.
constexpr std::string_view kExample = R"(
[source]
kind = "postgres"
dsn = "host=127.0.0.1 port=5432 dbname=app user=app password=${env:APP_PG_PASSWORD}"  # ${env:NAME}, ${file:PATH}
slot = "sluice_cache"          # created if missing (pgoutput)
publication = "sluice_cache"   # used if it exists; otherwise created for the listed tables
tables = ["public.user_account", "public.channel", "public.media"]
snapshot = "initial"           # "initial": copy existing rows consistently, then stream; "never": stream only

[[sinks]]
name = "cache"
kind = "redis"
url = "redis://127.0.0.1:6379/0"
mode = "upsert"                # "upsert" | "invalidate" | "stream"
format = "json"                # "json" | "hash"   (upsert)
key = "{table}:{pk}"           # {schema}, {table} (bare name), {pk} (primary-key values joined by ':'), or any {column}

[[sinks.tables]]               # optional per-table overrides for the sink above
table = "public.media"
key = "m:{channel_id}:{media_id}"
)";

// Lines 1-5: a [source] table; `source_extra` starts at line 6. The [[sinks]]
// header follows, then name and url, then `sink_extra`.
std::string config_with(std::string_view source_extra, std::string_view sink_extra) {
  std::string text =
      "[source]\n"
      "dsn = \"host=127.0.0.1 dbname=app\"\n"
      "slot = \"s\"\n"
      "publication = \"p\"\n"
      "tables = [\"t\", \"media\"]\n";
  text += source_extra;
  text +=
      "[[sinks]]\n"
      "name = \"cache\"\n"
      "url = \"redis://127.0.0.1:6379/0\"\n";
  text += sink_extra;
  return text;
}
// With nothing extra the sink header is line 6, name line 7, url line 8, and
// `sink_extra` starts at line 9.
std::string sink_with(std::string_view sink_extra) { return config_with("", sink_extra); }

// The message of the Error::config that parsing `text` throws.
std::string error_of(std::string_view text, const std::string& path = "sluice.toml") {
  try {
    parse_config(text, path);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig) << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an sluice::Error: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "parsed without error:\n" << text;
  return {};
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "sluice_config_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, std::string_view contents) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  fs::path dir_;
};

TEST_F(ConfigTest, ExampleLoadsWithTheWrittenValues) {
  setenv("APP_PG_PASSWORD", "pg-secret", 1);
  Config config = parse_config(kExample, "sluice.toml");
  unsetenv("APP_PG_PASSWORD");

  EXPECT_EQ(config.path, "sluice.toml");
  EXPECT_EQ(config.source.kind, "postgres");
  EXPECT_EQ(pg::settings_of(config.source).dsn,
            "host=127.0.0.1 port=5432 dbname=app user=app password=pg-secret");
  EXPECT_EQ(pg::settings_of(config.source).slot, "sluice_cache");
  EXPECT_EQ(pg::settings_of(config.source).publication, "sluice_cache");
  EXPECT_EQ(config.source.tables,
            (std::vector<std::string>{"public.user_account", "public.channel", "public.media"}));
  EXPECT_EQ(config.source.snapshot, SnapshotMode::kInitial);
  EXPECT_EQ(config.source.snapshot_chunk_rows, 10000u);
  EXPECT_EQ(config.source.snapshot_workers, 2u);
  EXPECT_EQ(pg::settings_of(config.source).status_interval, std::chrono::milliseconds(10000));

  ASSERT_EQ(config.sinks.size(), 1u);
  const SinkConfig& common = config.sinks[0];
  const auto& sink = common.settings_as<RedisSinkConfig>();
  EXPECT_EQ(sink.name, "cache");
  EXPECT_EQ(common.kind, "redis");
  EXPECT_EQ(sink.url, "redis://127.0.0.1:6379/0");
  EXPECT_EQ(sink.mode, SinkMode::kUpsert);
  EXPECT_EQ(sink.format, DocumentFormat::kJson);
  EXPECT_EQ(sink.key, "{table}:{pk}");
  EXPECT_EQ(sink.state_prefix, "sluice:cache");
  EXPECT_EQ(sink.stream, "sluice:changes");
  EXPECT_FALSE(sink.stream_maxlen.has_value());
  EXPECT_EQ(common.bounds.batch_max_changes, 5000u);
  EXPECT_EQ(sink.script_max_ops, 32u);
  EXPECT_EQ(common.bounds.batch_max_bytes, size_t{8} << 20);
  EXPECT_EQ(common.bounds.queue_max_bytes, size_t{64} << 20);
  ASSERT_EQ(sink.tables.size(), 1u);
  EXPECT_EQ(sink.tables[0].table, "public.media");
  EXPECT_EQ(sink.tables[0].key, "m:{channel_id}:{media_id}");
  EXPECT_FALSE(sink.tables[0].columns.has_value());
  EXPECT_FALSE(sink.tables[0].stream.has_value());

  EXPECT_EQ(config.retry.initial_backoff, std::chrono::milliseconds(200));
  EXPECT_EQ(config.retry.max_backoff, std::chrono::milliseconds(30000));
}

TEST_F(ConfigTest, TableOverrideIsFoundByQualifiedName) {
  setenv("APP_PG_PASSWORD", "pg-secret", 1);
  Config config = parse_config(kExample, "sluice.toml");
  unsetenv("APP_PG_PASSWORD");
  const SinkConfig& common = config.sinks[0];
  const auto& sink = common.settings_as<RedisSinkConfig>();
  ASSERT_NE(sink.table_override("public.media"), nullptr);
  EXPECT_EQ(sink.table_override("public.media")->key, "m:{channel_id}:{media_id}");
  EXPECT_EQ(sink.table_override("public.channel"), nullptr);
  EXPECT_EQ(sink.table_override("media"), nullptr);
}

TEST_F(ConfigTest, EveryOptionalKeyIsRead) {
  Config config = parse_config(config_with(
                                   "snapshot = \"never\"\n"
                                   "snapshot_chunk_rows = 500\n"
                                   "snapshot_workers = 16\n"
                                   "status_interval_ms = 2500\n",
                                   "mode = \"stream\"\n"
                                   "stream = \"cdc:{table}\"\n"
                                   "stream_maxlen = 100000\n"
                                   "state_prefix = \"state:x\"\n"
                                   "batch_max_changes = 100\n"
                                   "script_max_ops = 0\n"
                                   "batch_max_bytes = \"512KiB\"\n"
                                   "queue_max_bytes = 2097152\n"
                                   "[[sinks.tables]]\n"
                                   "table = \"media\"\n"
                                   "columns = [\"media_id\", \"title\"]\n"
                                   "stream = \"cdc:media\"\n"
                                   "[retry]\n"
                                   "initial_backoff_ms = 50\n"
                                   "max_backoff_ms = 1000\n"),
                               "sluice.toml");
  EXPECT_EQ(config.source.snapshot, SnapshotMode::kNever);
  EXPECT_EQ(config.source.snapshot_chunk_rows, 500u);
  EXPECT_EQ(config.source.snapshot_workers, 16u);
  EXPECT_EQ(pg::settings_of(config.source).status_interval, std::chrono::milliseconds(2500));
  const SinkConfig& common = config.sinks[0];
  const auto& sink = common.settings_as<RedisSinkConfig>();
  EXPECT_EQ(sink.mode, SinkMode::kStream);
  EXPECT_EQ(sink.stream, "cdc:{table}");
  EXPECT_EQ(sink.stream_maxlen, 100000u);
  EXPECT_EQ(sink.state_prefix, "state:x");
  EXPECT_EQ(common.bounds.batch_max_changes, 100u);
  EXPECT_EQ(sink.script_max_ops, 0u);
  EXPECT_EQ(common.bounds.batch_max_bytes, 512u * 1024);
  EXPECT_EQ(common.bounds.queue_max_bytes, 2097152u);
  ASSERT_EQ(sink.tables.size(), 1u);
  EXPECT_EQ(sink.tables[0].table, "public.media");
  EXPECT_EQ(sink.tables[0].columns, (std::vector<std::string>{"media_id", "title"}));
  EXPECT_EQ(sink.tables[0].stream, "cdc:media");
  EXPECT_FALSE(sink.tables[0].key.has_value());
  EXPECT_EQ(config.retry.initial_backoff, std::chrono::milliseconds(50));
  EXPECT_EQ(config.retry.max_backoff, std::chrono::milliseconds(1000));
}

TEST_F(ConfigTest, BareTableNamesGetThePublicSchema) {
  Config config = parse_config(sink_with(""), "sluice.toml");
  EXPECT_EQ(config.source.tables, (std::vector<std::string>{"public.t", "public.media"}));
  EXPECT_EQ(normalize_table_name("user_account"), "public.user_account");
  EXPECT_EQ(normalize_table_name("app.user_account"), "app.user_account");
  EXPECT_THROW(normalize_table_name("\"User\""), Error);
  EXPECT_THROW(normalize_table_name("a.b.c"), Error);
}

TEST_F(ConfigTest, TomlSyntaxErrorHasFileLineAndColumn) {
  std::string message = error_of("[source]\nslot = \"s\nx = 1\n");
  EXPECT_TRUE(message.starts_with("sluice.toml:2:")) << message;
  EXPECT_NE(message.find("invalid TOML"), std::string::npos) << message;
}

TEST_F(ConfigTest, InvalidEnumNamesTheChoices) {
  // mode lands on line 12, column 8 - the example in docs/configuration.md.
  EXPECT_EQ(error_of(sink_with("key = \"{pk}\"\n"
                               "format = \"json\"\n"
                               "\n"
                               "mode = \"upsrt\"\n")),
            "sluice.toml:12:8: sinks[0].mode: \"upsrt\" is not one of \"upsert\", "
            "\"invalidate\", \"stream\"");
  EXPECT_EQ(error_of(config_with("snapshot = \"always\"\n", "")),
            "sluice.toml:6:12: source.snapshot: \"always\" is not one of \"initial\", \"never\"");
  EXPECT_EQ(error_of(sink_with("format = \"xml\"\n")),
            "sluice.toml:9:10: sinks[0].format: \"xml\" is not one of \"json\", \"hash\"");
}

TEST_F(ConfigTest, UnknownKeySuggestsTheClosestKnownKey) {
  EXPECT_EQ(error_of(config_with("slto = \"x\"\n", "")),
            "sluice.toml:6:1: source.slto: unknown key (did you mean \"slot\"?)");
  EXPECT_EQ(error_of(sink_with("[[sinks.tables]]\ntable = \"t\"\nkye = \"x\"\n")),
            "sluice.toml:11:1: sinks[0].tables[0].kye: unknown key (did you mean \"key\"?)");
  EXPECT_EQ(error_of(sink_with("queue_max_byte = 5\n")),
            "sluice.toml:9:1: sinks[0].queue_max_byte: unknown key (did you mean "
            "\"queue_max_bytes\"?)");
  EXPECT_EQ(error_of(sink_with("[retry]\nmax_backof_ms = 5\n")),
            "sluice.toml:10:1: retry.max_backof_ms: unknown key (did you mean "
            "\"max_backoff_ms\"?)");
}

TEST_F(ConfigTest, UnknownKeyFarFromAnyKnownKeyHasNoSuggestion) {
  EXPECT_EQ(error_of(sink_with("compression = \"lz4\"\n")),
            "sluice.toml:9:1: sinks[0].compression: unknown key");
  EXPECT_EQ(error_of("[sorce]\n" + sink_with("")),
            "sluice.toml:1:2: sorce: unknown key (did you mean \"source\"?)");
}

TEST_F(ConfigTest, FirstUnknownKeyInTheFileIsReported) {
  EXPECT_EQ(error_of(config_with("zzz_b = 1\naaa_a = 2\n", "")),
            "sluice.toml:6:1: source.zzz_b: unknown key");
}

TEST_F(ConfigTest, MissingRequiredKeyPointsAtTheEnclosingTable) {
  EXPECT_EQ(error_of("\n[source]\nslot = \"s\"\npublication = \"p\"\ntables = [\"t\"]\n"),
            "sluice.toml:2:1: source.dsn: required key is missing");
  EXPECT_EQ(error_of("[source]\ndsn = \"host=h\"\npublication = \"p\"\ntables = [\"t\"]\n"),
            "sluice.toml:1:1: source.slot: required key is missing");
  EXPECT_EQ(error_of("[source]\ndsn = \"host=h\"\nslot = \"s\"\ntables = [\"t\"]\n"),
            "sluice.toml:1:1: source.publication: required key is missing");
  EXPECT_EQ(error_of("[source]\ndsn = \"host=h\"\nslot = \"s\"\npublication = \"p\"\n"),
            "sluice.toml:1:1: source.tables: required key is missing");
  EXPECT_EQ(error_of(config_with("", "") + "[[sinks]]\nurl = \"redis://h\"\n"),
            "sluice.toml:9:1: sinks[1].name: required key is missing");
  EXPECT_EQ(error_of(config_with("", "") + "[[sinks]]\nname = \"other\"\n"),
            "sluice.toml:9:1: sinks[1].url: required key is missing");
  EXPECT_EQ(error_of(sink_with("[[sinks.tables]]\nkey = \"k\"\n")),
            "sluice.toml:9:1: sinks[0].tables[0].table: required key is missing");
}

TEST_F(ConfigTest, MissingSourceOrSinksIsReportedAtTheTop) {
  EXPECT_EQ(error_of("[[sinks]]\nname = \"a\"\nurl = \"redis://h\"\n"),
            "sluice.toml:1:1: source: required table [source] is missing");
  EXPECT_EQ(error_of("[source]\ndsn = \"host=h\"\nslot = \"s\"\npublication = \"p\"\n"
                     "tables = [\"t\"]\n"),
            "sluice.toml:1:1: sinks: required: add at least one [[sinks]] table");
  EXPECT_EQ(error_of("sinks = []\n[source]\ndsn = \"host=h\"\nslot = \"s\"\npublication = \"p\"\n"
                     "tables = [\"t\"]\n"),
            "sluice.toml:1:9: sinks: must contain at least one sink");
}

TEST_F(ConfigTest, EmptyTableListIsRejected) {
  EXPECT_EQ(error_of("[source]\ndsn = \"host=h\"\nslot = \"s\"\npublication = \"p\"\n"
                     "tables = []\n"),
            "sluice.toml:5:10: source.tables: must list at least one table");
}

TEST_F(ConfigTest, WrongTypesAreNamed) {
  EXPECT_EQ(error_of(config_with("snapshot_workers = \"4\"\n", "")),
            "sluice.toml:6:20: source.snapshot_workers: expected an integer, got a string");
  EXPECT_EQ(error_of(config_with("status_interval_ms = 1.5\n", "")),
            "sluice.toml:6:22: source.status_interval_ms: expected an integer, got a "
            "floating-point number");
  EXPECT_EQ(error_of(sink_with("key = 5\n")),
            "sluice.toml:9:7: sinks[0].key: expected a string, got an integer");
  EXPECT_EQ(error_of(sink_with("tables = \"media\"\n")),
            "sluice.toml:9:10: sinks[0].tables: expected an array of tables ([[sinks.tables]]), "
            "got a string");
  EXPECT_EQ(error_of("source = 1\n"), "sluice.toml:1:10: source: expected a table ([source]), "
                                       "got an integer");
  EXPECT_EQ(error_of("[source]\ndsn = \"host=h\"\nslot = \"s\"\npublication = \"p\"\n"
                     "tables = [\"a\", 2]\n"),
            "sluice.toml:5:16: source.tables[1]: expected a string, got an integer");
}

TEST_F(ConfigTest, UnsupportedKindsNameTheSupportedOnes) {
  EXPECT_EQ(error_of(config_with("kind = \"mysql\"\n", "")),
            "sluice.toml:6:8: source.kind: \"mysql\" is not supported yet (only \"postgres\")");
  EXPECT_EQ(error_of(sink_with("kind = \"kafka\"\n")),
            "sluice.toml:9:8: sinks[0].kind: \"kafka\" is not supported yet (only \"redis\", \"stdout\", "
            "\"manticore\")");
}

// A stdout sink takes no url, and the Redis keys are refused by name.
TEST_F(ConfigTest, StdoutSinkNeedsNoUrlAndRefusesRedisKeys) {
  const std::string head =
      "[source]\ndsn = \"host=h\"\nslot = \"s\"\npublication = \"p\"\ntables = [\"t\"]\n"
      "[[sinks]]\nname = \"debug\"\nkind = \"stdout\"\n";
  const Config config = parse_config(head + "queue_max_bytes = \"16MiB\"\nbatch_max_changes = 10\n", "sluice.toml");
  EXPECT_EQ(config.sinks[0].kind, "stdout");
  EXPECT_EQ(config.sinks[0].bounds.queue_max_bytes, 16u << 20);
  EXPECT_EQ(config.sinks[0].bounds.batch_max_changes, 10u);
  EXPECT_EQ(error_of(head + "key = \"{pk}\"\n"),
            "sluice.toml:9:7: sinks[0].key: only applies to kind = \"redis\" (this sink has kind = \"stdout\")");
  EXPECT_EQ(error_of(head + "url = \"redis://h/0\"\n"),
            "sluice.toml:9:7: sinks[0].url: only applies to kind = \"redis\" or \"manticore\" (this sink has kind = "
            "\"stdout\")");
}

TEST_F(ConfigTest, SlotAndPublicationMustBeLowercaseIdentifiers) {
  auto with_slot = [](std::string_view slot) {
    return "[source]\ndsn = \"host=h\"\nslot = \"" + std::string(slot) +
           "\"\npublication = \"p\"\ntables = [\"t\"]\n[[sinks]]\nname = \"a\"\nurl = "
           "\"redis://h\"\n";
  };
  EXPECT_EQ(pg::settings_of(parse_config(with_slot("slot_1"), "x").source).slot, "slot_1");
  EXPECT_EQ(pg::settings_of(parse_config(with_slot(std::string(63, 's')), "x").source).slot, std::string(63, 's'));
  EXPECT_EQ(error_of(with_slot("Sluice")),
            "sluice.toml:3:8: source.slot: \"Sluice\" is not a valid PostgreSQL identifier: it "
            "contains uppercase letters; PostgreSQL folds unquoted names to lowercase and names "
            "that need quoting are not supported");
  EXPECT_NE(error_of(with_slot("sluice-cache")).find("it contains \"-\""), std::string::npos);
  EXPECT_NE(error_of(with_slot("1slot")).find("it starts with a digit"), std::string::npos);
  EXPECT_NE(error_of(with_slot(std::string(64, 's'))).find("64 bytes long"), std::string::npos);
  EXPECT_NE(error_of(with_slot("")).find("it is empty"), std::string::npos);
  EXPECT_EQ(error_of("[source]\ndsn = \"host=h\"\nslot = \"s\"\npublication = \"my pub\"\n"
                     "tables = [\"t\"]\n")
                .substr(0, 40),
            "sluice.toml:4:15: source.publication: \"m");
}

TEST_F(ConfigTest, TableNamesMustBeUnquotedLowercase) {
  auto with_tables = [](std::string_view tables) {
    return "[source]\ndsn = \"host=h\"\nslot = \"s\"\npublication = \"p\"\ntables = " +
           std::string(tables) + "\n[[sinks]]\nname = \"a\"\nurl = \"redis://h\"\n";
  };
  EXPECT_EQ(error_of(with_tables(R"(["public.\"User\""])")),
            "sluice.toml:5:11: source.tables[0]: \"public.\\\"User\\\"\" is not a valid table "
            "name: quoted identifiers are not supported; write the lowercase unquoted name, "
            "e.g. \"public.user_account\"");
  EXPECT_EQ(error_of(with_tables(R"(["a.b.c"])")),
            "sluice.toml:5:11: source.tables[0]: \"a.b.c\" is not a valid table name: write "
            "\"table\" or \"schema.table\"");
  EXPECT_NE(error_of(with_tables(R"(["App.users"])")).find("schema name: it contains uppercase"),
            std::string::npos);
  EXPECT_NE(error_of(with_tables(R"(["app."])")).find("table name: it is empty"),
            std::string::npos);
}

TEST_F(ConfigTest, DuplicateTablesAreRejectedAfterNormalisation) {
  EXPECT_EQ(error_of("[source]\ndsn = \"host=h\"\nslot = \"s\"\npublication = \"p\"\n"
                     "tables = [\"media\", \"public.media\"]\n"),
            "sluice.toml:5:20: source.tables[1]: duplicate table \"public.media\" (already "
            "listed at line 5)");
  EXPECT_EQ(error_of(sink_with("[[sinks.tables]]\ntable = \"media\"\n"
                               "[[sinks.tables]]\ntable = \"public.media\"\n")),
            "sluice.toml:12:9: sinks[0].tables[1].table: duplicate override for "
            "\"public.media\" (first at line 10)");
}

TEST_F(ConfigTest, OverrideMustNameASourceTable) {
  EXPECT_EQ(error_of(sink_with("[[sinks.tables]]\ntable = \"channel\"\n")),
            "sluice.toml:10:9: sinks[0].tables[0].table: \"public.channel\" is not one of "
            "source.tables (public.t, public.media)");
}

TEST_F(ConfigTest, DuplicateSinkNamesAreRejected) {
  EXPECT_EQ(error_of(sink_with("[[sinks]]\nname = \"cache\"\nurl = \"redis://other\"\n")),
            "sluice.toml:10:8: sinks[1].name: duplicate sink name \"cache\" (first used at line "
            "7)");
  EXPECT_NE(error_of(sink_with("[[sinks]]\nname = \"a b\"\nurl = \"redis://h\"\n"))
                .find("sinks[1].name: \"a b\" may contain only"),
            std::string::npos);
}

TEST_F(ConfigTest, SinksOnOneRedisNeedDistinctStatePrefixes) {
  EXPECT_EQ(error_of(sink_with("[[sinks]]\nname = \"b\"\nurl = \"redis://127.0.0.1:6379/0\"\n"
                               "state_prefix = \"sluice:cache\"\n")),
            "sluice.toml:12:16: sinks[1].state_prefix: the sink at line 7 keeps its state in the same place "
            "(Redis 127.0.0.1:6379 db 0, state prefix \"sluice:cache\"); sinks sharing a store need different "
            "state_prefix");
  // The same prefix on another Redis is fine.
  EXPECT_NO_THROW(parse_config(sink_with("[[sinks]]\nname = \"b\"\nurl = \"redis://other\"\n"
                                         "state_prefix = \"sluice:cache\"\n"),
                               "x"));
}

TEST_F(ConfigTest, HashFormatOnlyAppliesToUpsert) {
  EXPECT_NO_THROW(parse_config(sink_with("format = \"hash\"\n"), "x"));
  EXPECT_EQ(error_of(sink_with("mode = \"invalidate\"\nformat = \"hash\"\n")),
            "sluice.toml:10:10: sinks[0].format: \"hash\" only applies to mode = \"upsert\" (this "
            "sink has mode = \"invalidate\")");
}

TEST_F(ConfigTest, StreamSettingsOnlyApplyToStreamMode) {
  EXPECT_EQ(error_of(sink_with("stream = \"s\"\n")),
            "sluice.toml:9:10: sinks[0].stream: only applies to mode = \"stream\" (this sink has "
            "mode = \"upsert\")");
  EXPECT_NE(error_of(sink_with("stream_maxlen = 10\n")).find("sinks[0].stream_maxlen: only"),
            std::string::npos);
  EXPECT_NE(error_of(sink_with("[[sinks.tables]]\ntable = \"t\"\nstream = \"s\"\n"))
                .find("sluice.toml:11:10: sinks[0].tables[0].stream: only applies"),
            std::string::npos);
  EXPECT_NE(error_of(sink_with("mode = \"invalidate\"\n[[sinks.tables]]\ntable = \"t\"\n"
                               "columns = [\"a\"]\n"))
                .find("sluice.toml:12:11: sinks[0].tables[0].columns: only applies to modes"),
            std::string::npos);
}

TEST_F(ConfigTest, ExcludeColumnsIsReadAndCannotBeGivenWithColumns) {
  Config config = parse_config(sink_with("[[sinks.tables]]\ntable = \"t\"\nexclude_columns = [\"password_hash\"]\n"),
                               "sluice.toml");
  ASSERT_EQ(config.sinks[0].tables.size(), 1u);
  EXPECT_EQ(config.sinks[0].tables[0].exclude_columns, (std::vector<std::string>{"password_hash"}));
  EXPECT_FALSE(config.sinks[0].tables[0].columns.has_value());
  const auto& redis = config.sinks[0].settings_as<RedisSinkConfig>();
  ASSERT_EQ(redis.tables.size(), 1u);
  EXPECT_EQ(redis.tables[0].exclude_columns, (std::vector<std::string>{"password_hash"}));

  EXPECT_EQ(error_of(sink_with("[[sinks.tables]]\ntable = \"t\"\ncolumns = [\"a\"]\nexclude_columns = [\"b\"]\n")),
            "sluice.toml:12:19: sinks[0].tables[0].exclude_columns: give either columns (the ones to keep) or "
            "exclude_columns (the ones to leave out), not both");
  EXPECT_EQ(error_of(sink_with("[[sinks.tables]]\ntable = \"t\"\nexclude_columns = [\"b\", \"b\"]\n")),
            "sluice.toml:11:25: sinks[0].tables[0].exclude_columns[1]: duplicate column \"b\"");
  EXPECT_NE(error_of(sink_with("mode = \"invalidate\"\n[[sinks.tables]]\ntable = \"t\"\n"
                               "exclude_columns = [\"a\"]\n"))
                .find("sluice.toml:12:19: sinks[0].tables[0].exclude_columns: only applies to modes"),
            std::string::npos);
}

TEST_F(ConfigTest, ColumnsMustBeDistinctIdentifiers) {
  EXPECT_EQ(error_of(sink_with("[[sinks.tables]]\ntable = \"t\"\ncolumns = [\"a\", \"a\"]\n")),
            "sluice.toml:11:17: sinks[0].tables[0].columns[1]: duplicate column \"a\"");
  EXPECT_EQ(error_of(sink_with("[[sinks.tables]]\ntable = \"t\"\ncolumns = []\n")),
            "sluice.toml:11:11: sinks[0].tables[0].columns: must list at least one column");
  EXPECT_NE(error_of(sink_with("[[sinks.tables]]\ntable = \"t\"\ncolumns = [\"Title\"]\n"))
                .find("columns[0]: \"Title\" is not a valid PostgreSQL identifier"),
            std::string::npos);
}

TEST_F(ConfigTest, LimitsMustBePositive) {
  EXPECT_EQ(error_of(config_with("snapshot_chunk_rows = 0\n", "")),
            "sluice.toml:6:23: source.snapshot_chunk_rows: must be a positive integer, got 0");
  EXPECT_EQ(error_of(config_with("snapshot_workers = 17\n", "")),
            "sluice.toml:6:20: source.snapshot_workers: 17 is out of range 1..16");
  EXPECT_EQ(error_of(config_with("snapshot_workers = 0\n", "")),
            "sluice.toml:6:20: source.snapshot_workers: 0 is out of range 1..16");
  EXPECT_EQ(error_of(sink_with("batch_max_changes = -5\n")),
            "sluice.toml:9:21: sinks[0].batch_max_changes: must be a positive integer, got -5");
  EXPECT_EQ(error_of(sink_with("script_max_ops = -1\n")),
            "sluice.toml:9:18: sinks[0].script_max_ops: must be 0 or more, not -1");
  EXPECT_EQ(error_of(sink_with("mode = \"stream\"\nstream_maxlen = 0\n")),
            "sluice.toml:10:17: sinks[0].stream_maxlen: must be a positive integer, got 0");
  EXPECT_EQ(error_of(sink_with("[retry]\ninitial_backoff_ms = 0\n")),
            "sluice.toml:10:22: retry.initial_backoff_ms: must be a positive integer, got 0");
}

TEST_F(ConfigTest, MaxBackoffMayNotBeBelowInitialBackoff) {
  EXPECT_EQ(error_of(sink_with("[retry]\ninitial_backoff_ms = 500\nmax_backoff_ms = 100\n")),
            "sluice.toml:11:18: retry.max_backoff_ms: max_backoff_ms (100) is smaller than "
            "initial_backoff_ms (500)");
  EXPECT_EQ(error_of(sink_with("[retry]\ninitial_backoff_ms = 60000\n")),
            "sluice.toml:10:22: retry.initial_backoff_ms: max_backoff_ms (30000) is smaller than "
            "initial_backoff_ms (60000)");
}

TEST_F(ConfigTest, SizesAcceptBytesAndUnits) {
  auto queue_bytes = [](std::string_view value) {
    return parse_config(sink_with("batch_max_bytes = 1\nqueue_max_bytes = " + std::string(value) +
                                  "\n"),
                        "x")
        .sinks[0]
        .bounds.queue_max_bytes;
  };
  EXPECT_EQ(queue_bytes("1048576"), 1048576u);
  EXPECT_EQ(queue_bytes("\"64MiB\""), size_t{64} << 20);
  EXPECT_EQ(queue_bytes("\"8MB\""), 8000000u);
  EXPECT_EQ(queue_bytes("\"512KiB\""), 512u * 1024);
  EXPECT_EQ(queue_bytes("\"2GiB\""), size_t{2} << 30);
  EXPECT_EQ(queue_bytes("\"100 kB\""), 100000u);
  EXPECT_EQ(queue_bytes("\"3KB\""), 3000u);
  EXPECT_EQ(queue_bytes("\"1GB\""), 1000000000u);
  EXPECT_EQ(queue_bytes("\"4096B\""), 4096u);
  EXPECT_EQ(queue_bytes("\"4096\""), 4096u);
}

TEST_F(ConfigTest, MalformedSizesAreRejected) {
  for (std::string_view bad : {"64mb", "1.5MiB", "-1", "MiB", "", "64 MiB extra", "64TiB",
                               "99999999999999999999"}) {
    std::string message = error_of(sink_with("queue_max_bytes = \"" + std::string(bad) + "\"\n"));
    EXPECT_TRUE(message.starts_with("sluice.toml:9:19: sinks[0].queue_max_bytes: \"" +
                                    std::string(bad) + "\" is not a size"))
        << message;
  }
  EXPECT_EQ(error_of(sink_with("queue_max_bytes = \"0MiB\"\n")),
            "sluice.toml:9:19: sinks[0].queue_max_bytes: must be a positive size, got 0");
  EXPECT_EQ(error_of(sink_with("queue_max_bytes = 0\n")),
            "sluice.toml:9:19: sinks[0].queue_max_bytes: must be a positive integer, got 0");
  EXPECT_EQ(error_of(sink_with("queue_max_bytes = 1.5\n")),
            "sluice.toml:9:19: sinks[0].queue_max_bytes: expected a size: a number of bytes or "
            "a string such as \"64MiB\", \"8MB\", \"512KiB\", got a floating-point number");
}

TEST_F(ConfigTest, BatchBytesMayNotExceedQueueBytes) {
  EXPECT_EQ(error_of(sink_with("batch_max_bytes = \"2MiB\"\nqueue_max_bytes = \"1MiB\"\n")),
            "sluice.toml:9:19: sinks[0].batch_max_bytes: batch_max_bytes (2097152 bytes) is "
            "larger than queue_max_bytes (1048576 bytes)");
  // Against the default batch size (8 MiB) the queue is the key to blame.
  EXPECT_EQ(error_of(sink_with("queue_max_bytes = \"1MiB\"\n")),
            "sluice.toml:9:19: sinks[0].queue_max_bytes: batch_max_bytes (8388608 bytes) is "
            "larger than queue_max_bytes (1048576 bytes)");
}

TEST_F(ConfigTest, RedisUrlIsCheckedAtLoadTime) {
  auto url_error = [](std::string_view url) {
    return error_of(config_with("", "") + "[[sinks]]\nname = \"b\"\nurl = \"" + std::string(url) +
                    "\"\n");
  };
  auto accepts = [](std::string_view url) {
    return parse_config(config_with("", "") + "[[sinks]]\nname = \"b\"\nurl = \"" +
                            std::string(url) + "\"\n",
                        "x")
               .sinks[1]
               .settings_as<RedisSinkConfig>()
               .url == url;
  };
  EXPECT_TRUE(accepts("redis://localhost"));
  EXPECT_TRUE(accepts("redis://cache.internal:6380"));
  EXPECT_TRUE(accepts("redis://10.0.0.1:6379/3"));
  EXPECT_TRUE(accepts("redis://:p%40ss@10.0.0.1:6379/3"));
  EXPECT_TRUE(accepts("redis://user:pw@[::1]:6379/0"));
  EXPECT_TRUE(accepts("rediss://cache:6380/0"));
  EXPECT_TRUE(accepts("REDISS://u:p@cache.internal"));
  // The rest is the sink's parser (sink/redis/redis_url.h); only the position and
  // the key are this loader's.
  for (std::string_view bad : {"http://cache", "cache:6379", "redis://:6379/0", "redis://cache:0",
                               "redis://cache:65536", "redis://cache:", "redis://cache/db1",
                               "redis://cache/0?timeout=1", "redis://justaword@cache"}) {
    std::string message = url_error(bad);
    EXPECT_TRUE(message.starts_with("sluice.toml:11:7: sinks[1].url: ")) << bad << ": " << message;
  }
}

// The tls_* keys: only with rediss://, files readable when the config loads,
// a client certificate with its key.
TEST_F(ConfigTest, RedisTlsKeysAreChecked) {
  const std::string ca = (dir_ / "ca.pem").string();
  { std::ofstream(ca) << "not checked here: the handshake reads it\n"; }
  auto sink = [](std::string_view url, std::string_view lines) {
    return config_with("", "") + "[[sinks]]\nname = \"b\"\nurl = \"" + std::string(url) + "\"\n" +
           std::string(lines);
  };
  const Config config =
      parse_config(sink("rediss://cache:6380", "tls_ca_file = \"" + ca + "\"\ntls_server_name = \"cache.internal\"\n"),
                   "x");
  const RedisSinkConfig& c = config.sinks[1].settings_as<RedisSinkConfig>();
  EXPECT_EQ(c.tls.ca_file, ca);
  EXPECT_EQ(c.tls.server_name, "cache.internal");
  EXPECT_EQ(error_of(sink("redis://cache:6380", "tls_ca_file = \"" + ca + "\"\n")),
            "sluice.toml:12:15: sinks[1].tls_ca_file: only applies to a rediss:// url (TLS); this sink's url is "
            "redis://");
  EXPECT_EQ(error_of(sink("rediss://cache:6380", "tls_ca_file = \"/nonexistent/ca.pem\"\n")),
            "sluice.toml:12:15: sinks[1].tls_ca_file: cannot read '/nonexistent/ca.pem': No such file or directory");
  EXPECT_EQ(error_of(sink("rediss://cache:6380", "tls_cert_file = \"" + ca + "\"\n")),
            "sluice.toml:12:17: sinks[1].tls_cert_file: mutual TLS needs both tls_cert_file and tls_key_file");
}

TEST_F(ConfigTest, DsnIsCheckedAtLoadTime) {
  auto dsn_error = [](std::string_view dsn) {
    return error_of("[source]\ndsn = \"" + std::string(dsn) +
                    "\"\nslot = \"s\"\npublication = \"p\"\ntables = [\"t\"]\n");
  };
  EXPECT_EQ(dsn_error("hots=db dbname=app"),
            "sluice.toml:2:7: source.dsn: unknown connection parameter \"hots\" (did you mean "
            "\"host\"?)");
  EXPECT_EQ(dsn_error("host=db dbname"),
            "sluice.toml:2:7: source.dsn: missing \"=\" after \"dbname\"");
  EXPECT_EQ(dsn_error("host='db"), "sluice.toml:2:7: source.dsn: the quoted value of host has no "
                                   "closing quote");
  EXPECT_EQ(dsn_error(""),
            "sluice.toml:2:7: source.dsn: is empty: write libpq connection parameters such as "
            "\"host=... dbname=... user=...\" or a postgresql:// URI");
  EXPECT_EQ(dsn_error("postgresql://[::1/app"),
            "sluice.toml:2:7: source.dsn: invalid connection URI: end of string reached when "
            "looking for matching \"]\" in IPv6 host address in URI: \"postgresql://[::1/app\"");
}

TEST_F(ConfigTest, EnvReferencesAreExpandedEverywhere) {
  setenv("SLUICE_TEST_SLOT", "from_env", 1);
  setenv("SLUICE_TEST_MODE", "invalidate", 1);
  Config config = parse_config(
      "[source]\ndsn = \"host=h\"\nslot = \"${env:SLUICE_TEST_SLOT}\"\npublication = "
      "\"p_${env:SLUICE_TEST_SLOT}\"\ntables = [\"t\"]\n[[sinks]]\nname = \"a\"\n"
      "url = \"redis://h\"\nmode = \"${env:SLUICE_TEST_MODE}\"\n",
      "x");
  unsetenv("SLUICE_TEST_SLOT");
  unsetenv("SLUICE_TEST_MODE");
  EXPECT_EQ(pg::settings_of(config.source).slot, "from_env");
  EXPECT_EQ(pg::settings_of(config.source).publication, "p_from_env");
  EXPECT_EQ(config.sinks[0].settings_as<RedisSinkConfig>().mode, SinkMode::kInvalidate);
}

TEST_F(ConfigTest, UnsetEnvVariableNamesVariableAndKey) {
  unsetenv("SLUICE_TEST_UNSET");
  EXPECT_EQ(error_of(sink_with("key = \"${env:SLUICE_TEST_UNSET}:{pk}\"\n")),
            "sluice.toml:9:7: sinks[0].key: environment variable SLUICE_TEST_UNSET is not set "
            "(${env:SLUICE_TEST_UNSET})");
  EXPECT_NE(error_of(sink_with("key = \"${env:1BAD}\"\n")).find("not a valid environment variable"),
            std::string::npos);
}

TEST_F(ConfigTest, EmptyEnvVariableExpandsToEmptyString) {
  setenv("SLUICE_TEST_EMPTY", "", 1);
  Config config = parse_config(sink_with("key = \"k${env:SLUICE_TEST_EMPTY}:{pk}\"\n"), "x");
  unsetenv("SLUICE_TEST_EMPTY");
  EXPECT_EQ(config.sinks[0].settings_as<RedisSinkConfig>().key, "k:{pk}");
}

TEST_F(ConfigTest, DoubleDollarEscapesAReference) {
  Config config = parse_config(sink_with("key = \"$${env:HOME}:{pk}:$$x\"\n"), "x");
  EXPECT_EQ(config.sinks[0].settings_as<RedisSinkConfig>().key, "${env:HOME}:{pk}:$$x");
}

TEST_F(ConfigTest, InsertedTextIsNotExpandedAgain) {
  setenv("SLUICE_TEST_NESTED", "${env:HOME}", 1);
  Config config = parse_config(sink_with("key = \"${env:SLUICE_TEST_NESTED}\"\n"), "x");
  unsetenv("SLUICE_TEST_NESTED");
  EXPECT_EQ(config.sinks[0].settings_as<RedisSinkConfig>().key, "${env:HOME}");
}

TEST_F(ConfigTest, UnknownOrUnterminatedReferenceIsAnError) {
  EXPECT_EQ(error_of(sink_with("key = \"${vault:secret/x}\"\n")),
            "sluice.toml:9:7: sinks[0].key: unknown reference ${vault:...}: use ${env:NAME} or "
            "${file:PATH} (write $${ for a literal ${)");
  EXPECT_EQ(error_of(sink_with("key = \"${HOME}\"\n")),
            "sluice.toml:9:7: sinks[0].key: unknown reference ${HOME}: use ${env:NAME} or "
            "${file:PATH} (write $${ for a literal ${)");
  EXPECT_EQ(error_of(sink_with("key = \"a${env:HOME\"\n")),
            "sluice.toml:9:7: sinks[0].key: unterminated ${ (write $${ for a literal ${)");
}

TEST_F(ConfigTest, FileReferenceIsRelativeToTheConfigDirectory) {
  write("secrets/pg_password", "file-secret\n");
  fs::path config = write("conf/sluice.toml",
                          "[source]\ndsn = \"host=h password=${file:../secrets/pg_password}\"\n"
                          "slot = \"s\"\npublication = \"p\"\ntables = [\"t\"]\n"
                          "[[sinks]]\nname = \"a\"\nurl = \"redis://h\"\n");
  // The working directory must not matter.
  fs::path cwd = fs::current_path();
  fs::current_path(fs::temp_directory_path());
  Config loaded = load_config(config.string());
  fs::current_path(cwd);
  EXPECT_EQ(pg::settings_of(loaded.source).dsn, "host=h password=file-secret");
  EXPECT_EQ(loaded.path, config.string());
}

TEST_F(ConfigTest, FileReferenceStripsExactlyOneTrailingNewline) {
  fs::path two = write("two_newlines", "value\n\n");
  fs::path crlf = write("crlf", "value\r\n");
  fs::path none = write("none", "value");
  auto key_from = [](const fs::path& file) {
    return parse_config(sink_with("key = \"${file:" + file.string() + "}\"\n"), "x").sinks[0].settings_as<RedisSinkConfig>().key;
  };
  EXPECT_EQ(key_from(two), "value\n");
  EXPECT_EQ(key_from(crlf), "value");
  EXPECT_EQ(key_from(none), "value");
}

TEST_F(ConfigTest, UnreadableFileReferenceNamesThePath) {
  fs::path config = write("sluice.toml", sink_with("key = \"${file:missing.txt}\"\n"));
  try {
    load_config(config.string());
    FAIL() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              config.string() + ":9:7: sinks[0].key: cannot read ${file:missing.txt} (" +
                  (dir_ / "missing.txt").string() + "): No such file or directory");
  }
}

TEST_F(ConfigTest, UnreadableConfigFileIsAConfigError) {
  fs::path missing = dir_ / "nope.toml";
  try {
    load_config(missing.string());
    FAIL() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_EQ(std::string(e.what()),
              "cannot read config " + missing.string() + ": No such file or directory");
  }
  try {
    load_config(dir_.string());
    FAIL() << "loaded a directory";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read config " + dir_.string() + ": Is a directory");
  }
}

// Secrets must never reach an error message, whichever check fails.
class ConfigSecretTest : public ConfigTest {
 protected:
  static constexpr std::string_view kSecret = "Hunter2 Pass";

  void SetUp() override {
    ConfigTest::SetUp();
    setenv("SLUICE_TEST_SECRET", std::string(kSecret).c_str(), 1);
  }
  void TearDown() override {
    unsetenv("SLUICE_TEST_SECRET");
    ConfigTest::TearDown();
  }

  static void expect_no_secret(const std::string& message) {
    EXPECT_FALSE(message.empty());
    EXPECT_EQ(message.find("Hunter2"), std::string::npos) << message;
    EXPECT_EQ(message.find("Pass"), std::string::npos) << message;
  }
  static std::string with_dsn(std::string_view dsn, std::string_view sink_extra = "") {
    return "[source]\ndsn = \"" + std::string(dsn) +
           "\"\nslot = \"s\"\npublication = \"p\"\ntables = [\"t\"]\n[[sinks]]\nname = \"a\"\n"
           "url = \"redis://h\"\n" +
           std::string(sink_extra);
  }
};

TEST_F(ConfigSecretTest, UnquotedPasswordWithSpacesDoesNotLeak) {
  // "password=Hunter2 Pass" reads "Pass" as the next keyword.
  std::string message = error_of(with_dsn("host=h password=${env:SLUICE_TEST_SECRET}"));
  expect_no_secret(message);
  EXPECT_TRUE(message.starts_with("sluice.toml:2:7: source.dsn: text after the password value"))
      << message;
  EXPECT_NE(message.find("may need quoting"), std::string::npos) << message;
}

TEST_F(ConfigSecretTest, QuotedPasswordWithSpacesLoads) {
  Config config = parse_config(with_dsn("host=h password='${env:SLUICE_TEST_SECRET}'"), "x");
  EXPECT_EQ(pg::settings_of(config.source).dsn, "host=h password='Hunter2 Pass'");
}

TEST_F(ConfigSecretTest, LiteralPasswordFollowedByGarbageDoesNotLeak) {
  expect_no_secret(error_of(with_dsn("host=h password=Hunter2 Pass=1")));
  expect_no_secret(error_of(with_dsn("host=h password='Hunter2 Pass")));
}

TEST_F(ConfigSecretTest, MalformedUriDoesNotLeakItsPassword) {
  // libpq quotes the whole URI in this message.
  std::string message =
      error_of(with_dsn("postgresql://app:${env:SLUICE_TEST_SECRET}@[::1/app"));
  expect_no_secret(message);
  EXPECT_NE(message.find("postgresql://app:********@[::1/app"), std::string::npos) << message;
  message = error_of(with_dsn("postgresql://app@[::1/app?password=Hunter2Pass"));
  expect_no_secret(message);
}

TEST_F(ConfigSecretTest, LaterErrorsDoNotShowTheDsnOrUrl) {
  expect_no_secret(
      error_of(with_dsn("host=h password='${env:SLUICE_TEST_SECRET}'", "mode = \"upsrt\"\n")));
  expect_no_secret(error_of(with_dsn(
      "host=h", "[[sinks]]\nname = \"b\"\nurl = \"redis://:${env:SLUICE_TEST_SECRET}@h:x\"\n")));
  expect_no_secret(error_of(with_dsn(
      "host=h", "[[sinks]]\nname = \"b\"\nurl = \"rediss://u:${env:SLUICE_TEST_SECRET}@h/db1\"\n")));
}

TEST_F(ConfigSecretTest, UrlFromEnvironmentDoesNotLeak) {
  setenv("SLUICE_TEST_URL", "redis://:Hunter2Pass@cache:99999/0", 1);
  std::string message =
      error_of(with_dsn("host=h", "[[sinks]]\nname = \"b\"\nurl = \"${env:SLUICE_TEST_URL}\"\n"));
  unsetenv("SLUICE_TEST_URL");
  expect_no_secret(message);
  EXPECT_NE(message.find("99999"), std::string::npos) << message;
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST(ConfigOnErrorTest, DefaultsToStopAndReadsDeadLetter) {
  EXPECT_EQ(parse_config(sink_with(""), "sluice.toml").sinks[0].settings_as<RedisSinkConfig>().on_error, OnError::kStop);
  EXPECT_EQ(parse_config(sink_with("on_error = \"dead_letter\"\n"), "sluice.toml").sinks[0].settings_as<RedisSinkConfig>().on_error,
            OnError::kDeadLetter);
}

TEST(ConfigOnErrorTest, UnknownPolicyIsNamed) {
  std::string message = error_of(sink_with("on_error = \"ignore\"\n"));
  EXPECT_NE(message.find("sinks[0].on_error: \"ignore\" is not one of \"stop\", \"dead_letter\""), std::string::npos)
      << message;
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// [metrics] after the sink (the sink's url is line 8, so [metrics] is line 9).
Config with_metrics(std::string_view metrics) {
  return parse_config(sink_with(std::string("[metrics]\n") + std::string(metrics)), "sluice.toml");
}

TEST(ConfigMetricsTest, OffUnlessListenIsGivenAndHeartbeatsOnByDefault) {
  const Config config = parse_config(sink_with(""), "sluice.toml");
  EXPECT_FALSE(config.metrics.enabled);
  EXPECT_EQ(pg::settings_of(config.source).heartbeat_interval, std::chrono::milliseconds(10000));
}

TEST(ConfigMetricsTest, ListenAndUnhealthyAfterAreRead) {
  const Config config = with_metrics("listen = \"127.0.0.1:9187\"\nunhealthy_after_ms = 5000\n");
  EXPECT_TRUE(config.metrics.enabled);
  EXPECT_EQ(config.metrics.host, "127.0.0.1");
  EXPECT_EQ(config.metrics.port, 9187);
  EXPECT_EQ(config.metrics.unhealthy_after, std::chrono::milliseconds(5000));
  EXPECT_EQ(with_metrics("listen = \"[::1]:0\"\n").metrics.host, "::1");
  EXPECT_EQ(with_metrics("listen = \"localhost:80\"\n").metrics.port, 80);
  EXPECT_EQ(with_metrics("listen = \"0.0.0.0:9187\"\n").metrics.unhealthy_after, std::chrono::milliseconds(30000));
}

TEST(ConfigMetricsTest, BadListenAddressesAreNamed) {
  for (const char* bad : {"9187", ":9187", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:91a7", "::1:9187",
                          "http://127.0.0.1:9187"}) {
    const std::string message = error_of(sink_with(std::string("[metrics]\nlisten = \"") + bad + "\"\n"));
    EXPECT_NE(message.find("sluice.toml:10:10: metrics.listen: \"" + std::string(bad) + "\" is not HOST:PORT"),
              std::string::npos)
        << message;
  }
}

TEST(ConfigMetricsTest, ListenIsRequiredAndUnknownKeysAreRejected) {
  EXPECT_NE(error_of(sink_with("[metrics]\nunhealthy_after_ms = 100\n")).find("metrics.listen: required key is missing"),
            std::string::npos);
  EXPECT_NE(error_of(sink_with("[metrics]\nlisten = \"127.0.0.1:1\"\nport = 9\n")).find("metrics.port: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(sink_with("[metrics]\nlisten = \"127.0.0.1:1\"\nunhealthy_after_ms = 0\n"))
                .find("metrics.unhealthy_after_ms: must be a positive integer, got 0"),
            std::string::npos);
}

TEST(ConfigMetricsTest, HeartbeatsCanBeTurnedOffButNotNegative) {
  EXPECT_EQ(pg::settings_of(parse_config(config_with("heartbeat_interval_ms = 0\n", ""), "sluice.toml").source).heartbeat_interval,
            std::chrono::milliseconds(0));
  EXPECT_EQ(pg::settings_of(parse_config(config_with("heartbeat_interval_ms = 2500\n", ""), "sluice.toml").source).heartbeat_interval,
            std::chrono::milliseconds(2500));
  EXPECT_EQ(error_of(config_with("heartbeat_interval_ms = -1\n", "")),
            "sluice.toml:6:25: source.heartbeat_interval_ms: must be 0 (off) or positive, got -1");
}

TEST(ConfigSourceTest, SchemaCheckIntervalDefaultsToOneSecondAndMayBeOnlyAtStart) {
  EXPECT_EQ(pg::settings_of(parse_config(config_with("", ""), "sluice.toml").source).schema_check_interval,
            std::chrono::milliseconds(1000));
  EXPECT_EQ(pg::settings_of(parse_config(config_with("schema_check_interval_ms = 0\n", ""), "sluice.toml").source).schema_check_interval,
            std::chrono::milliseconds(0));
  EXPECT_NE(error_of(config_with("schema_check_interval_ms = -5\n", ""))
                .find("source.schema_check_interval_ms: must be 0 (only at start) or positive, got -5"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// A second source kind, registered beside PostgreSQL's: the loader reads the
// common [source] keys, the plugin its own, and a key of another kind is
// refused.
struct FakeSourceSettings final : SourceSettings {
  std::string endpoint;
  std::string stream = "fake-stream";
  const std::string& stream_name() const override { return stream; }
  std::string_view stream_name_key() const override { return "endpoint"; }
  std::chrono::milliseconds idle_report_interval() const override { return std::chrono::milliseconds(250); }
};

PluginRegistry registry_with_a_fake_source() {
  PluginRegistry r;
  r.add_source(*builtin_plugins().find_source("postgres"));
  SourcePlugin fake;
  fake.kind = "fake";
  fake.keys = {"endpoint"};
  fake.parse = [](ConfigTable& source, const SourceConfig&) -> std::shared_ptr<const SourceSettings> {
    auto settings = std::make_shared<FakeSourceSettings>();
    std::optional<std::string> endpoint = source.string("endpoint");
    if (!endpoint) source.fail("endpoint", "required key is missing");
    settings->endpoint = *endpoint;
    return settings;
  };
  fake.use_position_format = [] {};
  fake.make = [](const Config&, Telemetry&) -> std::unique_ptr<Source> { return nullptr; };
  r.add_source(std::move(fake));
  r.add_sink(*builtin_plugins().find_sink("stdout"));
  return r;
}

TEST(ConfigSourcePluginTest, ASourceKindReadsItsOwnKeysAndRefusesAnothersKeys) {
  const PluginRegistry registry = registry_with_a_fake_source();
  const std::string sinks = "[[sinks]]\nname = \"out\"\nkind = \"stdout\"\n";
  Config config = parse_config("[source]\nkind = \"fake\"\nendpoint = \"nats://x\"\ntables = [\"t\"]\n" + sinks,
                               "sluice.toml", registry);
  EXPECT_EQ(config.source.kind, "fake");
  EXPECT_EQ(config.source.tables, std::vector<std::string>{"public.t"});
  EXPECT_EQ(config.source.stream_name(), "fake-stream");
  EXPECT_EQ(dynamic_cast<const FakeSourceSettings&>(*config.source.settings).endpoint, "nats://x");
  EXPECT_THROW(pg::settings_of(config.source), Error);

  try {
    parse_config("[source]\nkind = \"fake\"\nendpoint = \"nats://x\"\ndsn = \"host=h\"\ntables = [\"t\"]\n" + sinks,
                 "sluice.toml", registry);
    FAIL() << "a postgres key was accepted for kind = \"fake\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sluice.toml:4:1: source.dsn: unknown key"), std::string::npos) << e.what();
  }
  try {
    parse_config("[source]\nkind = \"fake\"\ntables = [\"t\"]\n" + sinks, "sluice.toml", registry);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "sluice.toml:1:1: source.endpoint: required key is missing");
  }
  // The first registered kind is the default.
  const Config postgres = parse_config(
      "[source]\ndsn = \"host=h\"\nslot = \"s\"\npublication = \"p\"\ntables = [\"t\"]\n" + sinks, "sluice.toml",
      registry);
  EXPECT_EQ(postgres.source.kind, "postgres");
  EXPECT_EQ(pg::settings_of(postgres.source).slot, "s");
}

}  // namespace
}  // namespace sluice
