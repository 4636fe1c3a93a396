// The Redis sink against a real redis-server: documents, the per-row version
// guard, unchanged TOAST values, fencing, the three modes, snapshots, and what
// happens when the store rejects a change or goes away.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/error.h"
#include "source/postgres/pg_builtin_types.h"
#include "harness/servers.h"
#include "sink/redis/batch_script.h"
#include "sink/redis/json_members.h"
#include "sink/redis/redis_sink.h"
#include "sink/redis/redis_url.h"
#include "core/identity.h"
#include "integration/redis_sink_fixture.h"
#include "source/postgres/pg_position.h"

namespace sluice {
namespace {

using namespace redis_test;

class RedisSinkDurableTest : public RedisSinkTest {
 protected:
  RedisSinkDurableTest() : RedisSinkTest(/*appendonly=*/true) {}
};

// ---- upsert, JSON ------------------------------------------------------------

TEST_F(RedisSinkTest, JsonInsertUpdateDeleteKeepDocumentIndexAndCheckpoint) {
  auto sink = started(config());
  auto rel = users();

  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("ann"), T(R"({"a": 1})"), N})}));
  EXPECT_EQ(client_.get("users:1"), R"({"id":1,"name":"ann","payload":{"a": 1},"note":null})");
  EXPECT_EQ(hget("sluice:cache:index:public.users", "1:1"), pos(0x200).encode() + " users:1");
  EXPECT_EQ(checkpoint(), pos(0x200).encode());

  sink->apply(batch({upd(rel, pos(0x300, 1), {T("1"), T("anne"), N, T("hi")}),
                     ins(rel, pos(0x300, 2), {T("2"), T("bob"), N, N})}));
  EXPECT_EQ(client_.get("users:1"), R"({"id":1,"name":"anne","payload":null,"note":"hi"})");
  EXPECT_EQ(client_.get("users:2"), R"({"id":2,"name":"bob","payload":null,"note":null})");
  EXPECT_EQ(hget("sluice:cache:index:public.users", "1:1"), pos(0x300, 1).encode() + " users:1");
  EXPECT_EQ(checkpoint(), pos(0x300, 2).encode());
  EXPECT_EQ(sink->last_apply().applied, 2u);

  sink->apply(batch({del(rel, pos(0x400), {T("1"), N, N, N})}));
  EXPECT_EQ(client_.get("users:1"), std::nullopt);
  EXPECT_EQ(hget("sluice:cache:index:public.users", "1:1"), std::nullopt);
  EXPECT_TRUE(client_.get("users:2").has_value());
  EXPECT_EQ(checkpoint(), pos(0x400).encode());

  // A fresh sink reads what was stored.
  RedisSink again(config());
  SinkCheckpoint cp = again.load_checkpoint();
  EXPECT_EQ(cp.position, pos(0x400));
  EXPECT_EQ(cp.snapshot, SnapshotState::kDone);
  EXPECT_EQ(cp.slot, "slot1");
}

TEST_F(RedisSinkTest, ColumnSubsetAndKeyOverridePerTable) {
  RedisSinkConfig c = config();
  RedisTableConfig t;
  t.table = "public.users";
  t.key = "u:{id}:{name}";
  t.columns = std::vector<std::string>{"name", "id"};
  c.tables.push_back(t);
  auto sink = started(c);
  sink->apply(batch({ins(users(), pos(0x200), {T("1"), T("ann"), T("[1]"), T("x")})}));
  EXPECT_EQ(client_.get("u:1:ann"), R"({"id":1,"name":"ann"})");
}

TEST_F(RedisSinkTest, PrimaryKeyChangeRemovesOldKeyAndIndexEntry) {
  auto sink = started(config());
  auto rel = users();
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("ann"), N, N})}));
  sink->apply(batch({upd(rel, pos(0x300), {T("2"), T("ann"), N, N}, {T("1"), N, N, N})}));
  EXPECT_EQ(client_.get("users:1"), std::nullopt);
  EXPECT_EQ(client_.get("users:2"), R"({"id":2,"name":"ann","payload":null,"note":null})");
  EXPECT_EQ(hget("sluice:cache:index:public.users", "1:1"), std::nullopt);
  EXPECT_EQ(hget("sluice:cache:index:public.users", "1:2"), pos(0x300).encode() + " users:2");
}

TEST_F(RedisSinkTest, KeyFromNonKeyColumnFollowsTheRowAndIsFoundOnDelete) {
  RedisSinkConfig c = config();
  RedisTableConfig t;
  t.table = "public.media";
  t.key = "m:{channel_id}:{media_id}";
  c.tables.push_back(t);
  auto sink = started(c);
  auto rel = media();

  sink->apply(batch({ins(rel, pos(0x200), {T("7"), T("42"), T("cat")})}));
  EXPECT_EQ(client_.get("m:7:42"), R"({"channel_id":7,"media_id":42,"title":"cat"})");
  // Moved to another channel: the key changes, the old one goes.
  sink->apply(batch({upd(rel, pos(0x300), {T("8"), T("42"), T("cat")})}));
  EXPECT_EQ(client_.get("m:7:42"), std::nullopt);
  EXPECT_EQ(client_.get("m:8:42"), R"({"channel_id":8,"media_id":42,"title":"cat"})");
  // The delete carries only the primary key: the index knows the key.
  sink->apply(batch({del(rel, pos(0x400), {N, T("42"), N})}));
  EXPECT_EQ(client_.get("m:8:42"), std::nullopt);
  EXPECT_EQ(client_.keys("m:*"), std::vector<std::string>{});
}

TEST_F(RedisSinkTest, TruncateRemovesEveryKeyOfThatTableOnly) {
  auto sink = started(config());
  auto u = users();
  auto m = media();
  std::vector<ChangePtr> inserts;
  for (int i = 1; i <= 2500; ++i) {
    inserts.push_back(ins(u, pos(0x200, i), {T(std::to_string(i)), T("n"), N, N}));
  }
  inserts.push_back(ins(m, pos(0x200, 3000), {T("1"), T("5"), T("t")}));
  sink->apply(batch(inserts));
  ASSERT_EQ(client_.keys("users:*").size(), 2500u);

  // Truncate, then a row inserted again in the same transaction.
  sink->apply(batch({trunc(u, pos(0x300, 1)), ins(u, pos(0x300, 2), {T("9"), T("new"), N, N})}));
  EXPECT_EQ(client_.keys("users:*"), std::vector<std::string>{"users:9"});
  EXPECT_EQ(client_.command({"HLEN", "sluice:cache:index:public.users"}).at(0), "1");
  EXPECT_EQ(client_.keys("media:*"), std::vector<std::string>{"media:5"});
  EXPECT_EQ(client_.command({"HLEN", "sluice:cache:index:public.media"}).at(0), "1");
}


// How many times Redis ran `command` since the last CONFIG RESETSTAT.
long long calls_of(RedisClient& client, const std::string& command) {
  const std::string stats = *client.command({"INFO", "commandstats"}).at(0);
  const std::string tag = "cmdstat_" + command + ":calls=";
  const size_t at = stats.find(tag);
  return at == std::string::npos ? 0 : std::stoll(stats.substr(at + tag.size()));
}

// Streaming batches of inserts, updates and deletes take plain commands in one
// MULTI/EXEC (plain_batch.h), also while a rebuild is in progress; a truncate
// and a batch of at most script_max_ops ops take the batch script.
TEST_F(RedisSinkTest, StreamingUpsertsAndDeletesRunNoScriptOtherBatchesDo) {
  auto sink = started(config());
  auto u = users();
  client_.command({"CONFIG", "RESETSTAT"});
  sink->apply(batch({ins(u, pos(0x200, 1), {T("1"), T("a"), N, N}), ins(u, pos(0x200, 2), {T("2"), T("b"), N, N}),
                     upd(u, pos(0x200, 3), {T("1"), T("c"), N, N}), del(u, pos(0x200, 4), {T("2"), N, N, N})}));
  EXPECT_EQ(calls_of(client_, "exec"), 1);
  EXPECT_EQ(calls_of(client_, "evalsha"), 0);
  EXPECT_EQ(client_.keys("users:*"), std::vector<std::string>{"users:1"});
  EXPECT_EQ(client_.get("users:1"), R"({"id":1,"name":"c","payload":null,"note":null})");
  EXPECT_EQ(checkpoint(), pos(0x200, 4).encode());

  sink->apply(batch({trunc(u, pos(0x300, 1))}));
  EXPECT_EQ(calls_of(client_, "evalsha"), 1);
  EXPECT_EQ(client_.keys("users:*"), std::vector<std::string>{});

  sink->begin_rebuild("slot1", pg::position(pg::Lsn(0x300)));
  sink->apply(batch({ins(u, pos(0x400, 1), {T("3"), T("d"), N, N})}));
  EXPECT_EQ(calls_of(client_, "evalsha"), 1);
  EXPECT_EQ(calls_of(client_, "exec"), 2);
  EXPECT_EQ(client_.get("users:3"), R"({"id":3,"name":"d","payload":null,"note":null})");
  EXPECT_EQ(checkpoint(), pos(0x400, 1).encode());
  sink->finish_rebuild(pg::position(pg::Lsn(0x300)), {"public.users"});

  // script_max_ops: a batch of at most that many ops takes the script (one round trip).
  RedisSinkConfig c = config();
  c.script_max_ops = 3;
  RedisSink small(c);
  small.load_checkpoint();
  small.apply(batch({upd(u, pos(0x500, 1), {T("3"), T("e"), N, N}), ins(u, pos(0x500, 2), {T("4"), T("f"), N, N}),
                     ins(u, pos(0x500, 3), {T("5"), T("g"), N, N})}));
  EXPECT_EQ(calls_of(client_, "evalsha"), 2);
  small.apply(batch({upd(u, pos(0x600, 1), {T("3"), T("h"), N, N}), ins(u, pos(0x600, 2), {T("4"), T("i"), N, N}),
                     ins(u, pos(0x600, 3), {T("5"), T("j"), N, N}), ins(u, pos(0x600, 4), {T("6"), T("k"), N, N})}));
  EXPECT_EQ(calls_of(client_, "evalsha"), 2);
  EXPECT_EQ(calls_of(client_, "exec"), 3);
  EXPECT_EQ(client_.keys("users:*"), (std::vector<std::string>{"users:3", "users:4", "users:5", "users:6"}));
  EXPECT_EQ(client_.get("users:3"), R"({"id":3,"name":"h","payload":null,"note":null})");
}

// Large documents are type-checked one TYPE per key instead of being read back
// with MGET; a key of another type still stops the batch before any write.
TEST_F(RedisSinkTest, LargeDocumentsAreTypeCheckedWithoutReadingThemBack) {
  auto sink = started(config());
  auto u = users();
  const std::string big(4000, 'x');
  client_.command({"RPUSH", "users:3", "someone else's list"});
  client_.command({"CONFIG", "RESETSTAT"});
  std::vector<ChangePtr> changes;
  for (int i = 1; i <= 5; ++i) changes.push_back(ins(u, pos(0x200, i), {T(std::to_string(i)), T(big), N, N}));
  try {
    sink->apply(batch(changes));
    FAIL() << "expected Error::invalid_input";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << e.what();
    EXPECT_TRUE(contains(e.what(), "users:3") && contains(e.what(), "WRONGTYPE")) << e.what();
  }
  EXPECT_EQ(client_.keys("users:*"), std::vector<std::string>{"users:3"});
  client_.command({"DEL", "users:3"});
  sink->apply(batch(changes));
  EXPECT_EQ(client_.keys("users:*").size(), 5u);
  EXPECT_EQ(client_.get("users:5"), R"({"id":5,"name":")" + big + R"(","payload":null,"note":null})");
  EXPECT_EQ(calls_of(client_, "mget"), 0);
  EXPECT_EQ(calls_of(client_, "type"), 14);  // per batch: the checkpoint, the index, 5 keys
  EXPECT_EQ(calls_of(client_, "exec"), 1);
}

// Each key's final content is written at the end of a batch, in bulk (by the
// script and by plain commands alike): a batch whose changes build on each other
// must end as if applied one by one. The first batch takes plain commands, the
// second (with a truncate) the script.
TEST_F(RedisSinkTest, ChangesThatBuildOnEachOtherInOneBatchEndAsIfAppliedOneByOne) {
  auto sink = started(config());
  auto u = users();
  sink->apply(batch({
      ins(u, pos(0x200, 1), {T("1"), T("a"), N, N}),
      ins(u, pos(0x200, 2), {T("2"), T("b"), N, N}),
      // Key 1 moves to 3; a new row 1 takes its old key in the same batch.
      upd(u, pos(0x200, 3), {T("3"), T("a"), N, N}, {T("1"), N, N, N}),
      ins(u, pos(0x200, 4), {T("1"), T("c"), N, N}),
      // Row 2 is deleted, then inserted again and updated.
      del(u, pos(0x200, 5), {T("2"), N, N, N}),
      ins(u, pos(0x200, 6), {T("2"), T("d"), N, N}),
      upd(u, pos(0x200, 7), {T("2"), T("e"), N, N}),
  }));
  EXPECT_EQ(client_.keys("users:*"), (std::vector<std::string>{"users:1", "users:2", "users:3"}));
  EXPECT_EQ(client_.get("users:1"), R"({"id":1,"name":"c","payload":null,"note":null})");
  EXPECT_EQ(client_.get("users:2"), R"({"id":2,"name":"e","payload":null,"note":null})");
  EXPECT_EQ(client_.get("users:3"), R"({"id":3,"name":"a","payload":null,"note":null})");
  EXPECT_EQ(hget("sluice:cache:index:public.users", "1:1"), pos(0x200, 4).encode() + " users:1");
  EXPECT_EQ(hget("sluice:cache:index:public.users", "1:2"), pos(0x200, 7).encode() + " users:2");
  EXPECT_EQ(hget("sluice:cache:index:public.users", "1:3"), pos(0x200, 3).encode() + " users:3");
  EXPECT_EQ(client_.command({"HLEN", "sluice:cache:index:public.users"}).at(0), "3");

  // Everything goes, then one row comes back, changes key, and is deleted again;
  // another is inserted after the truncate.
  sink->apply(batch({
      upd(u, pos(0x300, 1), {T("1"), T("f"), N, N}),
      trunc(u, pos(0x300, 2)),
      ins(u, pos(0x300, 3), {T("4"), T("g"), N, N}),
      upd(u, pos(0x300, 4), {T("5"), T("g"), N, N}, {T("4"), N, N, N}),
      del(u, pos(0x300, 5), {T("5"), N, N, N}),
      ins(u, pos(0x300, 6), {T("6"), T("h"), N, N}),
  }));
  EXPECT_EQ(client_.keys("users:*"), std::vector<std::string>{"users:6"});
  EXPECT_EQ(client_.get("users:6"), R"({"id":6,"name":"h","payload":null,"note":null})");
  EXPECT_EQ(client_.command({"HLEN", "sluice:cache:index:public.users"}).at(0), "1");
  EXPECT_EQ(hget("sluice:cache:index:public.users", "1:6"), pos(0x300, 6).encode() + " users:6");
  EXPECT_EQ(checkpoint(), pos(0x300, 6).encode());
}
TEST_F(RedisSinkTest, NumbersKeepEveryDigit) {
  auto sink = started(config());
  auto rel = std::make_shared<Relation>();
  rel->schema = "shop";
  rel->name = "prices";
  rel->columns = {column("id", kInt4, true), column("amount", kNumeric)};
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("12345678901234567890.000000001")})}));
  EXPECT_EQ(client_.get("prices:1"), R"({"id":1,"amount":12345678901234567890.000000001})");
  // A TOASTed number, last in the document, is kept digit for digit.
  sink->apply(batch({upd(rel, pos(0x300), {T("1"), U})}));
  EXPECT_EQ(client_.get("prices:1"), R"({"id":1,"amount":12345678901234567890.000000001})");
}

// ---- upsert, hash --------------------------------------------------------------

TEST_F(RedisSinkTest, HashRowsHaveOneFieldPerNonNullColumn) {
  auto sink = started(config(SinkMode::kUpsert, DocumentFormat::kHash));
  auto rel = users();
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("ann"), T(R"({"a": [1, 2]})"), T("x")})}));
  EXPECT_EQ(hgetall("users:1"), (std::map<std::string, std::string>{
                                    {"id", "1"}, {"name", "ann"}, {"payload", R"({"a": [1, 2]})"}, {"note", "x"}}));
  // A column set to null disappears.
  sink->apply(batch({upd(rel, pos(0x300), {T("1"), T("ann"), N, T("x")})}));
  EXPECT_EQ(hgetall("users:1"), (std::map<std::string, std::string>{{"id", "1"}, {"name", "ann"}, {"note", "x"}}));

  // ALTER TABLE ... DROP COLUMN note: a new Relation; the field must not linger.
  auto altered = std::make_shared<Relation>(*rel);
  altered->columns.pop_back();
  sink->apply(batch({upd(altered, pos(0x400), {T("1"), T("anna"), N})}));
  EXPECT_EQ(hgetall("users:1"), (std::map<std::string, std::string>{{"id", "1"}, {"name", "anna"}}));

  sink->apply(batch({del(altered, pos(0x500), {T("1"), N, N})}));
  EXPECT_EQ(client_.command({"EXISTS", "users:1"}).at(0), "0");
}

TEST_F(RedisSinkTest, HashKeepsUnchangedToastFields) {
  auto sink = started(config(SinkMode::kUpsert, DocumentFormat::kHash));
  auto rel = users();
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("ann"), T(R"({"big": "x"})"), T("long note")})}));
  sink->apply(batch({upd(rel, pos(0x300), {T("1"), T("bob"), U, U})}));
  EXPECT_EQ(hgetall("users:1"), (std::map<std::string, std::string>{
                                    {"id", "1"}, {"name", "bob"}, {"payload", R"({"big": "x"})"}, {"note", "long note"}}));
}

TEST_F(RedisSinkTest, HashUnchangedToastWithoutStoredFieldIsAStateError) {
  auto sink = started(config(SinkMode::kUpsert, DocumentFormat::kHash));
  auto rel = users();
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("ann"), N, T("x")})}));
  try {
    sink->apply(batch({upd(rel, pos(0x300), {T("1"), T("bob"), U, T("y")})}));
    FAIL() << "expected Error::state";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState) << e.what();
    EXPECT_TRUE(contains(e.what(), "payload") && contains(e.what(), "users:1")) << e.what();
  }
  EXPECT_EQ(hgetall("users:1"), (std::map<std::string, std::string>{{"id", "1"}, {"name", "ann"}, {"note", "x"}}));
}

// ---- version guard and replays ---------------------------------------------------

TEST_F(RedisSinkTest, OlderChangeAfterNewerOneIsSkippedPerRow) {
  // Rows rewritten by `verify --repair` carry no checkpoint: only the per-row
  // version guard orders them against the stream.
  auto sink = started(config());
  auto rel = users();
  sink->apply(batch({ins(rel, pos(0x300, 1), {T("1"), T("newer"), N, N})}));
  Batch older = rows({ins(rel, pos(0x200, 0), {T("1"), T("older"), N, N}),
                      ins(rel, pos(0x200, 0), {T("2"), T("other"), N, N})});
  older.kind = BatchKind::kRepair;
  sink->apply(older);
  EXPECT_EQ(sink->last_apply().skipped, 1u);
  EXPECT_EQ(sink->last_apply().applied, 1u);
  EXPECT_EQ(client_.get("users:1"), R"({"id":1,"name":"newer","payload":null,"note":null})");
  EXPECT_EQ(client_.get("users:2"), R"({"id":2,"name":"other","payload":null,"note":null})");
  // An older delete does not remove a newer row.
  Batch older_delete = rows({del(rel, pos(0x250, 0), {T("1"), N, N, N})});
  older_delete.kind = BatchKind::kRepair;
  sink->apply(older_delete);
  EXPECT_TRUE(client_.get("users:1").has_value());
  EXPECT_EQ(checkpoint(), pos(0x300, 1).encode());
}

// Snapshot rows go in without the per-row guard, so they are fenced on the
// snapshot itself: rows of another snapshot (a process that lost its lock) are
// refused whole, and `verify --repair` cannot write while the snapshot runs.
TEST_F(RedisSinkTest, SnapshotRowsOfAnotherSnapshotAndRepairsDuringOneAreRefused) {
  auto sink = std::make_unique<RedisSink>(config());
  sink->begin_snapshot("slot1", pg::position(pg::Lsn(0x300)), {"public.users"});
  auto rel = users();
  sink->apply(rows({ins(rel, pos(0x300, 0), {T("1"), T("this one"), N, N})}));
  try {
    sink->apply(rows({ins(rel, pos(0x300, 0), {T("2"), T("b"), N, N}), ins(rel, pos(0x200, 0), {T("3"), T("c"), N, N})}));
    FAIL() << "expected Error::state";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState) << e.what();
    EXPECT_TRUE(contains(e.what(), pos(0x200, 0).encode()) && contains(e.what(), pos(0x300, 0).encode())) << e.what();
  }
  Batch repair = rows({ins(rel, pos(0x400, 0), {T("4"), T("d"), N, N})});
  repair.kind = BatchKind::kRepair;
  try {
    sink->apply(repair);
    FAIL() << "expected Error::state";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState) << e.what();
    EXPECT_TRUE(contains(e.what(), "snapshot is in progress")) << e.what();
  }
  EXPECT_EQ(client_.keys("users:*"), std::vector<std::string>{"users:1"});
  EXPECT_EQ(client_.command({"HLEN", "sluice:cache:index:public.users"}).at(0), "1");
}

// Snapshot rows are checked and written in bulk: a key of the wrong type among
// them stops the whole chunk before anything is written; hash rows get their
// fields; a repeated chunk (a retry) writes the same rows again.
TEST_F(RedisSinkTest, SnapshotRowsAreCheckedBeforeAnyWriteAndRepeatSafely) {
  auto rel = users();
  {
    auto sink = std::make_unique<RedisSink>(config());
    sink->begin_snapshot("slot1", pg::position(pg::Lsn(0x100)), {"public.users"});
    client_.command({"LPUSH", "users:600", "someone else's list"});
    std::vector<ChangePtr> chunk;
    for (int i = 1; i <= 1200; ++i) chunk.push_back(ins(rel, pos(0x100, 0), {T(std::to_string(i)), T("a"), N, N}));
    try {
      sink->apply(rows(chunk));
      FAIL() << "expected Error::invalid_input";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << e.what();
      EXPECT_TRUE(contains(e.what(), "users:600") && contains(e.what(), "WRONGTYPE")) << e.what();
    }
    EXPECT_EQ(client_.keys("users:*"), std::vector<std::string>{"users:600"});
    EXPECT_EQ(client_.command({"EXISTS", "sluice:cache:index:public.users"}).at(0), "0");
    client_.command({"DEL", "users:600"});
    // Into absent keys, then again over its own (the second time EXISTS finds
    // them, and their types are read).
    for (int pass = 0; pass < 2; ++pass) {
      sink->apply(rows(chunk));
      EXPECT_EQ(sink->last_apply().applied, 1200u);
      EXPECT_EQ(client_.keys("users:*").size(), 1200u);
      EXPECT_EQ(client_.command({"GET", "users:600"}).at(0), std::string(R"({"id":600,"name":"a","payload":null,"note":null})"));
    }
    client_.command({"FLUSHDB"});
  }
  auto sink = std::make_unique<RedisSink>(config(SinkMode::kUpsert, DocumentFormat::kHash));
  sink->begin_snapshot("slot1", pg::position(pg::Lsn(0x100)), {"public.users"});
  std::vector<ChangePtr> chunk;
  for (int i = 1; i <= 1200; ++i) chunk.push_back(ins(rel, pos(0x100, 0), {T(std::to_string(i)), T("n" + std::to_string(i)), N, T("x")}));
  chunk.push_back(ins(rel, pos(0x100, 0), {T("0"), N, N, N}));
  sink->apply(rows(chunk));
  EXPECT_EQ(sink->last_apply().applied, 1201u);
  EXPECT_EQ(client_.keys("users:*").size(), 1201u);
  EXPECT_EQ(hgetall("users:777"), (std::map<std::string, std::string>{{"id", "777"}, {"name", "n777"}, {"note", "x"}}));
  EXPECT_EQ(hgetall("users:0"), (std::map<std::string, std::string>{{"id", "0"}}));
  EXPECT_EQ(hget("sluice:cache:index:public.users", "3:777"), pos(0x100, 0).encode() + " users:777");
  sink->apply(rows(chunk));
  EXPECT_EQ(sink->last_apply().applied, 1201u);
  EXPECT_EQ(client_.keys("users:*").size(), 1201u);
  EXPECT_EQ(hgetall("users:777"), (std::map<std::string, std::string>{{"id", "777"}, {"name", "n777"}, {"note", "x"}}));
  EXPECT_EQ(client_.command({"HLEN", "sluice:cache:index:public.users"}).at(0), "1201");
}

TEST_F(RedisSinkTest, ReplayedBatchIsAlreadyAppliedAndOlderBatchChangesNothing) {
  auto first = started(config());
  auto rel = users();
  Batch b1 = batch({ins(rel, pos(0x200), {T("1"), T("v1"), N, N})});
  Batch b2 = batch({upd(rel, pos(0x300), {T("1"), T("v2"), N, N})});

  // `second` loaded the checkpoint before b1 was applied: for it, b1 is a batch
  // whose reply was lost.
  RedisSink second(config());
  second.load_checkpoint();
  first->apply(b1);
  second.apply(b1);
  EXPECT_TRUE(second.last_apply().already_applied);

  first->apply(b2);
  EXPECT_EQ(client_.get("users:1"), R"({"id":1,"name":"v2","payload":null,"note":null})");
  // Replaying the older batch (a source restarting from an earlier position).
  first->apply(b1);
  EXPECT_EQ(first->last_apply().replayed, 1u);
  EXPECT_EQ(client_.get("users:1"), R"({"id":1,"name":"v2","payload":null,"note":null})");
  EXPECT_EQ(checkpoint(), pos(0x300).encode());
  // Same from a sink that starts after a restart.
  RedisSink restarted(config());
  restarted.load_checkpoint();
  restarted.apply(b1);
  restarted.apply(b2);
  EXPECT_EQ(restarted.last_apply().replayed, 1u);
  EXPECT_EQ(client_.get("users:1"), R"({"id":1,"name":"v2","payload":null,"note":null})");
  // A deleted row is not resurrected by a replay of its insert.
  first->apply(batch({del(rel, pos(0x400), {T("1"), N, N, N})}));
  first->apply(b1);
  EXPECT_EQ(client_.get("users:1"), std::nullopt);
}

// ---- unchanged TOAST -------------------------------------------------------------

TEST_F(RedisSinkTest, UnchangedToastKeepsTheStoredRawValues) {
  auto sink = started(config());
  auto rel = users();
  // Nested JSON with braces inside strings, a number beyond double precision,
  // and a text with escaped quotes, braces and a backslash.
  const std::string payload = R"({"deep": {"x": [1, 2, {"y": "}]\"{"}]}, "n": 12345678901234567890.123456789})";
  const std::string note = R"(say "hi" {not} \ done, [ok])";
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("ann"), T(payload), T(note)})}));
  const std::string stored = *client_.get("users:1");
  EXPECT_EQ(stored, R"({"id":1,"name":"ann","payload":)" + payload + R"(,"note":"say \"hi\" {not} \\ done, [ok]"})");

  // Only name changed; payload and note were not sent.
  sink->apply(batch({upd(rel, pos(0x300), {T("1"), T("bob"), U, U})}));
  EXPECT_EQ(*client_.get("users:1"),
            R"({"id":1,"name":"bob","payload":)" + payload + R"(,"note":"say \"hi\" {not} \\ done, [ok]"})");

  // The first column and the last one unchanged, the middle ones changed.
  sink->apply(batch({upd(rel, pos(0x400), {T("1"), U, T("[]"), U})}));
  EXPECT_EQ(*client_.get("users:1"), R"({"id":1,"name":"bob","payload":[],"note":"say \"hi\" {not} \\ done, [ok]"})");

  // Insert and TOAST update of a new row inside one batch: the script sees its own write.
  sink->apply(batch({ins(rel, pos(0x500, 1), {T("2"), T("c"), T(R"({"k": "v"})"), T("n")}),
                     upd(rel, pos(0x500, 2), {T("2"), T("d"), U, N})}));
  EXPECT_EQ(*client_.get("users:2"), R"({"id":2,"name":"d","payload":{"k": "v"},"note":null})");
}

// A document that keeps TOAST values is spliced in C++ (plain_batch.h): such a
// batch takes plain commands whatever its size; the batch script reads no JSON.
TEST_F(RedisSinkTest, ABatchThatKeepsToastValuesTakesPlainCommandsWhateverItsSize) {
  RedisSinkConfig c = config();
  c.script_max_ops = kScriptEverywhere;
  auto sink = started(c);
  auto rel = users();
  client_.command({"CONFIG", "RESETSTAT"});
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("ann"), T(R"({"big": "x"})"), T("n")})}));
  EXPECT_EQ(calls_of(client_, "evalsha"), 1);
  sink->apply(batch({upd(rel, pos(0x300), {T("1"), T("bob"), U, U})}));
  EXPECT_EQ(calls_of(client_, "evalsha"), 1);
  EXPECT_EQ(calls_of(client_, "exec"), 1);
  EXPECT_EQ(*client_.get("users:1"), R"({"id":1,"name":"bob","payload":{"big": "x"},"note":"n"})");
  EXPECT_EQ(checkpoint(), pos(0x300).encode());
}

// The stored values come from wherever the row's document is now: after a key
// change earlier in the batch, after one in an earlier batch, and never from a
// row a truncate in the same batch removed.
TEST_F(RedisSinkTest, UnchangedToastIsTakenFromWhereTheRowIsStoredNow) {
  auto sink = started(config());
  auto rel = users();
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("ann"), T(R"({"a": 1})"), T("first")})}));
  // The key moves (1 -> 2), then its TOAST value is kept twice: in the batch
  // that moved it, and in the next one.
  sink->apply(batch({upd(rel, pos(0x300, 1), {T("2"), T("ann"), U, U}, {T("1"), N, N, N}),
                     upd(rel, pos(0x300, 2), {T("2"), T("bea"), U, T("second")})}));
  EXPECT_EQ(client_.get("users:1"), std::nullopt);
  EXPECT_EQ(*client_.get("users:2"), R"({"id":2,"name":"bea","payload":{"a": 1},"note":"second"})");
  sink->apply(batch({upd(rel, pos(0x400), {T("3"), T("cy"), U, U}, {T("2"), N, N, N})}));
  EXPECT_EQ(client_.keys("users:*"), std::vector<std::string>{"users:3"});
  EXPECT_EQ(*client_.get("users:3"), R"({"id":3,"name":"cy","payload":{"a": 1},"note":"second"})");
  EXPECT_EQ(hget("sluice:cache:index:public.users", "1:3"), pos(0x400).encode() + " users:3");

  // A truncate in the batch removes the row: a later update that keeps a value
  // finds no document, and nothing of the batch is written.
  try {
    sink->apply(batch({trunc(rel, pos(0x500, 1)), upd(rel, pos(0x500, 2), {T("3"), T("dee"), U, N})}));
    FAIL() << "expected Error::state";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState) << e.what();
    EXPECT_TRUE(contains(e.what(), "users:3") && contains(e.what(), "missing")) << e.what();
  }
  EXPECT_EQ(*client_.get("users:3"), R"({"id":3,"name":"cy","payload":{"a": 1},"note":"second"})");
  EXPECT_EQ(checkpoint(), pos(0x400).encode());

  // A truncate, then the row inserted again and updated, in one batch.
  sink->apply(batch({trunc(rel, pos(0x600, 1)), ins(rel, pos(0x600, 2), {T("4"), T("eve"), T("[1]"), N}),
                     upd(rel, pos(0x600, 3), {T("4"), T("fay"), U, N})}));
  EXPECT_EQ(client_.keys("users:*"), std::vector<std::string>{"users:4"});
  EXPECT_EQ(*client_.get("users:4"), R"({"id":4,"name":"fay","payload":[1],"note":null})");
  EXPECT_EQ(client_.command({"HLEN", "sluice:cache:index:public.users"}).at(0), "1");
  EXPECT_EQ(checkpoint(), pos(0x600, 3).encode());
}

// A key built from a column that is an unchanged TOAST value is taken from the
// row's index entry; a replay of a batch that kept TOAST values changes nothing.
TEST_F(RedisSinkTest, AKeyFromAnUnchangedToastColumnComesFromTheIndexEntry) {
  RedisSinkConfig c = config();
  RedisTableConfig t;
  t.table = "public.users";
  t.key = "user:{note}";
  c.tables.push_back(t);
  auto sink = started(c);
  auto rel = users();
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("ann"), T("{}"), T("n1")})}));
  const Batch keeps = batch({upd(rel, pos(0x300), {T("1"), T("bob"), U, U})});
  sink->apply(keeps);
  EXPECT_EQ(client_.keys("user:*"), std::vector<std::string>{"user:n1"});
  EXPECT_EQ(*client_.get("user:n1"), R"({"id":1,"name":"bob","payload":{},"note":"n1"})");
  RedisSink again(c);
  again.load_checkpoint();
  client_.command({"CONFIG", "RESETSTAT"});
  again.apply(keeps);
  EXPECT_EQ(again.last_apply().replayed, 1u);
  EXPECT_EQ(*client_.get("user:n1"), R"({"id":1,"name":"bob","payload":{},"note":"n1"})");
  // A row with no entry has no key to take.
  try {
    sink->apply(batch({upd(rel, pos(0x400), {T("2"), T("cy"), T("{}"), U})}));
    FAIL() << "expected Error::state";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState) << e.what();
    EXPECT_TRUE(contains(e.what(), "no index entry")) << e.what();
  }
}

TEST_F(RedisSinkTest, UnchangedToastWithoutStoredDocumentIsAStateError) {
  auto sink = started(config());
  auto rel = users();
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("ann"), T("{}"), N})}));
  client_.command({"DEL", "users:1"});
  try {
    sink->apply(batch({ins(rel, pos(0x300, 1), {T("2"), T("bob"), N, N}),
                       upd(rel, pos(0x300, 2), {T("1"), T("x"), U, N})}));
    FAIL() << "expected Error::state";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState) << e.what();
    const std::string m = e.what();
    EXPECT_TRUE(contains(m, "public.users") && contains(m, "users:1") && contains(m, "\"payload\"")) << m;
  }
  // Nothing of the batch was written.
  EXPECT_EQ(client_.get("users:1"), std::nullopt);
  EXPECT_EQ(client_.get("users:2"), std::nullopt);
  EXPECT_EQ(checkpoint(), pos(0x200).encode());
}

// ---- fencing ----------------------------------------------------------------------

TEST_F(RedisSinkTest, CheckpointMovedBehindTheSinksBackIsAStateError) {
  auto sink = started(config());
  auto rel = users();
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("a"), N, N})}));
  client_.command({"HSET", "sluice:cache:checkpoint", "position", pos(0x250).encode()});
  try {
    sink->apply(batch({ins(rel, pos(0x300), {T("2"), T("b"), N, N})}));
    FAIL() << "expected Error::state";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState) << e.what();
    EXPECT_TRUE(contains(e.what(), "cache")) << e.what();
  }
  EXPECT_EQ(client_.get("users:2"), std::nullopt);
}

TEST_F(RedisSinkTest, FlushedRedisIsAReset) {
  auto sink = started(config());
  auto rel = users();
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("a"), N, N})}));
  client_.command({"FLUSHALL"});
  try {
    sink->apply(batch({ins(rel, pos(0x300), {T("2"), T("b"), N, N})}));
    FAIL() << "expected SinkWasReset";
  } catch (const SinkWasReset& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState) << e.what();
    EXPECT_TRUE(contains(e.what(), "gone")) << e.what();
  }
  EXPECT_EQ(client_.keys("*"), std::vector<std::string>{});
}

TEST_F(RedisSinkTest, SnapshotRowsNeedASnapshotInProgress) {
  auto sink = started(config());
  try {
    sink->apply(rows({ins(users(), pos(0x100, 0), {T("1"), T("a"), N, N})}));
    FAIL() << "expected Error::state";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState) << e.what();
  }
  EXPECT_EQ(client_.get("users:1"), std::nullopt);
}

// ---- the store rejects a change ------------------------------------------------------

TEST_F(RedisSinkTest, WrongTypeIsInvalidInputAndWritesNothing) {
  auto sink = started(config());
  auto rel = users();
  client_.command({"LPUSH", "users:2", "someone else's list"});
  try {
    sink->apply(batch({ins(rel, pos(0x200, 1), {T("1"), T("a"), N, N}),
                       ins(rel, pos(0x200, 2), {T("2"), T("b"), N, N})}));
    FAIL() << "expected Error::invalid_input";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << e.what();
    const std::string m = e.what();
    EXPECT_TRUE(contains(m, "cache") && contains(m, "public.users") && contains(m, "users:2") &&
                contains(m, "WRONGTYPE"))
        << m;
  }
  EXPECT_EQ(client_.get("users:1"), std::nullopt);
  EXPECT_EQ(client_.command({"EXISTS", "sluice:cache:index:public.users"}).at(0), "0");
  EXPECT_EQ(client_.command({"LLEN", "users:2"}).at(0), "1");
  EXPECT_EQ(checkpoint(), pos(0x100, 0).encode());
}

// ---- invalidate -----------------------------------------------------------------------

TEST_F(RedisSinkTest, InvalidateDeletesOldAndNewKeys) {
  auto sink = started(config(SinkMode::kInvalidate));
  auto rel = users();
  for (const char* k : {"users:1", "users:2", "users:3", "users:4", "media:1"}) client_.command({"SET", k, "cached"});

  sink->apply(batch({ins(rel, pos(0x200, 1), {T("1"), T("a"), N, N}),
                     upd(rel, pos(0x200, 2), {T("3"), T("a"), N, N}, {T("2"), N, N, N})}));
  EXPECT_EQ(client_.keys("users:*"), std::vector<std::string>{"users:4"});
  sink->apply(batch({del(rel, pos(0x300), {T("4"), N, N, N})}));
  EXPECT_EQ(client_.keys("users:*"), std::vector<std::string>{});

  for (int i = 0; i < 3000; ++i) client_.command({"SET", "users:" + std::to_string(i), "cached"});
  sink->apply(batch({trunc(rel, pos(0x400))}));
  EXPECT_EQ(client_.keys("users:*"), std::vector<std::string>{});
  EXPECT_EQ(client_.get("media:1"), "cached");
  EXPECT_EQ(client_.keys("sluice:cache:index:*"), std::vector<std::string>{});
  EXPECT_EQ(checkpoint(), pos(0x400).encode());
}

// ---- stream ----------------------------------------------------------------------------

struct StreamEntry {
  std::string id;
  std::map<std::string, std::string> fields;
};

TEST_F(RedisSinkTest, StreamEntriesCarryEveryField) {
  RedisSinkConfig c = config(SinkMode::kStream);
  c.stream = "cdc:{schema}:{table}";
  c.stream_maxlen = 1000;
  auto sink = std::make_unique<RedisSink>(c);
  auto rel = users();
  sink->begin_snapshot("slot1", pg::position(pg::Lsn(0x100)), {"public.users"});
  sink->apply(rows({ins(rel, pos(0x100, 0), {T("1"), T("a"), N, N})}));
  sink->finish_snapshot("slot1", pg::position(pg::Lsn(0x100)));
  Batch b = batch({upd(rel, pos(0x16B374D848, 1), {T("1"), T("b"), N, N}),
                   del(rel, pos(0x16B374D848, 2), {T("1"), N, N, N}), trunc(rel, pos(0x16B374D848, 3))});
  sink->apply(b);
  // A replay adds nothing.
  RedisSink again(c);
  again.load_checkpoint();
  again.apply(b);

  const std::set<std::string> names{"op", "table", "key", "pos", "lsn", "xid", "commit_time", "old", "new"};
  auto flat = client_.command({"XRANGE", "cdc:public:users", "-", "+"});
  std::vector<StreamEntry> entries;
  for (size_t i = 0; i < flat.size();) {
    StreamEntry e{*flat[i++], {}};
    while (i + 1 < flat.size() && names.count(*flat[i])) {
      e.fields[*flat[i]] = *flat[i + 1];
      i += 2;
    }
    entries.push_back(std::move(e));
  }
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].fields["op"], "snapshot");
  EXPECT_EQ(entries[0].fields["new"], R"({"id":1,"name":"a","payload":null,"note":null})");

  const auto& u = entries[1].fields;
  EXPECT_EQ(u.at("op"), "update");
  EXPECT_EQ(u.at("table"), "public.users");
  EXPECT_EQ(u.at("key"), "users:1");
  EXPECT_EQ(u.at("pos"), pos(0x16B374D848, 1).str());
  EXPECT_EQ(u.at("lsn"), "16/B374D848");
  EXPECT_EQ(u.at("xid"), "777");
  EXPECT_EQ(u.at("commit_time"), "2024-05-01T12:34:56.123456Z");
  EXPECT_EQ(u.count("old"), 0u);
  EXPECT_EQ(u.at("new"), R"({"id":1,"name":"b","payload":null,"note":null})");

  const auto& d = entries[2].fields;
  EXPECT_EQ(d.at("op"), "delete");
  EXPECT_EQ(d.at("key"), "users:1");
  EXPECT_EQ(d.at("old"), R"({"id":1})");
  EXPECT_EQ(d.count("new"), 0u);

  const auto& t = entries[3].fields;
  EXPECT_EQ(t.at("op"), "truncate");
  EXPECT_EQ(t.at("key"), "");
  EXPECT_EQ(t.count("old") + t.count("new"), 0u);
}

// ---- snapshots ---------------------------------------------------------------------------

TEST_F(RedisSinkTest, BeginSnapshotClearsWhatTheSinkHeldForThoseTables) {
  auto sink = started(config());
  auto u = users();
  auto m = media();
  sink->apply(batch({ins(u, pos(0x200, 1), {T("1"), T("a"), N, N}), ins(u, pos(0x200, 2), {T("2"), T("b"), N, N}),
                     ins(m, pos(0x200, 3), {T("1"), T("5"), T("t")})}));

  RedisSink fresh(config());
  fresh.begin_snapshot("slot2", pg::position(pg::Lsn(0x900)), {"public.users"});
  EXPECT_EQ(client_.keys("users:*"), std::vector<std::string>{});
  EXPECT_EQ(client_.command({"EXISTS", "sluice:cache:index:public.users"}).at(0), "0");
  EXPECT_EQ(client_.keys("media:*"), std::vector<std::string>{"media:5"});
  EXPECT_EQ(hgetall("sluice:cache:checkpoint"),
            (std::map<std::string, std::string>{
                {"snapshot", "in_progress"}, {"slot", "slot2"}, {"snapshot_at", pos(0x900, 0).encode()}}));
  SinkCheckpoint cp = RedisSink(config()).load_checkpoint();
  EXPECT_EQ(cp.snapshot, SnapshotState::kInProgress);
  EXPECT_FALSE(cp.position.has_value());

  fresh.apply(rows({ins(u, pos(0x900, 0), {T("3"), T("c"), N, N})}));
  fresh.finish_snapshot("slot2", pg::position(pg::Lsn(0x900)));
  EXPECT_EQ(hgetall("sluice:cache:checkpoint"),
            (std::map<std::string, std::string>{{"snapshot", "done"}, {"slot", "slot2"}, {"position", pos(0x900, 0).encode()}}));
  // The snapshot row is older than every streamed change.
  fresh.apply(batch({upd(u, pos(0x901), {T("3"), T("d"), N, N})}));
  EXPECT_EQ(client_.get("users:3"), R"({"id":3,"name":"d","payload":null,"note":null})");
}

TEST_F(RedisSinkTest, BeginSnapshotInInvalidateModeClearsTheTablesKeys) {
  auto sink = std::make_unique<RedisSink>(config(SinkMode::kInvalidate));
  client_.command({"SET", "users:1", "x"});
  client_.command({"SET", "users:2:extra", "x"});
  client_.command({"SET", "media:1", "x"});
  sink->begin_snapshot("slot1", pg::position(pg::Lsn(0x100)), {"public.users"});
  EXPECT_EQ(client_.keys("*"), (std::vector<std::string>{"media:1", "sluice:cache:checkpoint"}));
}

// ---- outages --------------------------------------------------------------------------

TEST_F(RedisSinkDurableTest, StoppedRedisIsTransientAndTheSameBatchAppliesAfterRestart) {
  auto sink = started(config());
  auto rel = users();
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("a"), N, N})}));
  Batch b = batch({upd(rel, pos(0x300), {T("1"), T("b"), N, N})});

  redis_.stop();
  try {
    sink->apply(b);
    FAIL() << "expected Error::transient";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTransient) << e.what();
  }
  EXPECT_THROW(sink->apply(b), Error);  // still down: reconnecting fails the same way

  redis_.start();  // the script cache is empty now: NOSCRIPT, load, retry
  sink->apply(b);
  RedisClient client(redis_.port());
  EXPECT_EQ(client.get("users:1"), R"({"id":1,"name":"b","payload":null,"note":null})");
  EXPECT_EQ(client.command({"HGET", "sluice:cache:checkpoint", "position"}).at(0), pos(0x300).encode());
}

// ---- url and connection -----------------------------------------------------------------

TEST(RedisSinkUrlTest, ParsesEveryPart) {
  RedisUrl u = RedisUrl::parse("redis://alice:s%40cret@cache.local:6380/3");
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.password, "s@cret");
  EXPECT_EQ(u.host, "cache.local");
  EXPECT_EQ(u.port, 6380);
  EXPECT_EQ(u.db, 3);
  EXPECT_EQ(u.redacted(), "redis://alice:********@cache.local:6380/3");

  RedisUrl d = RedisUrl::parse("redis://localhost");
  EXPECT_EQ(d.port, 6379);
  EXPECT_EQ(d.db, 0);
  EXPECT_FALSE(d.password.has_value());

  RedisUrl p = RedisUrl::parse("redis://:pw@[::1]:7000");
  EXPECT_EQ(p.user, "");
  EXPECT_EQ(p.password, "pw");
  EXPECT_EQ(p.host, "::1");
  EXPECT_EQ(p.port, 7000);
}

TEST(RedisSinkUrlTest, RejectsMalformedUrlsWithoutShowingThePassword) {
  for (const char* bad : {"http://h", "rediss:/u:topsecret@h", "redis://u:topsecret@h:99999",
                          "redis://u:topsecret@h:x/0", "redis://u:topsecret@/0", "redis://u:topsecret@h/db",
                          "redis://u:topsecret@h/0?x=1", "redis://topsecret@h", "redis://u:top%zzsecret@h"}) {
    try {
      RedisUrl::parse(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kConfig) << bad;
      EXPECT_FALSE(contains(e.what(), "topsecret")) << e.what();
    }
  }
}

TEST_F(RedisSinkTest, WrongPasswordIsAServerErrorThatDoesNotEchoIt) {
  client_.command({"CONFIG", "SET", "requirepass", "right-one"});
  RedisSinkConfig c = config();
  c.url = "redis://:wrong-one@127.0.0.1:" + std::to_string(redis_.port()) + "/0";
  RedisSink sink(c);
  try {
    sink.load_checkpoint();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kServer) << e.what();
    EXPECT_FALSE(contains(e.what(), "wrong-one")) << e.what();
  }
  c.url = "redis://:right-one@127.0.0.1:" + std::to_string(redis_.port()) + "/2";
  RedisSink ok(c);
  EXPECT_EQ(ok.load_checkpoint().snapshot, SnapshotState::kNone);
}

TEST(RedisSinkConfigTest, BadTemplatesAndColumnsAreConfigErrors) {
  RedisSinkConfig c;
  c.name = "cache";
  c.url = "redis://127.0.0.1:1/0";
  c.key = "{table:{pk}";
  EXPECT_THROW(RedisSink{c}, Error);
  c.key = "{table}:{pk}";
  c.url = "redis://u:pw@h:notaport";
  try {
    RedisSink s(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_TRUE(contains(e.what(), "cache"));
    EXPECT_FALSE(contains(e.what(), ":pw@"));
  }
}

TEST_F(RedisSinkTest, UnknownColumnInTemplateIsAConfigError) {
  RedisSinkConfig c = config();
  c.key = "{table}:{nope}";
  auto sink = started(c);
  try {
    sink->apply(batch({ins(users(), pos(0x200), {T("1"), T("a"), N, N})}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig) << e.what();
    EXPECT_TRUE(contains(e.what(), "nope")) << e.what();
  }
}

// ---- the JSON member scanner (json_members.h) -----------------------------------------

TEST(RedisSinkJsonMembersTest, SplitsAroundValuesWhateverTheyContain) {
  const std::string doc = R"({"a":"x\"}{","b":null,"c":{"d":[1,"]"]},"e":null})";
  JsonSplit split = split_json_at_values(doc, {R"("e")", R"("b")"});
  ASSERT_EQ(split.keys, (std::vector<std::string>{R"("b")", R"("e")"}));
  EXPECT_EQ(split.segments, (std::vector<std::string>{R"({"a":"x\"}{","b":)", R"(,"c":{"d":[1,"]"]},"e":)", "}"}));

  std::vector<std::string> keys;
  EXPECT_TRUE(for_each_json_member(R"( { "k" : [ {"x": "}"} ] , "l":1.5e3 } )", [&](std::string_view k, JsonSpan) {
    keys.emplace_back(k);
    return true;
  }));
  EXPECT_EQ(keys, (std::vector<std::string>{R"("k")", R"("l")"}));
  for (const char* bad : {"", "[]", "{", R"({"a")", R"({"a":)", R"({"a":"x})", R"({"a":[1})", R"({"a":1,})", R"({"a":1} x)"}) {
    EXPECT_FALSE(for_each_json_member(bad, [](std::string_view, JsonSpan) { return true; })) << bad;
  }
}

TEST(RedisSinkJsonMembersTest, SplicesStoredValuesBackIntoTheirSegments) {
  const std::string stored = R"({"a":"x\"}{","b":[1,{"c":"]"}],"n":12345678901234567890.5,"a":"dup"})";
  StoredSplice s = splice_stored_values(stored, {R"({"n":)", R"(,"z":1,"a":)", "}"}, {R"("n")", R"("a")"});
  ASSERT_TRUE(s.document);
  EXPECT_EQ(*s.document, R"({"n":12345678901234567890.5,"z":1,"a":"x\"}{"})");
  // A split and a splice are inverses.
  const std::string doc = R"({"id":1,"b":[1,{"c":"]"}],"a":"x\"}{"})";
  JsonSplit split = split_json_at_values(doc, {R"("a")", R"("b")"});
  EXPECT_EQ(splice_stored_values(doc, split.segments, split.keys).document, doc);

  s = splice_stored_values(R"({"a":1})", {"{", ",", "}"}, {R"("a")", R"("b")"});
  EXPECT_FALSE(s.document);
  EXPECT_FALSE(s.not_an_object);
  EXPECT_EQ(s.missing, R"("b")");
  for (const char* bad : {"", "[1]", R"({"a":)", "null"}) {
    s = splice_stored_values(bad, {"{", "}"}, {R"("a")"});
    EXPECT_TRUE(s.not_an_object && !s.document) << bad;
  }
  EXPECT_THROW(splice_stored_values("{}", {"{"}, {R"("a")"}), Error);
}

TEST(RedisSinkJsonMembersTest, IdentityIsUnambiguous) {
  std::string a, b;
  append_identity_part(a, "1:2");
  append_identity_part(b, "1");
  append_identity_part(b, "2");
  EXPECT_NE(a, b);
  EXPECT_EQ(a, "3:1:2");
}

}  // namespace
}  // namespace sluice
