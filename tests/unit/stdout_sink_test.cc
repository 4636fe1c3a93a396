#include "sink/stdout/stdout_sink.h"
#include "source/postgres/pg_position.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "core/error.h"
#include "source/postgres/pg_builtin_types.h"

namespace sluice {
namespace {

RelationPtr users() {
  auto relation = std::make_shared<Relation>();
  relation->schema = "public";
  relation->name = "users";
  relation->columns = {{"id", 23, -1, true, true, pg::builtin_type(23)},
                       {"name", 25, -1, false, false, pg::builtin_type(25)},
                       {"tags", 1009, -1, false, false, pg::builtin_type(1009)}};
  return relation;
}

ChangePtr change(Op op, std::vector<Value> old_values, std::vector<Value> new_values) {
  auto c = std::make_shared<Change>();
  c->op = op;
  c->relation = users();
  c->position = pg::position(pg::Lsn(0x16B3748), 2);
  c->xid = 731;
  c->commit_time = std::chrono::system_clock::time_point(std::chrono::microseconds(1796205600123456));
  c->old_values = std::move(old_values);
  c->new_values = std::move(new_values);
  return c;
}

TEST(StdoutSinkTest, AChangeIsOneJsonLineWithPositionAndRows) {
  auto line = StdoutSink::line_of(*change(Op::kUpdate, {Value::of("1"), Value::null(), Value::null()},
                                          {Value::of("1"), Value::of("Ada \"L\""), Value::unchanged_toast()}),
                                  false);
  EXPECT_EQ(line,
            "{\"op\":\"update\",\"table\":\"public.users\",\"pos\":\"0/16B3748#2\",\"lsn\":\"0/16B3748\",\"xid\":731,"
            "\"commit_time\":\"2026-12-02T10:00:00.123456Z\",\"old\":{\"id\":1,\"name\":null,\"tags\":null},"
            "\"new\":{\"id\":1,\"name\":\"Ada \\\"L\\\"\"},\"unchanged_toast\":[\"tags\"]}\n");
}

TEST(StdoutSinkTest, SnapshotRowsSayWhatTheyAre) {
  auto line = StdoutSink::line_of(*change(Op::kInsert, {}, {Value::of("7"), Value::of("x"), Value::of("{a,b}")}), true);
  EXPECT_EQ(line, "{\"op\":\"snapshot\",\"table\":\"public.users\",\"new\":{\"id\":7,\"name\":\"x\",\"tags\":[\"a\",\"b\"]}}\n");
}

TEST(StdoutSinkTest, AValueThatCannotBeRenderedIsPrintedAsTextWithTheReason) {
  auto line = StdoutSink::line_of(*change(Op::kInsert, {}, {Value::of("7"), Value::of("x"), Value::of("{unclosed")}),
                                  false);
  EXPECT_NE(line.find("\"new_text\":{\"id\":\"7\",\"name\":\"x\",\"tags\":\"{unclosed\"}"), std::string::npos) << line;
  EXPECT_NE(line.find("\"error\":\""), std::string::npos) << line;
  EXPECT_NE(line.find("users.tags"), std::string::npos) << line;
  EXPECT_EQ(line.find("\"new\":"), std::string::npos) << line;
}

TEST(StdoutSinkTest, ABatchIsWrittenAndAFailedWriteIsAnError) {
  const std::string config = "debug";
  char* text = nullptr;
  size_t size = 0;
  std::FILE* memory = open_memstream(&text, &size);
  {
    StdoutSink sink(config, memory);
    Batch batch = Batch::stream({change(Op::kDelete, {Value::of("3"), Value::null(), Value::null()}, {})});
    sink.apply(batch);
    std::fflush(memory);
    EXPECT_EQ(std::string(text, size).substr(0, 16), "{\"op\":\"delete\",\"");
    EXPECT_FALSE(sink.keeps_state());
  }
  std::fclose(memory);
  std::free(text);

  std::FILE* full = std::fopen("/dev/full", "w");
  ASSERT_NE(full, nullptr);
  StdoutSink sink(config, full);
  Batch batch = Batch::stream({change(Op::kDelete, {Value::of("3"), Value::null(), Value::null()}, {})});
  try {
    sink.apply(batch);
    FAIL() << "expected Error::state";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState);
    EXPECT_NE(std::string(e.what()).find("sink 'debug': cannot write to standard output: No space left"),
              std::string::npos)
        << e.what();
  }
  std::fclose(full);
}

}  // namespace
}  // namespace sluice
