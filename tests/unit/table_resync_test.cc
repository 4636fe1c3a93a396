// The source thread's side of a table re-sync (source/postgres/table_resync.h):
// marks, the window between low and high, the visibility race, and the
// requests of `sluice resync`. No servers: the tracker only sees messages.
#include "source/postgres/table_resync.h"

#include <gtest/gtest.h>

#include "source/postgres/pg_position.h"

namespace sluice::pg {
namespace {

constexpr uint64_t kPass = (7ULL << 32) | 1;
constexpr uint64_t kAttempt = (7ULL << 32) | 2;

RelationPtr users() {
  auto relation = std::make_shared<Relation>();
  relation->source_id = 42;
  relation->schema = "public";
  relation->name = "users";
  relation->columns = {Column{"name", 25, -1, false, false, nullptr}, Column{"id", 23, -1, true, true, nullptr}};
  relation->primary_key = {1};
  return relation;
}

std::vector<Value> row(const std::string& name, const std::string& id) { return {Value::of(name), Value::of(id)}; }

LogicalMessage mark(Watermark::Kind kind, uint64_t attempt = 0, std::string table = "", std::string shape = "") {
  LogicalMessage m;
  m.transactional = true;
  m.prefix = kResyncPrefix;
  m.content = format_watermark(Watermark{"slot", kPass, kind, attempt, std::move(table), std::move(shape)});
  return m;
}

class ResyncTrackerTest : public ::testing::Test {
 protected:
  ResyncTrackerTest() : tracker("slot", channel, telemetry) {
    channel.expect(kPass);
    channel.expect(kAttempt);
  }

  bool deliver(const LogicalMessage& message, uint64_t lsn) {
    return tracker.on_message(
        message, Lsn(lsn),
        [&](const RelationPtr&, std::vector<Value> values) { emitted.push_back(values[1].text); },
        [&](TableResync m) { marks.push_back(std::move(m)); });
  }

  void offer(std::vector<std::string> ids, std::vector<uint32_t> in_progress = {}) {
    ResyncChunk chunk;
    chunk.relation = users();
    for (const auto& id : ids) chunk.rows.push_back(row("n" + id, id));
    chunk.in_progress = std::move(in_progress);
    channel.offer(kAttempt, std::move(chunk));
  }

  Change update_of(const std::string& id) {
    Change change;
    change.op = Op::kUpdate;
    change.relation = users();
    change.new_values = row("changed", id);
    return change;
  }

  Telemetry telemetry;
  ResyncChannel channel;
  ResyncTracker tracker;
  std::vector<std::string> emitted;
  std::vector<TableResync> marks;
};

TEST(WatermarkTest, FormatsAndParsesBack) {
  Watermark mark{"my_slot", 123, Watermark::Kind::kEnd, 0, "public.t", "v1-00ff"};
  EXPECT_EQ(parse_watermark(format_watermark(mark)), mark);
  EXPECT_EQ(parse_watermark(""), std::nullopt);
  EXPECT_EQ(parse_watermark("slot\tx\tlow\t1\t\t"), std::nullopt);
  EXPECT_EQ(parse_watermark("slot\t1\tsideways\t1\t\t"), std::nullopt);
  EXPECT_EQ(parse_watermark("slot\t1\tlow\t1\t"), std::nullopt);
  auto request = parse_resync_request(format_resync_request("s", "public.t"));
  ASSERT_TRUE(request);
  EXPECT_EQ(request->first, "s");
  EXPECT_EQ(request->second, "public.t");
  EXPECT_EQ(parse_resync_request("s"), std::nullopt);
}

TEST_F(ResyncTrackerTest, RowsChangedBetweenLowAndHighAreLeftToTheStream) {
  EXPECT_TRUE(deliver(mark(Watermark::Kind::kBegin, 0, "public.users"), 100));
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].phase, TableResync::Phase::kStart);
  EXPECT_TRUE(deliver(mark(Watermark::Kind::kLow, kAttempt), 200));
  tracker.on_change(update_of("2"));
  offer({"1", "2", "3"});
  EXPECT_TRUE(deliver(mark(Watermark::Kind::kHigh, kAttempt), 300));
  EXPECT_EQ(emitted, (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(channel.wait(kAttempt, std::chrono::milliseconds(0)), ResyncChannel::Outcome::kEmitted);

  EXPECT_TRUE(deliver(mark(Watermark::Kind::kEnd, 0, "public.users", "v1-shape"), 400));
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(marks[1].phase, TableResync::Phase::kFinish);
  EXPECT_EQ(marks[1].table, "public.users");
  EXPECT_EQ(marks[1].shape, "v1-shape");
  EXPECT_EQ(marks[1].since, (position(Lsn(100), 0)));
}

TEST_F(ResyncTrackerTest, ACommitBeforeLowThatTheReadDidNotSeeThrowsTheChunkAway) {
  deliver(mark(Watermark::Kind::kBegin, 0, "public.users"), 100);
  tracker.on_begin(777, Lsn(150));  // commits before low...
  deliver(mark(Watermark::Kind::kLow, kAttempt), 200);
  offer({"1"}, {777});  // ...but was in progress for the read
  deliver(mark(Watermark::Kind::kHigh, kAttempt), 300);
  EXPECT_TRUE(emitted.empty());
  EXPECT_EQ(channel.wait(kAttempt, std::chrono::milliseconds(0)), ResyncChannel::Outcome::kAborted);
}

TEST_F(ResyncTrackerTest, ATransactionInProgressThatCommitsAfterLowIsNoRace) {
  deliver(mark(Watermark::Kind::kBegin, 0, "public.users"), 100);
  deliver(mark(Watermark::Kind::kLow, kAttempt), 200);
  tracker.on_begin(777, Lsn(250));
  offer({"1"}, {777});
  deliver(mark(Watermark::Kind::kHigh, kAttempt), 300);
  EXPECT_EQ(emitted, (std::vector<std::string>{"1"}));
}

TEST_F(ResyncTrackerTest, TruncateInTheWindowThrowsTheChunkAway) {
  deliver(mark(Watermark::Kind::kBegin, 0, "public.users"), 100);
  deliver(mark(Watermark::Kind::kLow, kAttempt), 200);
  Change truncate;
  truncate.op = Op::kTruncate;
  truncate.relation = users();
  tracker.on_change(truncate);
  offer({"1"});
  deliver(mark(Watermark::Kind::kHigh, kAttempt), 300);
  EXPECT_TRUE(emitted.empty());
  EXPECT_EQ(channel.wait(kAttempt, std::chrono::milliseconds(0)), ResyncChannel::Outcome::kAborted);
}

TEST_F(ResyncTrackerTest, MarksOfAnotherRunOrSlotAreIgnored) {
  LogicalMessage other = mark(Watermark::Kind::kBegin, 0, "public.users");
  other.content = format_watermark(Watermark{"slot", 99, Watermark::Kind::kBegin, 0, "public.users", ""});
  EXPECT_TRUE(deliver(other, 100));  // a pass this process never started
  other.content = format_watermark(Watermark{"other_slot", kPass, Watermark::Kind::kBegin, 0, "public.users", ""});
  EXPECT_TRUE(deliver(other, 100));
  EXPECT_TRUE(marks.empty());
  LogicalMessage heartbeat;
  heartbeat.prefix = "sluice.heartbeat";
  EXPECT_FALSE(deliver(heartbeat, 100));
}

TEST_F(ResyncTrackerTest, AReconnectAbortsTheChunkInFlight) {
  deliver(mark(Watermark::Kind::kBegin, 0, "public.users"), 100);
  deliver(mark(Watermark::Kind::kLow, kAttempt), 200);
  offer({"1"});
  tracker.on_disconnect();
  EXPECT_EQ(channel.wait(kAttempt, std::chrono::milliseconds(0)), ResyncChannel::Outcome::kAborted);
  deliver(mark(Watermark::Kind::kHigh, kAttempt), 300);  // replayed after the reconnect
  EXPECT_TRUE(emitted.empty());
}

// Low went by before a reconnect; the stream resumed after it: the chunk
// cannot be placed and is read again (the worker must not wait forever).
TEST_F(ResyncTrackerTest, HighWithoutItsLowInThisSessionAbortsTheChunk) {
  deliver(mark(Watermark::Kind::kBegin, 0, "public.users"), 100);
  deliver(mark(Watermark::Kind::kLow, kAttempt), 200);
  tracker.on_disconnect();
  offer({"1"});
  deliver(mark(Watermark::Kind::kHigh, kAttempt), 300);
  EXPECT_TRUE(emitted.empty());
  EXPECT_EQ(channel.wait(kAttempt, std::chrono::milliseconds(0)), ResyncChannel::Outcome::kAborted);
}

TEST(ResyncChannelTest, ARequestDuringAPassIsTakenOnceByTheRestart) {
  ResyncChannel channel;
  channel.request("public.users");
  ASSERT_EQ(channel.next_request(std::chrono::milliseconds(0)), std::optional<std::string>("public.users"));
  EXPECT_FALSE(channel.asked_again("public.users"));
  channel.request("public.users");  // e.g. a request replayed from the log
  EXPECT_TRUE(channel.asked_again("public.users"));
  EXPECT_FALSE(channel.asked_again("public.users"));  // the restart took it
  EXPECT_EQ(channel.next_request(std::chrono::milliseconds(0)), std::nullopt);
}

TEST_F(ResyncTrackerTest, RequestOfSluiceResyncIsRecordedAndQueued) {
  LogicalMessage request;
  request.transactional = true;
  request.prefix = kResyncRequestPrefix;
  request.content = format_resync_request("slot", "public.users");
  EXPECT_TRUE(deliver(request, 100));
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].phase, TableResync::Phase::kStart);
  EXPECT_EQ(channel.next_request(std::chrono::milliseconds(0)), std::optional<std::string>("public.users"));
  request.content = format_resync_request("other_slot", "public.users");
  deliver(request, 200);
  EXPECT_EQ(marks.size(), 1u);
}

}  // namespace
}  // namespace sluice::pg
