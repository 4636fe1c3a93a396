// The sink conformance suite (sink_conformance.h): one parameterised test per
// promise of core/sink.h, run for every sink that holds documents.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/servers.h"
#include "harness/sphinx_server.h"
#include "integration/sink_conformance.h"
#include "kit/changes.h"
#include "sink/manticore/document_id.h"
#include "sink/manticore/index_definition.h"
#include "sink/manticore/manticore_sink.h"
#include "sink/manticore/sphinxql_connection.h"
#include "sink/redis/redis_config.h"
#include "sink/redis/redis_sink.h"
#include "source/postgres/pg_position.h"

namespace sluice::conformance {
namespace {

using namespace kit;

// ---- Redis ----------------------------------------------------------------------

class RedisBackend final : public ConformanceBackend {
 public:
  RedisBackend(DocumentFormat format, size_t script_max_ops) : client_(server_.port()) {
    config_.name = "conformance";
    config_.url = server_.url();
    config_.format = format;
    config_.script_max_ops = script_max_ops;
  }
  std::unique_ptr<Sink> make_sink() override { return std::make_unique<RedisSink>(config_); }
  std::optional<std::string> read(int id, const std::string& column) override {
    const std::string key = "users:" + std::to_string(id);
    if (config_.format == DocumentFormat::kHash) {
      if (client_.command({"EXISTS", key}).at(0) != "1") return std::nullopt;
      std::string text = client_.command({"HGET", key, column}).at(0).value_or("null");
      // A json(b) field holds PostgreSQL's text ({"a": 1}); compare it compactly.
      auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      return parsed.is_structured() ? parsed.dump() : text;
    }
    auto text = client_.get(key);
    if (!text) return std::nullopt;
    auto doc = nlohmann::json::parse(*text);
    const auto& value = doc.at(column);
    if (value.is_string()) return value.get<std::string>();
    return value.dump();
  }
  size_t count() override { return client_.keys("users:*").size(); }
  void empty_store() override { client_.command({"FLUSHALL"}); }

 private:
  test::RedisServer server_;
  test::RedisClient client_;
  RedisSinkConfig config_;
};

// ---- the search sink (Sphinx 2.2 searchd) ---------------------------------------

// public.users into index `users`: name is the full-text field and also a string
// attribute (so it reads back), payload a json attribute, note a string.
class SearchBackend final : public ConformanceBackend {
 public:
  SearchBackend()
      : server_({IndexDefinition("users", {"name"},
                                 {{"name", AttributeType::kString},
                                  {"payload", AttributeType::kJson},
                                  {"note", AttributeType::kString}})
                     .sphinx_conf_block("{dir}/users")}),
        client_(SphinxqlUrl::parse(server_.url()), {}, "conformance client") {
    config_.name = "conformance";
    config_.url = server_.url();
    config_.tables.push_back({"public.users", {"name"}, std::nullopt, std::nullopt});
  }
  std::unique_ptr<Sink> make_sink() override { return std::make_unique<ManticoreSink>(config_); }
  std::optional<std::string> read(int id, const std::string& column) override {
    auto result = client_.query("SELECT " + column + " FROM users WHERE id = " + std::to_string(id));
    if (result.rows.empty()) return std::nullopt;
    return result.rows.front().at(0).value_or("null");
  }
  size_t count() override {
    return client_
        .query("SELECT id FROM users WHERE id < " + std::to_string(kCheckpointDocumentId) +
               " LIMIT 100000 OPTION max_matches=100000")
        .rows.size();
  }
  void empty_store() override { client_.execute("TRUNCATE RTINDEX users"); }

 private:
  test::SphinxServer server_;
  SphinxqlConnection client_;
  ManticoreSinkConfig config_;
};

std::vector<BackendFactory> backends() {
  return {
      {"RedisJsonPlainCommands", [] { return std::make_unique<RedisBackend>(DocumentFormat::kJson, 0); }},
      {"RedisJsonScript", [] { return std::make_unique<RedisBackend>(DocumentFormat::kJson, 100000); }},
      {"RedisHashPlainCommands", [] { return std::make_unique<RedisBackend>(DocumentFormat::kHash, 0); }},
      {"RedisHashScript", [] { return std::make_unique<RedisBackend>(DocumentFormat::kHash, 100000); }},
      {"SearchIndex", [] { return std::make_unique<SearchBackend>(); }},
  };
}

// ---- the suite ------------------------------------------------------------------

void PrintTo(const BackendFactory& factory, std::ostream* out) { *out << factory.name; }

class SinkConformanceTest : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override { backend_ = GetParam().make(); }

  // A sink that follows "slot1" from 0/100, like a first start without snapshot.
  std::unique_ptr<Sink> started() {
    auto sink = backend_->make_sink();
    SnapshotTarget* target = sink->snapshot_target();
    EXPECT_NE(target, nullptr);
    target->start_without_snapshot("slot1", pg::position(pg::Lsn(0x100)));
    return sink;
  }
  // A new instance that has read the stored checkpoint (a restart).
  std::unique_ptr<Sink> restarted(SinkCheckpoint* checkpoint = nullptr) {
    auto sink = backend_->make_sink();
    SinkCheckpoint loaded = sink->load_checkpoint();
    if (checkpoint) *checkpoint = loaded;
    return sink;
  }
  std::string name_of(int id) { return backend_->read(id, "name").value_or("<no document>"); }

  RelationPtr rel_ = users();
  std::unique_ptr<ConformanceBackend> backend_;
};

TEST_P(SinkConformanceTest, AReplayedBatchChangesNothing) {
  auto sink = started();
  const Batch first = batch({ins(rel_, pos(0x200), {T("1"), T("a"), N, N})});
  sink->apply(first);
  sink->apply(batch({upd(rel_, pos(0x300), {T("1"), T("b"), N, N})}));
  sink->apply(first);  // the same instance
  EXPECT_EQ(name_of(1), "b");
  auto again = restarted();
  again->apply(first);  // after a restart
  EXPECT_EQ(name_of(1), "b");
  EXPECT_EQ(backend_->count(), 1u);
}

// An attempt that landed but whose answer was lost (a connection cut while the
// store committed): the sink still expects its checkpoint where it was, and the
// retry finds the batch's own checkpoint. Made here exactly by a second
// instance that read the checkpoint before the first applied the batch.
TEST_P(SinkConformanceTest, ABatchWhoseAnswerWasLostIsAppliedOnceOnRetry) {
  auto sink = started();
  sink->apply(batch({ins(rel_, pos(0x200), {T("1"), T("a"), N, N})}));
  auto unaware = restarted();
  const Batch landed = batch({upd(rel_, pos(0x300), {T("1"), T("b"), N, N}), ins(rel_, pos(0x300, 1), {T("2"), T("c"), N, N})});
  sink->apply(landed);
  EXPECT_NO_THROW(unaware->apply(landed));
  EXPECT_EQ(name_of(1), "b");
  EXPECT_EQ(name_of(2), "c");
  EXPECT_EQ(backend_->count(), 2u);
  // It goes on from there; a third writer's checkpoint is still refused.
  unaware->apply(batch({upd(rel_, pos(0x400), {T("2"), T("d"), N, N})}));
  EXPECT_EQ(name_of(2), "d");
  EXPECT_THROW(sink->apply(batch({upd(rel_, pos(0x500), {T("2"), T("e"), N, N})})), Error);
  EXPECT_EQ(name_of(2), "d");
}

TEST_P(SinkConformanceTest, NoKeyGoesBackwards) {
  auto sink = started();
  sink->apply(batch({ins(rel_, pos(0x200), {T("1"), T("new"), N, N})}));
  // Rows rewritten at an older version (a repair or a rebuild that read the row
  // before the change) are skipped by the per-row version guard.
  Batch older = Batch::of(BatchKind::kRepair, {ins(rel_, pos(0x150, 0), {T("1"), T("old"), N, N})});
  sink->apply(older);
  EXPECT_EQ(name_of(1), "new");
}

TEST_P(SinkConformanceTest, ALateReplayNeverResurrectsADeletedRow) {
  auto sink = started();
  const Batch insert = batch({ins(rel_, pos(0x200), {T("1"), T("a"), N, N})});
  sink->apply(insert);
  sink->apply(batch({del(rel_, pos(0x300), {T("1"), N, N, N})}));
  ASSERT_FALSE(backend_->read(1, "name"));
  sink->apply(insert);
  EXPECT_FALSE(backend_->read(1, "name"));
  restarted()->apply(insert);
  EXPECT_FALSE(backend_->read(1, "name"));
  EXPECT_EQ(backend_->count(), 0u);
}

TEST_P(SinkConformanceTest, APrimaryKeyChangeMovesTheDocument) {
  auto sink = started();
  sink->apply(batch({ins(rel_, pos(0x200), {T("1"), T("a"), N, N})}));
  sink->apply(batch({upd(rel_, pos(0x300), {T("2"), T("a"), N, N}, {T("1"), N, N, N})}));
  EXPECT_FALSE(backend_->read(1, "name"));
  EXPECT_EQ(name_of(2), "a");
  EXPECT_EQ(backend_->count(), 1u);
}

TEST_P(SinkConformanceTest, TruncateEmptiesTheTablesDocuments) {
  auto sink = started();
  sink->apply(batch({ins(rel_, pos(0x200, 1), {T("1"), T("a"), N, N}), ins(rel_, pos(0x200, 2), {T("2"), T("b"), N, N})}));
  ASSERT_EQ(backend_->count(), 2u);
  sink->apply(batch({trunc(rel_, pos(0x300))}));
  EXPECT_EQ(backend_->count(), 0u);
  sink->apply(batch({ins(rel_, pos(0x400), {T("3"), T("c"), N, N})}));
  EXPECT_EQ(name_of(3), "c");
}

TEST_P(SinkConformanceTest, AnUnchangedToastValueIsKept) {
  auto sink = started();
  sink->apply(batch({ins(rel_, pos(0x200), {T("1"), T("a"), T(R"({"big": "value"})"), N})}));
  sink->apply(batch({upd(rel_, pos(0x300), {T("1"), T("b"), U, N})}));
  EXPECT_EQ(name_of(1), "b");
  EXPECT_EQ(backend_->read(1, "payload"), R"({"big":"value"})");
}

TEST_P(SinkConformanceTest, TheStoredCheckpointAndTheDocumentsAgreeAfterARestart) {
  auto sink = started();
  sink->apply(batch({ins(rel_, pos(0x200), {T("1"), T("a"), N, N})}));
  sink->apply(batch({ins(rel_, pos(0x300, 1), {T("2"), T("b"), N, N}), upd(rel_, pos(0x300, 2), {T("1"), T("c"), N, N})}));
  sink.reset();  // a stop at a batch boundary: nothing held in memory survives
  SinkCheckpoint checkpoint;
  auto again = restarted(&checkpoint);
  ASSERT_TRUE(checkpoint.position);
  EXPECT_EQ(*checkpoint.position, pos(0x300, 2));
  EXPECT_EQ(checkpoint.slot, "slot1");
  EXPECT_EQ(name_of(1), "c");
  EXPECT_EQ(name_of(2), "b");
  // Going on from the checkpoint applies only what is newer.
  again->apply(batch({ins(rel_, pos(0x300, 1), {T("2"), T("stale"), N, N}), upd(rel_, pos(0x400), {T("2"), T("d"), N, N})}));
  EXPECT_EQ(name_of(2), "d");
}

TEST_P(SinkConformanceTest, AnEmptiedStoreIsAResetBeforeAnythingIsWritten) {
  auto sink = started();
  sink->apply(batch({ins(rel_, pos(0x200), {T("1"), T("a"), N, N})}));
  backend_->empty_store();
  EXPECT_THROW(sink->apply(batch({ins(rel_, pos(0x300), {T("2"), T("b"), N, N})})), SinkWasReset);
  EXPECT_EQ(backend_->count(), 0u);
  EXPECT_FALSE(backend_->read(2, "name"));
}

INSTANTIATE_TEST_SUITE_P(Sinks, SinkConformanceTest, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<BackendFactory>& info) { return info.param.name; });

}  // namespace
}  // namespace sluice::conformance
