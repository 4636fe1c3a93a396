// The search sink end to end: `sluice run` from a real PostgreSQL into a real
// Sphinx 2.2 searchd, configured exactly as the issue writes it (index
// "{table}_rt", fields title and description), then `sluice verify` and
// `sluice check` against the same servers.
#include <gtest/gtest.h>

#include "harness/metrics_scrape.h"
#include "harness/process_util.h"
#include "harness/servers.h"
#include "harness/sphinx_server.h"
#include "harness/tcp_proxy.h"
#include "kit/sluice_output.h"
#include "kit/stack.h"
#include "kit/toml_writer.h"
#include "sink/manticore/document_id.h"
#include "sink/manticore/index_definition.h"
#include "sink/manticore/sphinxql_connection.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// The block `sluice check` prints for public.media (every field also a string
// attribute), written here by hand so that the test checks the check.
std::string media_block(bool with_metadata = true) {
  std::vector<IndexAttribute> attributes = {{"title", AttributeType::kString},
                                            {"description", AttributeType::kString},
                                            {"media_id", AttributeType::kBigint},
                                            {"channel_id", AttributeType::kBigint},
                                            {"duration_seconds", AttributeType::kFloat},
                                            {"published_at", AttributeType::kTimestamp}};
  if (with_metadata) attributes.push_back({"metadata", AttributeType::kJson});
  return IndexDefinition("media_rt", {"title", "description"}, attributes).sphinx_conf_block("{dir}/media_rt");
}

class SearchSinkTest : public ::testing::Test {
 protected:
  // PostgreSQL and searchd with `index_blocks` (no Redis).
  explicit SearchSinkTest(std::vector<std::string> index_blocks = {media_block()})
      : stack({.redis = Stack::Redis::kNone, .search_index_blocks = std::move(index_blocks)}) {}

  void SetUp() override {
    stack.run_sql_file("examples/seed.sql");
    db = std::make_unique<PgClient>(pg->dsn());
    client = std::make_unique<SphinxqlConnection>(SphinxqlUrl::parse(search->url()), SphinxqlConnection::Options{},
                                                  "test client");
  }

  // The config of the issue: public.channel and public.media captured, public.media
  // indexed by the sink "search" (one RT index per table, "{table}_rt", with the
  // full-text fields title and description; every other routed column is an
  // attribute). `url`: where the sink reaches searchd (a TcpProxy in front of it,
  // say). The writer is left in the sink's [[sinks.tables]] entry.
  TomlWriter config_toml(std::string url = "") {
    if (url.empty()) url = search->url();
    TomlWriter toml;
    postgres_source(toml, pg->dsn(), "sluice_search", {"public.channel", "public.media"})
        .set("snapshot", "initial")
        .set("status_interval_ms", 500);
    fast_retry(toml);
    manticore_sink(toml, "search", url);
    toml.array_table("sinks.tables").set("table", "public.media").set("fields", {"title", "description"});
    return toml;
  }
  std::string write_config(const TomlWriter& toml) { return stack.write_config(toml); }
  std::string write_config(std::string url = "") { return write_config(config_toml(std::move(url))); }

  std::unique_ptr<SluiceProcess> start_sluice(const std::string& config) {
    auto sluice = stack.start_sluice(config);
    EXPECT_TRUE(wait_streaming(*sluice, 1, 30s));
    return sluice;
  }

  std::vector<std::string> ids(const std::string& where) {
    auto result = client->query("SELECT id FROM media_rt WHERE " + where + " AND id < " +
                                std::to_string(kCheckpointDocumentId) +
                                " ORDER BY id ASC LIMIT 10000 OPTION max_matches=10000");
    std::vector<std::string> out;
    for (const auto& row : result.rows) out.push_back(row.at(0).value_or("NULL"));
    return out;
  }
  std::vector<std::string> matching(const std::string& query) {
    return ids("MATCH(" + SphinxqlConnection::quote(query) + ")");
  }
  std::optional<std::string> attribute(int id, const std::string& name) {
    auto result = client->query("SELECT " + name + " FROM media_rt WHERE id = " + std::to_string(id));
    if (result.rows.empty()) return std::nullopt;
    return result.rows.front().at(0);
  }
  ::testing::AssertionResult becomes(const std::function<bool()>& condition, const std::string& what) {
    if (eventually(condition, 20s)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "timed out waiting until " << what;
  }
  std::pair<int, std::string> verify(const std::string& config, bool repair = false) {
    std::vector<std::string> args = {"verify", "--config", config};
    if (repair) args.push_back("--repair");
    return run_sluice(args);
  }

  Stack stack;
  PostgresServer* const pg = &stack.pg();
  SphinxServer* const search = &stack.search();
  std::unique_ptr<PgClient> db;
  std::unique_ptr<SphinxqlConnection> client;
};

TEST_F(SearchSinkTest, TheIndexFollowsTheTableAndFullTextSearchFindsIt) {
  const std::string config = write_config();
  auto sluice = start_sluice(config);
  // The snapshot.
  EXPECT_EQ(ids("id > 0"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(matching("analytical engine"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(matching("@description long"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(attribute(1, "channel_id"), "1");
  EXPECT_EQ(attribute(1, "published_at"), "1704164645");
  EXPECT_EQ(attribute(1, "metadata"), R"({"hd":true,"lang":"en"})");  // jsonb's key order
  EXPECT_EQ(attribute(2, "duration_seconds"), "1952.250000");

  // Streaming: an insert, an update that leaves the TOASTed description
  // unchanged (kept from the stored attribute), a primary-key change, a delete.
  db->exec("INSERT INTO media (channel_id, title, description) VALUES (2, 'Compiling COBOL', 'grace hopper')");
  EXPECT_TRUE(becomes([&] { return matching("cobol") == std::vector<std::string>{"3"}; }, "the insert is found"));
  db->exec("UPDATE media SET title = 'Sketch of the Analytical Engine' WHERE media_id = 1");
  EXPECT_TRUE(becomes([&] { return matching("sketch") == std::vector<std::string>{"1"}; }, "the update is found"));
  EXPECT_EQ(matching("@description long description"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(attribute(1, "description").value_or("").size(), 20000u);
  db->exec("UPDATE media SET media_id = 100 WHERE media_id = 2");
  EXPECT_TRUE(becomes([&] { return ids("id > 0") == std::vector<std::string>{"1", "3", "100"}; }, "the key moves"));
  db->exec("DELETE FROM media WHERE media_id = 3");
  EXPECT_TRUE(becomes([&] { return matching("cobol").empty(); }, "the deleted row is not found"));

  auto [code, output] = verify(config);
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("sink 'search' public.media: 2 rows checked, 0 missing, 0 different, 0 extra"),
            std::string::npos)
      << output;
  // public.channel is captured but not routed to the search sink.
  EXPECT_EQ(output.find("public.channel"), std::string::npos) << output;

  db->exec("TRUNCATE media");
  EXPECT_TRUE(becomes([&] { return ids("id > 0").empty(); }, "TRUNCATE empties the index"));
  db->exec("INSERT INTO media (channel_id, title) VALUES (1, 'After the truncate')");
  EXPECT_TRUE(becomes([&] { return matching("truncate").size() == 1; }, "rows after the truncate are indexed"));
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

// The router hands the search sink only the table it indexes: it neither
// receives nor counts the changes of public.channel (captured for no other
// sink here), and is still acknowledged past them.
TEST_F(SearchSinkTest, TheSinkGetsOnlyTheChangesOfTheTablesItIndexes) {
  const int metrics_port = detail::pick_free_port();
  const std::string config =
      write_config(config_toml().table("metrics").set("listen", "127.0.0.1:" + std::to_string(metrics_port)));
  auto sluice = start_sluice(config);
  db->exec("INSERT INTO channel (user_account_id, name) VALUES (1, 'router')");
  db->exec("UPDATE channel SET name = 'router 2' WHERE name = 'router'");
  db->exec("INSERT INTO media (channel_id, title) VALUES (1, 'Routed')");
  const std::string applied = "sluice_changes_applied_total{sink=\"search\",table=\"public.media\",op=\"insert\"}";
  std::string exposition;
  EXPECT_TRUE(becomes(
      [&] {
        exposition = http_get(metrics_port, "/metrics").body;
        return metric(exposition, applied) == 1;
      },
      "the media insert is counted"))
      << exposition;
  EXPECT_EQ(exposition.find("sink=\"search\",table=\"public.channel\""), std::string::npos) << exposition;
  // The slot is acknowledged past the channel changes: the WAL they are in is
  // not held for the sink that does not take them.
  db->exec("UPDATE channel SET name = 'router 3' WHERE name = 'router 2'");
  const std::string last = db->scalar("SELECT pg_current_wal_lsn()::text");
  EXPECT_TRUE(becomes(
      [&] {
        return db->scalar("SELECT confirmed_flush_lsn >= '" + last +
                               "'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'sluice_search'") == "t";
      },
      "the slot is acknowledged past the last channel change"));
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

TEST_F(SearchSinkTest, VerifyFindsMissingDifferentAndExtraDocumentsAndRepairMendsThem) {
  const std::string config = write_config();
  {
    auto sluice = start_sluice(config);
    sluice->terminate();
    ASSERT_EQ(sluice->wait(20s), 0) << sluice->output();
  }
  client->execute("DELETE FROM media_rt WHERE id IN (1)");
  client->execute("REPLACE INTO media_rt (id, title, channel_id, _sluice_version, _sluice_identity) VALUES "
                  "(2, 'tampered', 9, '0000000000000001:00000001', '1:2')");
  client->execute("REPLACE INTO media_rt (id, title, _sluice_version, _sluice_identity) VALUES "
                  "(77, 'stray', '0000000000000001:00000001', '2:77')");
  auto [code, output] = verify(config);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("public.media: 2 rows checked, 1 missing, 1 different, 1 extra"), std::string::npos) << output;
  EXPECT_NE(output.find("missing: media_rt:1"), std::string::npos) << output;
  EXPECT_NE(output.find("different: media_rt:2"), std::string::npos) << output;
  EXPECT_NE(output.find("extra: media_rt:77"), std::string::npos) << output;

  auto [code2, output2] = verify(config, /*repair=*/true);
  EXPECT_NE(output2.find("public.media: 2 rows checked"), std::string::npos) << output2;
  auto [code3, output3] = verify(config);
  EXPECT_EQ(code3, 0) << output3;
  EXPECT_NE(output3.find("0 missing, 0 different, 0 extra"), std::string::npos) << output3;
  EXPECT_EQ(matching("analytical"), (std::vector<std::string>{"1"}));
  EXPECT_TRUE(matching("stray").empty());
}

TEST_F(SearchSinkTest, AnEmptiedIndexIsRebuiltWhileStreamingGoesOn) {
  const std::string config = write_config();
  auto sluice = start_sluice(config);
  client->execute("TRUNCATE RTINDEX media_rt");
  db->exec("INSERT INTO media (channel_id, title) VALUES (1, 'Written during the rebuild')");
  EXPECT_TRUE(becomes([&] { return ids("id > 0") == std::vector<std::string>{"1", "2", "3"}; }, "the index is rebuilt"));
  EXPECT_NE(sluice->output().find("rebuil"), std::string::npos) << sluice->output();
  EXPECT_TRUE(eventually([&] { return verify(config).first == 0; }, 20s)) << verify(config).second;
}

// The connection is lost after searchd ran a batch's COMMIT and before its
// answer came: the batch landed, the sink cannot know. The next read of the
// checkpoint finds the batch's own position, which is not another writer's:
// streaming goes on, and nothing is written twice or lost.
TEST_F(SearchSinkTest, ACommitWhoseAnswerIsLostIsSettledByTheNextCheckpointRead) {
  TcpProxy proxy(search->port());
  const std::string config = write_config("mysql://127.0.0.1:" + std::to_string(proxy.port()));
  auto sluice = start_sluice(config);
  ASSERT_TRUE(becomes([&] { return ids("id > 0") == std::vector<std::string>{"1", "2"}; }, "the snapshot is in"));
  proxy.cut_after_request("COMMIT");
  db->exec("INSERT INTO media (channel_id, title) VALUES (1, 'Committed unheard')");
  ASSERT_TRUE(becomes([&] { return proxy.cut_after_request_done(); }, "the COMMIT's answer is cut"));
  EXPECT_TRUE(becomes([&] { return matching("unheard") == std::vector<std::string>{"3"}; }, "the batch is in"));
  db->exec("INSERT INTO media (channel_id, title) VALUES (1, 'Written after the doubt')");
  EXPECT_TRUE(becomes([&] { return matching("doubt") == std::vector<std::string>{"4"}; }, "streaming goes on"));
  EXPECT_TRUE(sluice->running()) << sluice->output();
  EXPECT_NE(sluice->output().find("'COMMIT'"), std::string::npos) << sluice->output();
  EXPECT_EQ(sluice->output().find("another process writes"), std::string::npos) << sluice->output();
  EXPECT_TRUE(eventually([&] { return verify(config).first == 0; }, 20s)) << verify(config).second;
}

// TRUNCATE RTINDEX while a batch's transaction is open: the COMMIT brings back
// that batch's documents and the checkpoint document, and nothing else. Made
// here by hand, exactly: the checkpoint document survives, one row's document
// too, the other rows' are gone. The whole mark tells the next batch.
TEST_F(SearchSinkTest, AnIndexEmptiedUnderAnOpenBatchIsStillAReset) {
  const std::string config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(becomes([&] { return ids("id > 0") == std::vector<std::string>{"1", "2"}; }, "the snapshot is in"));
  const std::string checkpoint_id = std::to_string(kCheckpointDocumentId);
  auto checkpoint = client->query("SELECT _sluice_checkpoint FROM media_rt WHERE id = " + checkpoint_id);
  ASSERT_EQ(checkpoint.rows.size(), 1u);
  auto document = client->query("SELECT _sluice_version, _sluice_identity FROM media_rt WHERE id = 2");
  ASSERT_EQ(document.rows.size(), 1u);
  client->execute("TRUNCATE RTINDEX media_rt");
  client->execute("REPLACE INTO media_rt (id, _sluice_checkpoint) VALUES (" + checkpoint_id + ", " +
                  SphinxqlConnection::quote(checkpoint.rows[0][0].value_or("")) + ")");
  client->execute("REPLACE INTO media_rt (id, title, media_id, _sluice_version, _sluice_identity) VALUES (2, "
                  "'The batch that was open', 2, " + SphinxqlConnection::quote(document.rows[0][0].value_or("")) +
                  ", " + SphinxqlConnection::quote(document.rows[0][1].value_or("")) + ")");
  db->exec("UPDATE media SET title = 'Retitled after the loss' WHERE media_id = 2");
  EXPECT_TRUE(becomes([&] { return ids("id > 0") == std::vector<std::string>{"1", "2"}; }, "the index is rebuilt"));
  EXPECT_TRUE(becomes([&] { return matching("retitled") == std::vector<std::string>{"2"}; }, "the update is in"));
  EXPECT_NE(sluice->output().find("has lost its data"), std::string::npos) << sluice->output();
  EXPECT_TRUE(eventually([&] { return verify(config).first == 0; }, 20s)) << verify(config).second;
}

TEST_F(SearchSinkTest, AColumnTheIndexLacksStopsWithTheLineToAdd) {
  const std::string config = write_config();
  auto sluice = start_sluice(config);
  db->exec("ALTER TABLE media ADD COLUMN rating integer; UPDATE media SET rating = 5 WHERE media_id = 1");
  ASSERT_TRUE(sluice->wait(30s).has_value()) << sluice->output();
  EXPECT_NE(sluice->output().find("index 'media_rt'"), std::string::npos) << sluice->output();
  EXPECT_NE(sluice->output().find("rt_attr_bigint = rating"), std::string::npos) << sluice->output();
  EXPECT_NE(sluice->output().find("ALTER TABLE `media_rt` ADD COLUMN `rating` BIGINT"), std::string::npos)
      << sluice->output();
  // Adding it as the message says lets the next run go on (the table is re-synced).
  client->execute("ALTER TABLE media_rt ADD COLUMN rating BIGINT");
  auto again = start_sluice(config);
  EXPECT_TRUE(becomes([&] { return attribute(1, "rating") == "5"; }, "the new attribute is filled"));
}

class SearchSinkCheckTest : public SearchSinkTest {
 protected:
  SearchSinkCheckTest() : SearchSinkTest(std::vector<std::string>{}) {}  // only the harness's default index
};

TEST_F(SearchSinkCheckTest, CheckPrintsTheIndexBlockForAMissingIndex) {
  auto [code, output] = run_sluice({"check", "--config", write_config()});
  EXPECT_NE(code, 0) << output;
  EXPECT_NE(output.find("index 'media_rt' (for table public.media) does not exist"), std::string::npos) << output;
  EXPECT_NE(output.find("index media_rt"), std::string::npos) << output;
  EXPECT_NE(output.find("rt_field = title"), std::string::npos) << output;
  EXPECT_NE(output.find("rt_attr_string = description"), std::string::npos) << output;
  EXPECT_NE(output.find("rt_attr_json = metadata"), std::string::npos) << output;
  EXPECT_NE(output.find("CREATE TABLE"), std::string::npos) << output;
}

class SearchSinkMismatchTest : public SearchSinkTest {
 protected:
  SearchSinkMismatchTest() : SearchSinkTest(std::vector<std::string>{media_block(/*with_metadata=*/false)}) {}
};

TEST_F(SearchSinkMismatchTest, CheckNamesTheMissingAttributeAndItsLine) {
  auto [code, output] = run_sluice({"check", "--config", write_config()});
  EXPECT_NE(code, 0) << output;
  EXPECT_NE(output.find("index 'media_rt' does not fit table public.media"), std::string::npos) << output;
  EXPECT_NE(output.find("rt_attr_json = metadata"), std::string::npos) << output;
}

TEST_F(SearchSinkTest, BadUrlAndUnreachableSearchdAreOneClearLineEach) {
  {
    auto [code, output] = run_sluice({"check", "--config", write_config()});
    EXPECT_EQ(code, 0) << output;
  }
  search->stop();
  auto [code, output] = run_sluice({"check", "--config", write_config()});
  EXPECT_NE(code, 0) << output;
  EXPECT_NE(output.find("sink 'search'"), std::string::npos) << output;
  EXPECT_NE(output.find(std::to_string(search->port())), std::string::npos) << output;
  const std::string bad =
      stack.write_config(config_toml("mysqlx://127.0.0.1:" + std::to_string(search->port())), "bad.toml");
  auto [code2, output2] = run_sluice({"check", "--config", bad});
  EXPECT_NE(code2, 0) << output2;
  EXPECT_NE(output2.find("url"), std::string::npos) << output2;
}

}  // namespace
}  // namespace sluice::test
