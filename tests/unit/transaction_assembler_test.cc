#include <gtest/gtest.h>

#include "core/error.h"
#include "source/postgres/pg_position.h"
#include "source/postgres/transaction_assembler.h"

namespace sluice::pg {
namespace {

RelationPtr relation() {
  auto r = std::make_shared<Relation>();
  r->source_id = 1;
  r->schema = "public";
  r->name = "t";
  r->columns = {Column{"id", 23, -1, true, true, nullptr}, Column{"body", 25, -1, false, false, nullptr}};
  return r;
}

class AssemblerTest : public ::testing::Test {
 protected:
  std::vector<QueueItem> items;
  TransactionAssembler assembler{[this](QueueItem item) { items.push_back(std::move(item)); }};
  RelationPtr rel = relation();

  void begin(uint64_t lsn) { assembler.consume(BeginMessage{Lsn(lsn), {}, 7}); }
  void commit(uint64_t lsn, uint64_t end) { assembler.consume(CommitMessage{0, Lsn(lsn), Lsn(end), {}}); }
  void insert(const std::string& id) { assembler.consume(InsertMessage{{}, rel, {Value::of(id), Value::of("x")}}); }
  const Change& change(size_t i) { return *std::get<ChangePtr>(items.at(i)); }
};

TEST_F(AssemblerTest, ChangesGetCommitLsnAndIndexFromOne) {
  begin(0x500);
  insert("1");
  insert("2");
  commit(0x500, 0x520);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(change(0).position, (position(Lsn(0x500), 1)));
  EXPECT_EQ(change(1).position, (position(Lsn(0x500), 2)));
  EXPECT_EQ(change(0).xid, 7u);
  EXPECT_EQ(std::get<TransactionEnd>(items[2]).end, position(Lsn(0x520)));
}

TEST_F(AssemblerTest, ReplayAfterReconnectIsDropped) {
  begin(0x500);
  insert("1");
  insert("2");
  assembler.reset_transaction();  // connection lost mid-transaction
  begin(0x500);
  insert("1");
  insert("2");
  insert("3");
  commit(0x500, 0x520);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(change(2).position, (position(Lsn(0x500), 3)));
}

TEST_F(AssemblerTest, ChangeOutsideTransactionIsAProtocolError) {
  try {
    insert("1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kProtocol);
  }
}

TEST_F(AssemblerTest, NestedBeginIsAProtocolError) {
  begin(0x500);
  EXPECT_THROW(begin(0x600), Error);
}

TEST_F(AssemblerTest, CommitLsnMismatchIsAProtocolError) {
  begin(0x500);
  EXPECT_THROW(commit(0x501, 0x520), Error);
}

TEST_F(AssemblerTest, TruncateOfSeveralTablesGivesOneChangeEach) {
  begin(0x500);
  assembler.consume(TruncateMessage{{}, false, false, {rel, rel}});
  commit(0x500, 0x520);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(change(0).op, Op::kTruncate);
  EXPECT_EQ(index_of(change(1).position), 2u);
}

TEST_F(AssemblerTest, UnchangedToastIsFilledFromFullOldRow) {
  begin(0x500);
  UpdateMessage update{{}, rel, 'O', {Value::of("1"), Value::of("big")}, {Value::of("1"), Value::unchanged_toast()}};
  assembler.consume(update);
  EXPECT_EQ(change(0).new_values[1], Value::of("big"));
}

TEST_F(AssemblerTest, UnchangedToastStaysMarkedWithoutOldRow) {
  begin(0x500);
  UpdateMessage update{{}, rel, 0, {}, {Value::of("1"), Value::unchanged_toast()}};
  assembler.consume(update);
  EXPECT_TRUE(change(0).new_values[1].is_unchanged_toast());
}

TEST_F(AssemblerTest, StreamedTransactionMessagesAreRejected) {
  EXPECT_THROW(assembler.consume(StreamStartMessage{9, true}), Error);
}

}  // namespace
}  // namespace sluice::pg
