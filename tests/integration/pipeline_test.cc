// End to end: real PostgreSQL -> sluice binary -> real Redis.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "integration/pipeline_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

TEST_F(PipelineTest, SnapshotThenStreamKeepsEveryDocumentEqualToToJsonb) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  db->exec("INSERT INTO user_account (email, display_name) VALUES ('x@example.com', 'X')");
  db->exec("UPDATE channel SET name = 'renamed', tags = '{\"a b\",NULL,c}' WHERE channel_id = 2");
  db->exec("DELETE FROM media WHERE media_id = 2");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  EXPECT_FALSE(cache->get("m:2:2"));
}

// A large table is copied in parts by several workers under the same snapshot:
// every row arrives once, and the stream goes on from the snapshot's end.
TEST_F(PipelineTest, LargeTableIsCopiedInPartsByParallelWorkers) {
  db->exec("INSERT INTO user_account (email, display_name) SELECT 'bulk' || g || '@x', 'n' || g "
           "FROM generate_series(1, 20000) g");
  auto sluice = start_sluice(write_config("", "snapshot_chunk_rows = 500\nsnapshot_workers = 3\n"));
  ASSERT_TRUE(wait_until_synced(60s)) << sluice->output();
  const std::string out = sluice->output();
  EXPECT_NE(out.find("in 5 parts"), std::string::npos) << out;  // user_account in 3, channel and media whole
  for (const char* part : {"part 1 of 3 copied", "part 2 of 3 copied", "part 3 of 3 copied"}) {
    EXPECT_NE(out.find(std::string("public.user_account ") + part), std::string::npos) << part << "\n" << out;
  }
  db->exec("UPDATE user_account SET display_name = 'after' WHERE user_account_id = 15000");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
}

TEST_F(PipelineTest, RendersCommonTypesExactlyLikeToJsonb) {
  db->exec(R"(CREATE TABLE public.typed (id int PRIMARY KEY, b bool, i2 int2, i8 int8, f4 float4, f8 float8,
      n numeric, nn numeric, ninf numeric, fnan float8, t text, vc varchar(10), c char(3), u uuid, d date, ts timestamp,
      tz timestamptz, tm time, iv interval, j json, jb jsonb, by bytea, ia int[], ta text[], m money, inet inet))");
  db->exec(R"(INSERT INTO typed VALUES (1, true, -2, 9007199254740993, 1.5, 0.1, 123456789012345678901234567890.123,
      'NaN', 'Infinity', 'NaN', E'quote" back\\ nl\n tab\t', 'v', 'ab', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05+02', '04:05:06', '1 day 02:00:00',
      '{"a": [1, 2.50]}', '{"z": {"y": null}}', '\xdeadbeef', '{{1,2},{3,NULL}}', '{"x,y","",NULL}', 12.5,
      '10.0.0.1/8'))");
  capture("public.typed");  // route the extra table too
  auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(eventually([&] { return cache->get("typed:1").has_value(); })) << sluice->output();
  db->exec("INSERT INTO typed SELECT 2, b, i2, i8, f4, f8, n, nn, ninf, fnan, t, vc, c, u, d, ts, tz, tm, iv, j, jb, by, ia, ta, m, inet FROM typed");
  ASSERT_TRUE(eventually([&] { return cache->get("typed:2").has_value(); })) << sluice->output();
  for (const char* id : {"1", "2"}) {
    std::string doc = *cache->get(std::string("typed:") + id);
    std::string expected = db->scalar(std::string("SELECT to_jsonb(r)::text FROM typed r WHERE id = ") + id);
    std::string quoted;
    for (char ch : doc) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
    EXPECT_EQ(db->scalar("SELECT ('" + quoted + "'::jsonb = (SELECT to_jsonb(r) FROM typed r WHERE id = " + id + "))::text"), "true")
        << "redis:    " << doc << "\nto_jsonb: " << expected;
  }
}

TEST_F(PipelineTest, PrimaryKeyChangeRemovesTheOldKey) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  db->exec("UPDATE media SET media_id = 100 WHERE media_id = 2");
  db->exec("INSERT INTO user_account (user_account_id, email, display_name) VALUES (3, 'n@x', 'N')");
  db->exec("UPDATE user_account SET user_account_id = 100 WHERE user_account_id = 3");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  EXPECT_FALSE(cache->get("m:2:2"));
  EXPECT_TRUE(cache->get("m:2:100"));
  EXPECT_FALSE(cache->get("user_account:3"));
  EXPECT_TRUE(cache->get("user_account:100"));
}

TEST_F(PipelineTest, KeyColumnOutsideThePrimaryKeyFollowsUpdatesAndDeletes) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  db->exec("UPDATE media SET channel_id = 2 WHERE media_id = 1");  // key m:1:1 -> m:2:1
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  EXPECT_FALSE(cache->get("m:1:1"));
  db->exec("DELETE FROM media WHERE media_id = 1");  // old tuple carries only media_id
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  EXPECT_FALSE(cache->get("m:2:1"));
}

TEST_F(PipelineTest, TruncateRemovesEveryKeyOfThatTableOnly) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  db->exec("TRUNCATE media");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  EXPECT_TRUE(cache->keys("m:*").empty());
  EXPECT_EQ(cache->keys("user_account:*").size(), 2u);
  db->exec("INSERT INTO media (channel_id, title) VALUES (1, 'after truncate')");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
}

TEST_F(PipelineTest, AddedColumnAppearsInLaterDocuments) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  db->exec("ALTER TABLE user_account ADD COLUMN karma int DEFAULT 7");
  db->exec("UPDATE user_account SET display_name = 'Ada L' WHERE user_account_id = 1");
  ASSERT_TRUE(eventually([&] {
    auto doc = cache->get("user_account:1");
    return doc && doc->find("\"karma\"") != std::string::npos;
  })) << sluice->output();
  db->exec("INSERT INTO user_account (email, display_name, karma) VALUES ('k@example.com', 'K', 99)");
  // Rows not updated since the ALTER still hold the old shape until they change;
  // the changed and new rows must equal to_jsonb exactly.
  ASSERT_TRUE(eventually([&] { return cache->get("user_account:3").has_value(); })) << sluice->output();
  db->exec("UPDATE user_account SET karma = karma WHERE user_account_id = 2");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
}

TEST_F(PipelineTest, UnchangedToastValueIsKept) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  // description of media 1 is ~20 kB with STORAGE EXTERNAL: stored out of line
  // (TOAST). Updating another column sends it as "unchanged".
  ASSERT_EQ(db->scalar("SELECT attstorage::text FROM pg_attribute WHERE attrelid = 'media'::regclass "
                       "AND attname = 'description'"), "e");
  ASSERT_EQ(db->scalar("SELECT length(description) > 4000 FROM media WHERE media_id = 1"), "t");
  db->exec("UPDATE media SET title = 'retitled' WHERE media_id = 1");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  auto doc = cache->get("m:1:1");
  ASSERT_TRUE(doc);
  EXPECT_NE(doc->find("A long description."), std::string::npos);
  EXPECT_NE(doc->find("retitled"), std::string::npos);
}

TEST_F(PipelineTest, TransactionsApplyWholeAndRollbacksNever) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  db->exec("BEGIN; INSERT INTO user_account (email, display_name) VALUES ('r@example.com', 'Rolled back'); ROLLBACK;");
  db->exec("BEGIN; UPDATE channel SET name = 'one' WHERE channel_id = 1; SAVEPOINT s; "
           "UPDATE channel SET name = 'undone' WHERE channel_id = 1; ROLLBACK TO s; "
           "INSERT INTO user_account (email, display_name) VALUES ('c@example.com', 'Committed'); COMMIT;");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  EXPECT_EQ(cache->keys("user_account:*").size(), 3u);
  EXPECT_NE(cache->get("channel:1")->find("\"one\""), std::string::npos);
}

// A reader of the cache never sees half a transaction: every transaction sets
// the same generation on three documents, and a concurrent MGET (atomic in
// Redis) must always find the three equal.
TEST_F(PipelineTest, TransactionBecomesVisibleAtOnce) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_streaming(*sluice));
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  std::atomic<bool> writing{true};
  std::atomic<int> mixed{0}, observed{0};
  std::thread reader([&] {
    RedisClient r(redis->port());
    while (writing) {
      auto docs = r.command({"MGET", "channel:1", "channel:2", "user_account:1"});
      std::set<std::string> generations;
      for (const auto& doc : docs) {
        if (!doc) continue;
        auto at = doc->find("\"gen-");
        generations.insert(at == std::string::npos ? "none" : doc->substr(at, doc->find('"', at + 1) - at));
      }
      if (generations.size() > 1) ++mixed;
      ++observed;
    }
  });
  for (int g = 0; g < 60; ++g) {
    std::string gen = "'gen-" + std::to_string(g) + "'";
    db->exec("BEGIN; UPDATE channel SET name = " + gen + " WHERE channel_id = 1; UPDATE channel SET name = " + gen +
             " WHERE channel_id = 2; UPDATE user_account SET display_name = " + gen +
             " WHERE user_account_id = 1; COMMIT;");
  }
  ASSERT_TRUE(eventually([&] { return cache->get("user_account:1")->find("gen-59") != std::string::npos; }))
      << sluice->output();
  writing = false;
  reader.join();
  EXPECT_GT(observed.load(), 0);
  EXPECT_EQ(mixed.load(), 0) << "a reader saw documents from different transactions at once";
}

TEST_F(PipelineTest, SigtermFinishesAndExitsZero) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_streaming(*sluice)) << sluice->output();
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  db->exec("INSERT INTO user_account (email, display_name) SELECT 'bulk' || g || '@x', 'b' FROM generate_series(1, 2000) g");
  sluice->terminate();
  auto code = sluice->wait(30s);
  ASSERT_TRUE(code) << sluice->output();
  EXPECT_EQ(*code, 0) << sluice->output();
  // Whatever was applied is acknowledged; a restart completes the rest.
  auto again = start_sluice(write_config());
  ASSERT_TRUE(wait_until_synced()) << again->output();
}

TEST_F(PipelineTest, Kill9DuringABurstLosesAndDuplicatesNothing) {
  auto config = write_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    PgClient w(pg->dsn());
    for (int i = 0; i < 300 && writing; ++i) {
      w.exec("BEGIN; INSERT INTO user_account (email, display_name) VALUES ('k" + std::to_string(i) +
             "@x', 'k'); UPDATE channel SET name = 'n" + std::to_string(i) + "' WHERE channel_id = 1 + " +
             std::to_string(i % 2) + "; COMMIT;");
    }
  });
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(300ms);
    sluice->kill9();
    sluice = start_sluice(config);
  }
  writer.join();
  ASSERT_TRUE(wait_until_synced(60s)) << sluice->output();
}

// Stream mode makes duplicates visible: every change is one stream entry, so
// exactly-once delivery means exactly one entry per committed change.
TEST_F(PipelineTest, Kill9InStreamModeDeliversEachChangeExactlyOnce) {
  db->exec("ALTER TABLE media REPLICA IDENTITY FULL");
  auto config = write_config("", "", "stream");
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  constexpr int kTransactions = 1500;
  std::thread writer([&] {
    PgClient w(pg->dsn());
    for (int i = 0; i < kTransactions; ++i) {
      w.exec("INSERT INTO user_account (email, display_name) VALUES ('s" + std::to_string(i) + "@x', 's')");
    }
  });
  for (int round = 0; round < 6; ++round) {
    std::this_thread::sleep_for(250ms);
    sluice->kill9();
    sluice = start_sluice(config);
  }
  writer.join();
  const std::string expected = std::to_string(6 + kTransactions);  // 6 snapshot rows
  ASSERT_TRUE(eventually([&] { return cache->command({"XLEN", "sluice:changes"})[0] == expected; }, 60s))
      << "XLEN " << *cache->command({"XLEN", "sluice:changes"})[0] << " != " << expected << "\n" << sluice->output();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(cache->command({"XLEN", "sluice:changes"})[0], expected);
  auto entries = cache->command({"XRANGE", "sluice:changes", "-", "+"});
  std::set<std::string> positions;
  size_t pos_fields = 0;
  for (size_t i = 0; i + 1 < entries.size(); ++i) {
    if (entries[i] && *entries[i] == "pos" && entries[i + 1]) {
      ++pos_fields;
      positions.insert(*entries[i + 1]);
    }
  }
  EXPECT_EQ(pos_fields, 6u + kTransactions);
  // Snapshot rows share the consistent point; every streamed change is distinct.
  EXPECT_EQ(positions.size(), 1u + kTransactions);
}

TEST_F(PipelineTest, RedisRestartedEmptyUnderLoadIsRebuilt) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  redis_down_ten_seconds_under_load(*sluice);
  // Redis restarted without persistence: the sink's checkpoint is gone. sluice
  // notices before writing anything and rebuilds the sink (on_reset = "rebuild").
  // (With persistence the stream just catches up: see the AOF variant below.)
  ASSERT_TRUE(wait_until_synced(60s)) << sluice->output();
  EXPECT_TRUE(sluice->running()) << sluice->output();
  EXPECT_NE(sluice->output().find("rebuilding it from a fresh snapshot"), std::string::npos) << sluice->output();
}

TEST_F(PipelineTest, RedisRestartedEmptyStopsWhenOnResetIsStop) {
  auto sluice = start_sluice(write_config("on_reset = \"stop\"\n"));
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  redis_down_ten_seconds_under_load(*sluice);
  // Never written on top of an empty store as if nothing happened.
  auto code = sluice->wait(30s);
  ASSERT_TRUE(code) << sluice->output();
  EXPECT_NE(*code, 0);
  EXPECT_NE(sluice->output().find("checkpoint of sink 'cache' is gone"), std::string::npos) << sluice->output();
  EXPECT_NE(sluice->output().find("on_reset"), std::string::npos) << sluice->output();
}

class PersistentRedisPipelineTest : public PipelineTest {
 protected:
  PersistentRedisPipelineTest()
      : PipelineTest({.redis = Stack::Redis::kAppendOnly, .search_index_blocks = std::nullopt}) {}
};

TEST_F(PersistentRedisPipelineTest, RedisDownTenSecondsUnderLoadCatchesUp) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  redis_down_ten_seconds_under_load(*sluice);
  ASSERT_TRUE(wait_until_synced(60s)) << sluice->output();
  EXPECT_TRUE(sluice->running());
}

TEST_F(PipelineTest, IdleSlotAdvancesWhileOtherTablesWrite) {
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  db->exec("CREATE TABLE unrelated (id serial PRIMARY KEY, v text)");
  std::string before = db->scalar("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'sluice_cache'");
  db->exec("INSERT INTO unrelated (v) SELECT 'x' FROM generate_series(1, 20000)");
  std::string wal_after = db->scalar("SELECT pg_current_wal_lsn()::text");
  ASSERT_TRUE(eventually([&] {
    return db->scalar("SELECT (confirmed_flush_lsn >= '" + wal_after +
                      "'::pg_lsn)::text FROM pg_replication_slots WHERE slot_name = 'sluice_cache'") == "true";
  }, 30s)) << "confirmed_flush stayed at " << before << " while WAL moved to " << wal_after << "\n" << sluice->output();
}

TEST_F(PipelineTest, TablesOutsideTheConfigAreNotRoutedEvenIfPublished) {
  db->exec("CREATE TABLE audit (audit_id serial PRIMARY KEY, note text)");
  db->exec("CREATE PUBLICATION sluice_cache FOR ALL TABLES");  // prepared by the DBA, wider than sluice's tables
  auto sluice = start_sluice(write_config());
  ASSERT_TRUE(wait_streaming(*sluice));
  db->exec("BEGIN; INSERT INTO audit (note) VALUES ('not for the cache'); "
           "UPDATE user_account SET display_name = 'routed' WHERE user_account_id = 1; COMMIT;");
  db->exec("TRUNCATE audit");
  ASSERT_TRUE(wait_until_synced()) << sluice->output();
  EXPECT_TRUE(cache->keys("audit*").empty());
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

TEST_F(PipelineTest, InvalidateModeDeletesKeysOnChange) {
  // Without the upsert index a delete only carries the replica identity, and the
  // media key uses channel_id: `check` demands REPLICA IDENTITY FULL for it.
  db->exec("ALTER TABLE media REPLICA IDENTITY FULL");
  auto sluice = start_sluice(write_config("", "", "invalidate"));
  ASSERT_TRUE(wait_streaming(*sluice));
  cache->command({"SET", "user_account:1", "cached by the app"});
  cache->command({"SET", "channel:2", "cached by the app"});
  db->exec("UPDATE user_account SET display_name = 'z' WHERE user_account_id = 1");
  db->exec("DELETE FROM media WHERE media_id = 2");
  ASSERT_TRUE(eventually([&] { return !cache->get("user_account:1"); })) << sluice->output();
  EXPECT_TRUE(cache->get("channel:2"));
}

TEST_F(PipelineTest, StreamModeAppendsEachChange) {
  db->exec("ALTER TABLE media REPLICA IDENTITY FULL");
  auto sluice = start_sluice(write_config("stream = \"changes:{table}\"\n", "", "stream"));
  ASSERT_TRUE(wait_streaming(*sluice));
  db->exec("UPDATE user_account SET display_name = 'z' WHERE user_account_id = 1");
  ASSERT_TRUE(eventually([&] {
    auto n = cache->command({"XLEN", "changes:user_account"});
    return n.size() == 1 && n[0] && std::stoi(*n[0]) >= 3;  // 2 snapshot rows + the update
  })) << sluice->output();
  auto entries = cache->command({"XREVRANGE", "changes:user_account", "+", "-", "COUNT", "1"});
  std::string flat;
  for (auto& e : entries) flat += (e ? *e : "nil") + "|";
  EXPECT_NE(flat.find("|op|update|"), std::string::npos) << flat;
}

TEST_F(PipelineTest, HashFormatStoresOneFieldPerColumn) {
  auto sluice = start_sluice(write_config("", "", "upsert", "hash"));
  ASSERT_TRUE(eventually([&] {
    auto v = cache->command({"HGET", "user_account:1", "display_name"});
    return v.size() == 1 && v[0] && *v[0] == "Ada";
  })) << sluice->output();
  db->exec("UPDATE media SET description = NULL WHERE media_id = 2");
  ASSERT_TRUE(eventually([&] {
    auto v = cache->command({"HEXISTS", "m:2:2", "description"});
    return v.size() == 1 && v[0] && *v[0] == "0";
  })) << sluice->output();
}

TEST_F(PipelineTest, SecondRunResumesWithoutSnapshotOrDuplicates) {
  db->exec("ALTER TABLE media REPLICA IDENTITY FULL");
  auto config = write_config("", "", "stream");
  {
    auto sluice = start_sluice(config);
    ASSERT_TRUE(wait_streaming(*sluice));
    db->exec("UPDATE user_account SET display_name = 'once' WHERE user_account_id = 1");
    ASSERT_TRUE(eventually([&] { return cache->command({"XLEN", "sluice:changes"})[0] == std::string("7"); }))
        << sluice->output() << *cache->command({"XLEN", "sluice:changes"})[0];
    sluice->terminate();
    ASSERT_EQ(sluice->wait(30s), 0);
  }
  auto sluice = start_sluice(config);
  db->exec("UPDATE user_account SET display_name = 'twice' WHERE user_account_id = 1");
  ASSERT_TRUE(eventually([&] { return cache->command({"XLEN", "sluice:changes"})[0] == std::string("8"); }))
      << sluice->output();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(cache->command({"XLEN", "sluice:changes"})[0], std::string("8"));
}

}  // namespace
}  // namespace sluice::test
