// `sluice verify` finds keys under a table's key space that match no row
// (verify_key_space.h), against real PostgreSQL and Redis: keys written by
// someone else, keys no row can have, a prefix two tables share, sluice's own
// state keys, a template without a fixed prefix, many keys, both formats.
#include <gtest/gtest.h>

#include <utility>

#include "integration/pipeline_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class VerifyExtraKeysTest : public PipelineTest {
 protected:
  void SetUp() override {
    PipelineTest::SetUp();
    db->exec(R"(
      CREATE TABLE acct (aid int PRIMARY KEY, balance int NOT NULL);
      INSERT INTO acct VALUES (1, 10), (2, 20);
      CREATE TABLE pa (id int PRIMARY KEY, v text);
      INSERT INTO pa VALUES (1, 'one'), (2, 'two');
      CREATE TABLE pb (x int, y int, v text, PRIMARY KEY (x, y));
      INSERT INTO pb VALUES (1, 1, 'p'), (1, 2, 'q');
      CREATE TABLE bare (id int PRIMARY KEY, v text);
      INSERT INTO bare VALUES (7, 'b');
      CREATE TABLE member (id int PRIMARY KEY, email text NOT NULL UNIQUE);
      INSERT INTO member VALUES (1, 'ann@x');
    )");
  }

  // acct under "acct:{aid}", pa under "a:{pk}" and pb under "a:{x}:{y}" (one
  // prefix "a:"), bare under "{pk}" (no fixed prefix), member under
  // "member:{email}" (a unique key: its keys do not tell the row's identity).
  std::string config(const std::string& format = "json", const std::string& sink_extra = "") {
    TomlWriter toml;
    postgres_source(toml, postgres_dsn(pg->port()), "sluice_cache",
                    {"public.acct", "public.pa", "public.pb", "public.bare", "public.member"})
        .set("snapshot", "initial")
        .set("status_interval_ms", 500);
    redis_sink(toml, "cache", redis->url())
        .set("mode", "upsert")
        .set("format", format)
        .set("key", "{table}:{pk}")
        .raw(sink_extra);
    const std::pair<const char*, const char*> keys[] = {{"public.acct", "acct:{aid}"},
                                                        {"public.pa", "a:{pk}"},
                                                        {"public.pb", "a:{x}:{y}"},
                                                        {"public.bare", "{pk}"},
                                                        {"public.member", "member:{email}"}};
    for (const auto& [table, key] : keys) toml.array_table("sinks.tables").set("table", table).set("key", key);
    return write_config(toml);
  }

  // Runs sluice until every row has its key, then stops it.
  void sync_and_stop(const std::string& config_path) {
    auto sluice = start_sluice(config_path);
    ASSERT_TRUE(wait_streaming(*sluice));
    ASSERT_TRUE(eventually([&] {
      return cache->command({"EXISTS", "acct:2"})[0] == std::string("1") &&
             cache->command({"EXISTS", "a:1:2"})[0] == std::string("1") &&
             cache->command({"EXISTS", "7"})[0] == std::string("1") &&
             cache->command({"EXISTS", "member:ann@x"})[0] == std::string("1");
    })) << sluice->output();
    sluice->terminate();
    ASSERT_EQ(sluice->wait(30s), 0) << sluice->output();
  }

  std::pair<int, std::string> verify(const std::string& config_path, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"verify", "--config", config_path};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_sluice(args, env);
  }

  static size_t occurrences(const std::string& text, const std::string& part) {
    size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
  }
  static bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

  bool exists(const std::string& key) { return cache->command({"EXISTS", key})[0] == std::string("1"); }
};

// The issue's scenario, with sluice running: a key written by someone else
// under acct:{aid} is extra, --repair removes it, and verify is clean after.
TEST_F(VerifyExtraKeysTest, ForeignKeyUnderATablesPrefixIsExtraAndRepaired) {
  auto path = config();
  auto sluice = start_sluice(path);
  ASSERT_TRUE(wait_streaming(*sluice));
  ASSERT_TRUE(eventually([&] { return exists("acct:2") && exists("a:1:2"); })) << sluice->output();
  cache->command({"SET", "acct:999999", "{}"});

  auto [code, output] = verify(path);
  EXPECT_EQ(code, 1) << output;
  EXPECT_TRUE(has(output, "sink 'cache' public.acct: 2 rows checked, 0 missing, 0 different, 1 extra\n")) << output;
  EXPECT_TRUE(has(output, "  extra: acct:999999\n")) << output;
  EXPECT_EQ(occurrences(output, "extra: "), 1u) << output;
  EXPECT_TRUE(has(output, "drift found")) << output;
  EXPECT_TRUE(exists("acct:999999"));  // verify alone changes nothing

  auto [code2, output2] = verify(path, {"--repair"});
  EXPECT_EQ(code2, 0) << output2;
  EXPECT_TRUE(has(output2, "public.acct: 2 rows checked, 0 missing, 0 different, 0 extra (1 keys repaired)"))
      << output2;
  EXPECT_FALSE(exists("acct:999999"));
  EXPECT_TRUE(exists("acct:1") && exists("acct:2"));

  auto [code3, output3] = verify(path);
  EXPECT_EQ(code3, 0) << output3;
  EXPECT_TRUE(has(output3, "no drift")) << output3;
  // Streaming goes on over the repaired key space.
  db->exec("INSERT INTO acct VALUES (999999, 1)");
  EXPECT_TRUE(eventually([&] { return exists("acct:999999"); })) << sluice->output();
}

// Keys the template could never give a row (a value of the wrong type, one
// that renders otherwise, a bare ':' inside a value) are extra too.
TEST_F(VerifyExtraKeysTest, KeysNoRowCanHaveAreExtra) {
  auto path = config();
  sync_and_stop(path);
  for (const char* key : {"acct:abc", "acct:007", "acct:1:junk", "acct:99999999999"}) cache->command({"SET", key, "x"});
  auto [code, output] = verify(path, {"--table", "public.acct"});
  EXPECT_EQ(code, 1) << output;
  EXPECT_TRUE(has(output, "public.acct: 2 rows checked, 0 missing, 0 different, 4 extra")) << output;
  auto [code2, output2] = verify(path, {"--table", "public.acct", "--repair"});
  EXPECT_EQ(code2, 0) << output2;
  EXPECT_TRUE(has(output2, "(4 keys repaired)")) << output2;
  EXPECT_EQ(cache->keys("acct:*"), (std::vector<std::string>{"acct:1", "acct:2"}));
}

// pa ("a:{pk}") and pb ("a:{x}:{y}") share the prefix "a:": each foreign key
// is reported once, under the table whose template reads it, and the other
// table's keys are never reported, whichever table is verified.
TEST_F(VerifyExtraKeysTest, SharedPrefixReportsAForeignKeyOnceAndNeverTheOtherTablesKeys) {
  auto path = config();
  sync_and_stop(path);
  cache->command({"SET", "a:999", "{}"});    // a pa key without its row
  cache->command({"SET", "a:5:6", "{}"});    // a pb key without its row
  cache->command({"SET", "a:x:y:z", "{}"});  // no table's key
  auto [code, output] = verify(path);
  EXPECT_EQ(code, 1) << output;
  EXPECT_TRUE(has(output, "public.pa: 2 rows checked, 0 missing, 0 different, 2 extra")) << output;
  EXPECT_TRUE(has(output, "public.pb: 2 rows checked, 0 missing, 0 different, 1 extra")) << output;
  EXPECT_EQ(occurrences(output, "extra: a:999\n"), 1u) << output;
  EXPECT_EQ(occurrences(output, "extra: a:5:6\n"), 1u) << output;
  EXPECT_EQ(occurrences(output, "extra: a:x:y:z\n"), 1u) << output;
  EXPECT_EQ(occurrences(output, "extra: "), 3u) << output;

  // Only pb verified: pa's rows' keys (a:1, a:2) are still not extra.
  auto [code2, output2] = verify(path, {"--table", "public.pb"});
  EXPECT_EQ(code2, 1) << output2;
  EXPECT_TRUE(has(output2, "public.pb: 2 rows checked, 0 missing, 0 different, 3 extra")) << output2;
  EXPECT_FALSE(has(output2, "extra: a:1\n")) << output2;
  EXPECT_FALSE(has(output2, "extra: a:2\n")) << output2;

  auto [code3, output3] = verify(path, {"--repair"});
  EXPECT_EQ(code3, 0) << output3;
  EXPECT_EQ(cache->keys("a:*"), (std::vector<std::string>{"a:1", "a:1:1", "a:1:2", "a:2"}));
}

// With the state prefix under a table's prefix, sluice's checkpoint and index
// lie in the scanned key space: they are never extra and never removed.
TEST_F(VerifyExtraKeysTest, StateKeysAreNeverExtra) {
  auto path = config("json", "state_prefix = \"acct:state\"\n");
  sync_and_stop(path);
  ASSERT_TRUE(exists("acct:state:checkpoint"));
  ASSERT_TRUE(exists("acct:state:index:public.acct"));
  auto [code, output] = verify(path, {"--repair"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_TRUE(has(output, "public.acct: 2 rows checked, 0 missing, 0 different, 0 extra\n")) << output;
  EXPECT_TRUE(exists("acct:state:checkpoint"));
  EXPECT_TRUE(exists("acct:state:index:public.acct"));
  cache->command({"SET", "acct:stateless", "1"});  // shares the text, not the prefix "acct:state:"
  auto [code2, output2] = verify(path);
  EXPECT_EQ(code2, 1) << output2;
  EXPECT_TRUE(has(output2, "  extra: acct:stateless\n")) << output2;
}

// "{pk}" has no fixed prefix: verify says so for that table, in one line, and
// does not scan the whole database (a foreign key "8" is not reported).
TEST_F(VerifyExtraKeysTest, TemplateWithoutFixedPrefixSaysExtraKeysCannotBeLookedFor) {
  auto path = config();
  sync_and_stop(path);
  cache->command({"SET", "8", "{}"});
  auto [code, output] = verify(path);
  EXPECT_EQ(code, 0) << output;
  EXPECT_TRUE(has(output, "public.bare: 1 rows checked, 0 missing, 0 different, 0 extra\n  extra keys cannot be "
                          "looked for: key template '{pk}' starts with a row-varying placeholder"))
      << output;
  EXPECT_EQ(occurrences(output, "cannot be looked for"), 1u) << output;
  EXPECT_TRUE(exists("8"));
}

// More foreign keys than one SCAN batch holds, by far: every one is counted
// (a few shown), and --repair removes them all, a batch at a time.
TEST_F(VerifyExtraKeysTest, TwentyThousandForeignKeysAreAllFoundAndRemoved) {
  auto path = config();
  sync_and_stop(path);
  cache->command({"EVAL", "for i = 1, 20000 do redis.call('SET', 'acct:' .. (100000 + i), '{}') end return 1", "0"});
  auto [code, output] = verify(path, {"--table", "public.acct"});
  EXPECT_EQ(code, 1) << output;
  EXPECT_TRUE(has(output, "public.acct: 2 rows checked, 0 missing, 0 different, 20000 extra\n")) << output;
  EXPECT_EQ(occurrences(output, "  extra: acct:"), 3u) << output;
  auto [code2, output2] = verify(path, {"--table", "public.acct", "--repair"});
  EXPECT_EQ(code2, 0) << output2;
  EXPECT_TRUE(has(output2, "(20000 keys repaired)")) << output2;
  EXPECT_EQ(cache->keys("acct:*"), (std::vector<std::string>{"acct:1", "acct:2"}));
}

// member's keys name a unique key, not the identity the index is keyed by, so
// the guard cannot ask the index: the delete waits for a sink with no batch
// applied since the source was asked (sluice stopped here).
TEST_F(VerifyExtraKeysTest, UniqueKeyTemplateForeignKeyIsExtraAndRepairedOnAQuietSink) {
  auto path = config();
  sync_and_stop(path);
  cache->command({"SET", "member:nobody@x", "{}"});
  auto [code, output] = verify(path, {"--table", "public.member"});
  EXPECT_EQ(code, 1) << output;
  EXPECT_TRUE(has(output, "public.member: 1 rows checked, 0 missing, 0 different, 1 extra\n  extra: member:nobody@x\n"))
      << output;
  auto [code2, output2] = verify(path, {"--table", "public.member", "--repair"});
  EXPECT_EQ(code2, 0) << output2;
  EXPECT_EQ(cache->keys("member:*"), std::vector<std::string>{"member:ann@x"});
}

TEST_F(VerifyExtraKeysTest, HashFormatForeignKeysAreExtraAndRepaired) {
  auto path = config("hash");
  sync_and_stop(path);
  ASSERT_EQ(cache->command({"TYPE", "acct:1"})[0], std::string("hash"));
  cache->command({"HSET", "acct:999999", "aid", "999999"});
  cache->command({"HSET", "a:5:6", "x", "5"});
  auto [code, output] = verify(path);
  EXPECT_EQ(code, 1) << output;
  EXPECT_TRUE(has(output, "public.acct: 2 rows checked, 0 missing, 0 different, 1 extra\n  extra: acct:999999\n"))
      << output;
  EXPECT_TRUE(has(output, "public.pb: 2 rows checked, 0 missing, 0 different, 1 extra\n  extra: a:5:6\n")) << output;
  auto [code2, output2] = verify(path, {"--repair"});
  EXPECT_EQ(code2, 0) << output2;
  EXPECT_FALSE(exists("acct:999999"));
  EXPECT_FALSE(exists("a:5:6"));
  auto [code3, output3] = verify(path);
  EXPECT_EQ(code3, 0) << output3;
}

}  // namespace
}  // namespace sluice::test
