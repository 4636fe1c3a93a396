// Unit tests for the pgoutput decoder. Byte sequences are built field by field after
// https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
#include "source/postgres/pgoutput_decoder.h"

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <limits>
#include <random>
#include <ratio>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "unit/wire_bytes.h"

namespace sluice::pg {
namespace {

using namespace std::chrono_literals;

// --- Test-only builder for wire bytes ----------------------------------------------

using test::Bytes;

// --- Message builders ----------------------------------------------------------------

constexpr uint32_t kUsers = 16384;   // public.users (id int4 key, name text, bio text)
constexpr uint32_t kOrders = 16390;  // shop.orders (id int8 key)
constexpr uint32_t kInt4 = 23, kInt8 = 20, kText = 25, kVarchar = 1043;
constexpr int64_t kTime = 767880000123456;  // 2024-05-01 12:00:00.123456 UTC
constexpr uint32_t kXid = 745;

struct ColumnSpec {
  uint8_t flags;
  std::string name;
  uint32_t type;
  int32_t typmod;
};

// `xid` is written only when set (protocol 2 inside a streamed block).
Bytes relationMessage(uint32_t oid, std::string_view schema, std::string_view name, char identity,
                      const std::vector<ColumnSpec>& columns, std::optional<uint32_t> xid = {}) {
  Bytes b;
  b.put1('R');
  if (xid) b.put4(*xid);
  b.put4(oid).putString(schema).putString(name).put1(static_cast<uint8_t>(identity));
  b.put2(static_cast<uint16_t>(columns.size()));
  for (const auto& c : columns) {
    b.put1(c.flags).putString(c.name).put4(c.type).put4(static_cast<uint32_t>(c.typmod));
  }
  return b;
}

Bytes usersRelation(std::optional<uint32_t> xid = {}) {
  return relationMessage(kUsers, "public", "users", 'd',
                         {{1, "id", kInt4, -1}, {0, "name", kVarchar, 68}, {0, "bio", kText, -1}},
                         xid);
}

Bytes ordersRelation(std::optional<uint32_t> xid = {}) {
  return relationMessage(kOrders, "shop", "orders", 'f', {{1, "id", kInt8, -1}}, xid);
}

// Type byte, optional xid, relation OID: the common head of I/U/D.
Bytes head(char type, uint32_t oid, std::optional<uint32_t> xid) {
  Bytes b;
  b.put1(static_cast<uint8_t>(type));
  if (xid) b.put4(*xid);
  return b.put4(oid);
}

Bytes usersRow(std::string_view id, std::string_view name) {
  return Bytes().put2(3).putText(id).putText(name).putToast();
}

Bytes insertMessage(std::optional<uint32_t> xid = {}) {
  return head('I', kUsers, xid).put1('N').putBytes(usersRow("1", "alice"));
}

Bytes updateMessage(std::optional<uint32_t> xid = {}) {
  return head('U', kUsers, xid)
      .put1('K')
      .putBytes(Bytes().put2(3).putText("1").putNull().putNull())
      .put1('N')
      .putBytes(usersRow("2", "bob"));
}

Bytes deleteMessage(std::optional<uint32_t> xid = {}) {
  return head('D', kUsers, xid)
      .put1('K')
      .putBytes(Bytes().put2(3).putText("1").putNull().putNull());
}

Bytes truncateMessage(std::optional<uint32_t> xid = {}) {
  Bytes b;
  b.put1('T');
  if (xid) b.put4(*xid);
  return b.put4(2).put1(3).put4(kUsers).put4(kOrders);
}

Bytes typeMessage(std::optional<uint32_t> xid = {}) {
  Bytes b;
  b.put1('Y');
  if (xid) b.put4(*xid);
  return b.put4(16400).putString("public").putString("mood");
}

Bytes logicalMessage(std::optional<uint32_t> xid = {}) {
  Bytes b;
  b.put1('M');
  if (xid) b.put4(*xid);
  return b.put1(1).put8(0x1A2B3C8).putString("sluice").put4(5).putRaw(
      std::string_view("he\0lo", 5));
}

Bytes beginMessage() { return Bytes().put1('B').put8(0x1A2B3C8).put8(kTime).put4(kXid); }
Bytes commitMessage() {
  return Bytes().put1('C').put1(0).put8(0x1A2B3C8).put8(0x1A2B3F8).put8(kTime);
}
Bytes originMessage() { return Bytes().put1('O').put8(0x5000).putString("upstream"); }
Bytes streamStart(uint32_t xid = kXid, uint8_t first = 1) {
  return Bytes().put1('S').put4(xid).put1(first);
}
Bytes streamStop() { return Bytes().put1('E'); }
Bytes streamCommit() {
  return Bytes().put1('c').put4(kXid).put1(0).put8(0x1A2B3C8).put8(0x1A2B3F8).put8(kTime);
}
Bytes streamAbort() { return Bytes().put1('A').put4(kXid).put4(kXid + 3); }

// --- Helpers --------------------------------------------------------------------------

template <typename T>
T decodeAs(PgOutputDecoder& decoder, const Bytes& bytes) {
  Message m = decoder.decode(bytes.span());
  EXPECT_TRUE(std::holds_alternative<T>(m)) << "decoded variant index " << m.index();
  if (!std::holds_alternative<T>(m)) throw std::runtime_error("wrong message type");
  return std::get<T>(std::move(m));
}

// The error decode() throws; fails the test if it throws nothing or something else.
Error decodeError(PgOutputDecoder& decoder, std::span<const uint8_t> bytes) {
  try {
    decoder.decode(bytes);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "decode did not throw sluice::Error";
  return Error::internal("nothing thrown");
}

void expectProtocolError(PgOutputDecoder& decoder, const Bytes& bytes, std::string_view needle) {
  Error e = decodeError(decoder, bytes.span());
  EXPECT_EQ(e.kind(), ErrorKind::kProtocol) << e.what();
  EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
      << "message: " << e.what() << "\nexpected to contain: " << needle;
}

PgOutputDecoder withUsersAndOrders(int protocol = 1) {
  PgOutputDecoder d(protocol);
  d.decode(usersRelation().span());
  d.decode(ordersRelation().span());
  return d;
}

std::vector<Value> usersValues(std::string id, std::string name) {
  return {Value::of(std::move(id)), Value::of(std::move(name)), Value::unchanged_toast()};
}

// --- Transaction framing ----------------------------------------------------------------

TEST(PgOutputDecoderTest, DecodesBegin) {
  PgOutputDecoder d;
  auto m = decodeAs<BeginMessage>(d, beginMessage());
  EXPECT_EQ(m.final_lsn, Lsn(0x1A2B3C8));
  EXPECT_EQ(to_pg_timestamp(m.commit_time), kTime);
  EXPECT_EQ(m.xid, kXid);
}

TEST(PgOutputDecoderTest, DecodesCommit) {
  PgOutputDecoder d;
  auto m = decodeAs<CommitMessage>(d, commitMessage());
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.commit_lsn, Lsn(0x1A2B3C8));
  EXPECT_EQ(m.end_lsn, Lsn(0x1A2B3F8));
  EXPECT_EQ(to_pg_timestamp(m.commit_time), kTime);
}

TEST(PgOutputDecoderTest, DecodesOrigin) {
  PgOutputDecoder d;
  auto m = decodeAs<OriginMessage>(d, originMessage());
  EXPECT_EQ(m.commit_lsn, Lsn(0x5000));
  EXPECT_EQ(m.name, "upstream");
}

// --- Relation and Type ------------------------------------------------------------------

TEST(PgOutputDecoderTest, DecodesRelationAndRemembersIt) {
  PgOutputDecoder d;
  auto m = decodeAs<RelationMessage>(d, usersRelation());
  EXPECT_FALSE(m.xid.has_value());
  ASSERT_NE(m.relation, nullptr);
  const Relation& r = *m.relation;
  EXPECT_EQ(r.source_id, kUsers);
  EXPECT_EQ(r.schema, "public");
  EXPECT_EQ(r.name, "users");
  EXPECT_EQ(r.old_row, OldRow::kIdentity);
  ASSERT_EQ(r.columns.size(), 3u);
  EXPECT_EQ(r.columns[0].name, "id");
  EXPECT_TRUE(r.columns[0].in_identity);
  EXPECT_EQ(r.columns[0].source_type_id, kInt4);
  EXPECT_EQ(r.columns[0].source_type_modifier, -1);
  EXPECT_EQ(r.columns[1].name, "name");
  EXPECT_FALSE(r.columns[1].in_identity);
  EXPECT_EQ(r.columns[1].source_type_id, kVarchar);
  EXPECT_EQ(r.columns[1].source_type_modifier, 68);  // varchar(64): typmod is length + 4
  EXPECT_FALSE(r.columns[1].in_primary_key);  // the catalog's business, not the wire's
  EXPECT_EQ(d.relation(kUsers), m.relation);
  EXPECT_EQ(d.relation(kOrders), nullptr);
}

TEST(PgOutputDecoderTest, DecodesEveryReplicaIdentitySetting) {
  const std::pair<char, OldRow> settings[] = {
      {'d', OldRow::kIdentity}, {'n', OldRow::kNone}, {'f', OldRow::kComplete}, {'i', OldRow::kIdentity}};
  for (auto [identity, old_row] : settings) {
    PgOutputDecoder d;
    auto m = decodeAs<RelationMessage>(d, relationMessage(1, "s", "t", identity, {}));
    EXPECT_EQ(m.relation->old_row, old_row) << identity;
    EXPECT_TRUE(m.relation->columns.empty());
  }
}

TEST(PgOutputDecoderTest, EmptyNamespaceMeansPgCatalog) {
  PgOutputDecoder d;
  auto rel = decodeAs<RelationMessage>(d, relationMessage(1259, "", "pg_class", 'n', {}));
  EXPECT_EQ(rel.relation->schema, "pg_catalog");
  EXPECT_EQ(rel.relation->qualified_name(), "pg_catalog.pg_class");
  auto type = decodeAs<TypeMessage>(d, Bytes().put1('Y').put4(16).putString("").putString("bool"));
  EXPECT_EQ(type.schema, "pg_catalog");
}

TEST(PgOutputDecoderTest, DecodesType) {
  PgOutputDecoder d;
  auto m = decodeAs<TypeMessage>(d, typeMessage());
  EXPECT_FALSE(m.xid.has_value());
  EXPECT_EQ(m.oid, 16400u);
  EXPECT_EQ(m.schema, "public");
  EXPECT_EQ(m.name, "mood");
}

TEST(PgOutputDecoderTest, NewRelationMessageReplacesShapeAfterAlterTable) {
  PgOutputDecoder d = withUsersAndOrders();
  auto before = decodeAs<InsertMessage>(d, insertMessage());

  // ALTER TABLE users ADD COLUMN age int4: the server sends the relation again.
  auto altered = relationMessage(kUsers, "public", "users", 'd',
                                 {{1, "id", kInt4, -1},
                                  {0, "name", kVarchar, 68},
                                  {0, "bio", kText, -1},
                                  {0, "age", kInt4, -1}});
  auto rel = decodeAs<RelationMessage>(d, altered);
  EXPECT_EQ(d.relation(kUsers), rel.relation);
  ASSERT_EQ(rel.relation->columns.size(), 4u);
  EXPECT_EQ(rel.relation->columns[3].name, "age");

  auto after = decodeAs<InsertMessage>(
      d,
      head('I', kUsers, {}).put1('N').put2(4).putText("2").putText("bob").putNull().putText("42"));
  EXPECT_EQ(after.relation, rel.relation);
  EXPECT_EQ(after.new_values.back(), Value::of("42"));
  // Changes decoded earlier keep the shape they were decoded against.
  EXPECT_EQ(before.relation->columns.size(), 3u);
  // And a tuple of the old shape no longer fits.
  expectProtocolError(d, insertMessage(), "tuple has 3 columns but relation public.users");
}

TEST(PgOutputDecoderTest, ReplaceRelationStoresEnrichedCopy) {
  PgOutputDecoder d = withUsersAndOrders();
  auto enriched = std::make_shared<Relation>(*d.relation(kUsers));
  enriched->columns[0].in_primary_key = true;
  d.replace_relation(enriched);
  EXPECT_EQ(d.relation(kUsers), enriched);
  auto m = decodeAs<InsertMessage>(d, insertMessage());
  EXPECT_EQ(m.relation, enriched);
}

TEST(PgOutputDecoderTest, ReplaceRelationRejectsUnknownNullOrReshapedRelations) {
  PgOutputDecoder d = withUsersAndOrders();
  auto unknown = std::make_shared<Relation>();
  unknown->source_id = 99;
  EXPECT_THROW(d.replace_relation(unknown), Error);
  EXPECT_THROW(d.replace_relation(nullptr), Error);
  auto reshaped = std::make_shared<Relation>(*d.relation(kUsers));
  reshaped->columns.pop_back();
  EXPECT_THROW(d.replace_relation(reshaped), Error);
  EXPECT_EQ(d.relation(kUsers)->columns.size(), 3u);
}

// --- Row changes --------------------------------------------------------------------------

TEST(PgOutputDecoderTest, DecodesInsertWithTextNullAndUnchangedToastValues) {
  PgOutputDecoder d = withUsersAndOrders();
  auto m = decodeAs<InsertMessage>(
      d, head('I', kUsers, {}).put1('N').put2(3).putText("7").putNull().putToast());
  EXPECT_FALSE(m.xid.has_value());
  EXPECT_EQ(m.relation, d.relation(kUsers));
  ASSERT_EQ(m.new_values.size(), 3u);
  EXPECT_EQ(m.new_values[0], Value::of("7"));
  EXPECT_TRUE(m.new_values[1].is_null());
  EXPECT_TRUE(m.new_values[2].is_unchanged_toast());
}

TEST(PgOutputDecoderTest, TextValuesKeepEveryByteIncludingEmptyAndUtf8) {
  PgOutputDecoder d = withUsersAndOrders();
  auto m = decodeAs<InsertMessage>(
      d, head('I', kUsers, {}).put1('N').put2(3).putText("").putText("Zoë ☃").putText("a\nb\tc"));
  EXPECT_EQ(m.new_values[0], Value::of(""));  // empty text is not null
  EXPECT_EQ(m.new_values[1], Value::of("Zoë ☃"));
  EXPECT_EQ(m.new_values[2], Value::of("a\nb\tc"));
}

TEST(PgOutputDecoderTest, DecodesUpdateWithoutOldTuple) {
  PgOutputDecoder d = withUsersAndOrders();
  auto m =
      decodeAs<UpdateMessage>(d, head('U', kUsers, {}).put1('N').putBytes(usersRow("1", "al")));
  EXPECT_EQ(m.old_kind, 0);
  EXPECT_TRUE(m.old_values.empty());
  EXPECT_EQ(m.new_values, usersValues("1", "al"));
}

TEST(PgOutputDecoderTest, DecodesUpdateWithOldKey) {
  PgOutputDecoder d = withUsersAndOrders();
  auto m = decodeAs<UpdateMessage>(d, updateMessage());
  EXPECT_EQ(m.old_kind, 'K');
  EXPECT_EQ(m.old_values, (std::vector<Value>{Value::of("1"), Value::null(), Value::null()}));
  EXPECT_EQ(m.new_values, usersValues("2", "bob"));
}

TEST(PgOutputDecoderTest, DecodesUpdateWithOldRow) {
  PgOutputDecoder d = withUsersAndOrders();
  auto m = decodeAs<UpdateMessage>(
      d, head('U', kOrders, {}).put1('O').put2(1).putText("10").put1('N').put2(1).putText("11"));
  EXPECT_EQ(m.relation, d.relation(kOrders));
  EXPECT_EQ(m.old_kind, 'O');
  EXPECT_EQ(m.old_values, std::vector<Value>{Value::of("10")});
  EXPECT_EQ(m.new_values, std::vector<Value>{Value::of("11")});
}

TEST(PgOutputDecoderTest, DecodesDeleteWithOldKey) {
  PgOutputDecoder d = withUsersAndOrders();
  auto m = decodeAs<DeleteMessage>(d, deleteMessage());
  EXPECT_EQ(m.relation, d.relation(kUsers));
  EXPECT_EQ(m.old_kind, 'K');
  EXPECT_EQ(m.old_values, (std::vector<Value>{Value::of("1"), Value::null(), Value::null()}));
}

TEST(PgOutputDecoderTest, DecodesDeleteWithOldRow) {
  PgOutputDecoder d = withUsersAndOrders();
  auto m =
      decodeAs<DeleteMessage>(d, head('D', kUsers, {}).put1('O').putBytes(usersRow("3", "cy")));
  EXPECT_EQ(m.old_kind, 'O');
  EXPECT_EQ(m.old_values, usersValues("3", "cy"));
}

TEST(PgOutputDecoderTest, DecodesTruncateOfSeveralRelationsWithEachOption) {
  struct Case {
    uint8_t options;
    bool cascade, restart_identity;
  };
  for (Case c :
       {Case{0, false, false}, Case{1, true, false}, Case{2, false, true}, Case{3, true, true}}) {
    PgOutputDecoder d = withUsersAndOrders();
    auto m = decodeAs<TruncateMessage>(
        d, Bytes().put1('T').put4(2).put1(c.options).put4(kOrders).put4(kUsers));
    EXPECT_FALSE(m.xid.has_value());
    EXPECT_EQ(m.cascade, c.cascade) << int(c.options);
    EXPECT_EQ(m.restart_identity, c.restart_identity) << int(c.options);
    ASSERT_EQ(m.relations.size(), 2u);
    EXPECT_EQ(m.relations[0], d.relation(kOrders));  // in wire order
    EXPECT_EQ(m.relations[1], d.relation(kUsers));
  }
}

TEST(PgOutputDecoderTest, DecodesTransactionalAndNonTransactionalLogicalMessages) {
  PgOutputDecoder d;
  auto m = decodeAs<LogicalMessage>(d, logicalMessage());
  EXPECT_FALSE(m.xid.has_value());
  EXPECT_TRUE(m.transactional);
  EXPECT_EQ(m.lsn, Lsn(0x1A2B3C8));
  EXPECT_EQ(m.prefix, "sluice");
  EXPECT_EQ(m.content, std::string("he\0lo", 5));  // content is bytes, NUL included

  auto plain =
      decodeAs<LogicalMessage>(d, Bytes().put1('M').put1(0).put8(0x10).putString("p").put4(0));
  EXPECT_FALSE(plain.transactional);
  EXPECT_EQ(plain.content, "");
}

// --- Protocol 2: streamed transactions ------------------------------------------------------

TEST(PgOutputDecoderTest, StreamedBlockCarriesXidOnEveryChangeMessage) {
  PgOutputDecoder d(2);
  auto start = decodeAs<StreamStartMessage>(d, streamStart(kXid, 1));
  EXPECT_EQ(start.xid, kXid);
  EXPECT_TRUE(start.first_segment);

  auto origin = decodeAs<OriginMessage>(d, originMessage());  // no xid, even when streamed
  EXPECT_EQ(origin.name, "upstream");
  EXPECT_EQ(decodeAs<RelationMessage>(d, usersRelation(kXid)).xid, kXid);
  EXPECT_EQ(decodeAs<RelationMessage>(d, ordersRelation(kXid)).relation->schema, "shop");
  EXPECT_EQ(decodeAs<TypeMessage>(d, typeMessage(kXid)).xid, kXid);

  auto ins = decodeAs<InsertMessage>(d, insertMessage(kXid));
  EXPECT_EQ(ins.xid, kXid);
  EXPECT_EQ(ins.new_values, usersValues("1", "alice"));
  auto upd = decodeAs<UpdateMessage>(d, updateMessage(kXid));
  EXPECT_EQ(upd.xid, kXid);
  EXPECT_EQ(upd.old_kind, 'K');
  EXPECT_EQ(upd.new_values, usersValues("2", "bob"));
  auto del = decodeAs<DeleteMessage>(d, deleteMessage(kXid));
  EXPECT_EQ(del.xid, kXid);
  EXPECT_EQ(del.old_values[0], Value::of("1"));
  auto trunc = decodeAs<TruncateMessage>(d, truncateMessage(kXid));
  EXPECT_EQ(trunc.xid, kXid);
  EXPECT_TRUE(trunc.cascade);
  EXPECT_TRUE(trunc.restart_identity);
  EXPECT_EQ(trunc.relations.size(), 2u);
  auto msg = decodeAs<LogicalMessage>(d, logicalMessage(kXid));
  EXPECT_EQ(msg.xid, kXid);
  EXPECT_EQ(msg.prefix, "sluice");

  decodeAs<StreamStopMessage>(d, streamStop());
  auto commit = decodeAs<StreamCommitMessage>(d, streamCommit());
  EXPECT_EQ(commit.xid, kXid);
  EXPECT_EQ(commit.flags, 0);
  EXPECT_EQ(commit.commit_lsn, Lsn(0x1A2B3C8));
  EXPECT_EQ(commit.end_lsn, Lsn(0x1A2B3F8));
  EXPECT_EQ(to_pg_timestamp(commit.commit_time), kTime);
}

TEST(PgOutputDecoderTest, Protocol2MessagesOutsideStreamedBlockHaveNoXid) {
  PgOutputDecoder d = withUsersAndOrders(2);
  decodeAs<StreamStartMessage>(d, streamStart(900, 1));
  decodeAs<InsertMessage>(d, insertMessage(900));
  decodeAs<StreamStopMessage>(d, streamStop());
  // A regular transaction between two segments of the streamed one.
  decodeAs<BeginMessage>(d, beginMessage());
  auto ins = decodeAs<InsertMessage>(d, insertMessage());
  EXPECT_FALSE(ins.xid.has_value());
  EXPECT_EQ(ins.new_values, usersValues("1", "alice"));
  EXPECT_FALSE(decodeAs<LogicalMessage>(d, logicalMessage()).xid.has_value());
  decodeAs<CommitMessage>(d, commitMessage());
  // The next segment of the streamed transaction.
  EXPECT_FALSE(decodeAs<StreamStartMessage>(d, streamStart(900, 0)).first_segment);
  EXPECT_EQ(decodeAs<DeleteMessage>(d, deleteMessage(900)).xid, 900u);
  decodeAs<StreamStopMessage>(d, streamStop());
  auto abort = decodeAs<StreamAbortMessage>(d, Bytes().put1('A').put4(900).put4(900));
  EXPECT_EQ(abort.xid, 900u);
  EXPECT_EQ(abort.subxid, 900u);  // the top-level transaction itself aborted
}

TEST(PgOutputDecoderTest, DecodesStreamAbortOfSubtransaction) {
  PgOutputDecoder d(2);
  auto m = decodeAs<StreamAbortMessage>(d, streamAbort());
  EXPECT_EQ(m.xid, kXid);
  EXPECT_EQ(m.subxid, kXid + 3);
}

TEST(PgOutputDecoderTest, StreamMessagesAreRejectedInProtocol1) {
  for (const Bytes& b : {streamStart(), streamStop(), streamCommit(), streamAbort()}) {
    PgOutputDecoder d(1);
    expectProtocolError(d, b, "need protocol version 2");
  }
}

TEST(PgOutputDecoderTest, MisplacedStreamMarkersAreRejected) {
  {
    PgOutputDecoder d(2);
    expectProtocolError(d, streamStop(),
                        "pgoutput Stream Stop message at byte 0: Stream Stop without");
  }
  {
    PgOutputDecoder d(2);
    d.decode(streamStart().span());
    expectProtocolError(d, streamStart(), "already open");
    expectProtocolError(d, beginMessage(), "pgoutput Begin message at byte 0: not allowed between");
    expectProtocolError(d, commitMessage(), "not allowed between Stream Start and Stream Stop");
    expectProtocolError(d, streamCommit(), "not allowed between Stream Start and Stream Stop");
    expectProtocolError(d, streamAbort(), "not allowed between Stream Start and Stream Stop");
  }
}

TEST(PgOutputDecoderTest, FailedStreamStartLeavesDecoderOutsideTheBlock) {
  PgOutputDecoder d = withUsersAndOrders(2);
  Bytes bad = streamStart();
  EXPECT_THROW(d.decode(bad.prefix(bad.size() - 1)), Error);
  // Still outside a block: changes carry no xid.
  EXPECT_FALSE(decodeAs<InsertMessage>(d, insertMessage()).xid.has_value());
  expectProtocolError(d, streamStart(kXid, 2), "expected first-segment flag 0 or 1, got 2");
  EXPECT_FALSE(decodeAs<InsertMessage>(d, insertMessage()).xid.has_value());
}

TEST(PgOutputDecoderTest, FailedStreamStopLeavesDecoderInsideTheBlock) {
  PgOutputDecoder d = withUsersAndOrders(2);
  d.decode(streamStart().span());
  expectProtocolError(d, Bytes().put1('E').put1(0), "trailing byte");
  EXPECT_EQ(decodeAs<InsertMessage>(d, insertMessage(kXid)).xid, kXid);
}

TEST(PgOutputDecoderTest, FailedRelationMessageKeepsPreviousShape) {
  PgOutputDecoder d = withUsersAndOrders();
  RelationPtr before = d.relation(kUsers);
  Bytes altered = relationMessage(kUsers, "public", "users", 'd', {{1, "id", kInt4, -1}});
  EXPECT_THROW(d.decode(altered.prefix(altered.size() - 1)), Error);
  EXPECT_EQ(d.relation(kUsers), before);
}

// --- Rejected input ---------------------------------------------------------------------------

TEST(PgOutputDecoderTest, TwoPhaseMessagesAreRejected) {
  for (char type : {'b', 'P', 'K', 'r', 'p'}) {
    PgOutputDecoder d(2);
    Bytes b = Bytes().put1(static_cast<uint8_t>(type)).put8(0x10).put8(0x20).put8(kTime).put4(kXid);
    expectProtocolError(d, b, "two-phase commit messages were not requested");
  }
  PgOutputDecoder d;
  expectProtocolError(d, Bytes().put1('b'), "pgoutput Begin Prepare message at byte 0");
  expectProtocolError(d, Bytes().put1('K'), "pgoutput Commit Prepared message at byte 0");
}

TEST(PgOutputDecoderTest, GarbledMessageTypeIsRejected) {
  for (uint8_t type : {uint8_t{'Z'}, uint8_t{'w'}, uint8_t{0}, uint8_t{0xff}}) {
    PgOutputDecoder d(2);
    expectProtocolError(d, Bytes().put1(type).put4(1), "unknown message type");
  }
  PgOutputDecoder d;
  expectProtocolError(d, Bytes().put1('Z'),
                      "pgoutput message at byte 0: unknown message type 'Z' (0x5a)");
  expectProtocolError(d, Bytes().put1(0x07), "unknown message type 0x07");
}

TEST(PgOutputDecoderTest, EmptyMessageIsRejected) {
  PgOutputDecoder d;
  expectProtocolError(d, Bytes(),
                      "pgoutput message truncated at byte 0: expected 1-byte message type");
}

TEST(PgOutputDecoderTest, ErrorNamesMessageTypeOffsetAndExpectedField) {
  PgOutputDecoder d = withUsersAndOrders();
  // 'I'(0) oid(1-4) 'N'(5) count(6-7) 't'(8) len(9-12) "123"(13-15) 't'(16), then nothing.
  Bytes b = head('I', kUsers, {}).put1('N').put2(3).putText("123").put1('t');
  ASSERT_EQ(b.size(), 17u);
  Error e = decodeError(d, b.span());
  EXPECT_EQ(e.kind(), ErrorKind::kProtocol);
  EXPECT_STREQ(e.what(),
               "pgoutput Insert message truncated at byte 17: expected 4-byte column length");
}

TEST(PgOutputDecoderTest, ChangesForUnknownRelationAreRejected) {
  PgOutputDecoder d = withUsersAndOrders();
  expectProtocolError(d, head('I', 777, {}).put1('N').put2(0),
                      "pgoutput Insert message at byte 1: unknown relation OID 777");
  expectProtocolError(d, head('U', 777, {}).put1('N').put2(0),
                      "pgoutput Update message at byte 1: unknown relation OID 777");
  expectProtocolError(d, head('D', 777, {}).put1('K').put2(0),
                      "pgoutput Delete message at byte 1: unknown relation OID 777");
  expectProtocolError(d, Bytes().put1('T').put4(2).put1(0).put4(kUsers).put4(777),
                      "pgoutput Truncate message at byte 10: unknown relation OID 777");
}

TEST(PgOutputDecoderTest, TupleColumnCountMustMatchRelation) {
  PgOutputDecoder d = withUsersAndOrders();
  expectProtocolError(d, head('I', kUsers, {}).put1('N').put2(2).putText("1").putText("a"),
                      "pgoutput Insert message at byte 6: tuple has 2 columns but relation "
                      "public.users (OID 16384) has 3");
  expectProtocolError(d, head('I', kOrders, {}).put1('N').put2(2).putText("1").putText("2"),
                      "tuple has 2 columns but relation shop.orders");
  expectProtocolError(d, head('U', kOrders, {}).put1('O').put2(0).put1('N').put2(1).putText("1"),
                      "pgoutput Update message at byte 6: tuple has 0 columns");
  expectProtocolError(d, head('U', kOrders, {}).put1('N').put2(3),
                      "pgoutput Update message at byte 6: tuple has 3 columns");
  expectProtocolError(d, head('D', kUsers, {}).put1('K').put2(1).putText("1"),
                      "pgoutput Delete message at byte 6: tuple has 1 columns");
}

TEST(PgOutputDecoderTest, BinaryTupleValueIsRejected) {
  PgOutputDecoder d = withUsersAndOrders();
  Bytes b = head('I', kOrders, {}).put1('N').put2(1).put1('b').put4(8).put8(42);
  expectProtocolError(d, b, "pgoutput Insert message at byte 8: binary value for column \"id\"");
}

TEST(PgOutputDecoderTest, UnknownTupleValueKindIsRejected) {
  PgOutputDecoder d = withUsersAndOrders();
  expectProtocolError(d, head('I', kOrders, {}).put1('N').put2(1).put1('x'),
                      "at byte 8: expected tuple value kind 'n', 'u' or 't', got 'x'");
}

TEST(PgOutputDecoderTest, NegativeLengthsAndCountsAreRejected) {
  PgOutputDecoder d = withUsersAndOrders();
  expectProtocolError(d, head('I', kOrders, {}).put1('N').put2(1).put1('t').put4(0xFFFFFFFF),
                      "at byte 9: negative length -1 for column \"id\"");
  expectProtocolError(d, head('I', kOrders, {}).put1('N').put2(0xFFFF),
                      "at byte 6: negative tuple column count -1");
  expectProtocolError(d, Bytes().put1('M').put1(0).put8(1).putString("p").put4(0x80000000),
                      "negative content length -2147483648");
  expectProtocolError(
      d, Bytes().put1('R').put4(5).putString("s").putString("t").put1('d').put2(0xFFFE),
      "negative column count -2");
  expectProtocolError(d, Bytes().put1('T').put4(0xFFFFFFFF).put1(0),
                      "pgoutput Truncate message at byte 1: negative relation count -1");
}

TEST(PgOutputDecoderTest, HugeDeclaredLengthsAreTruncationErrorsNotAllocations) {
  PgOutputDecoder d = withUsersAndOrders();
  expectProtocolError(d, head('I', kOrders, {}).put1('N').put2(1).putText("").put1('x'),
                      "trailing");  // sanity: a complete tuple, then garbage
  expectProtocolError(
      d, head('I', kOrders, {}).put1('N').put2(1).put1('t').put4(0x7FFFFFFF).putRaw("ab"),
      "truncated at byte 13: expected 2147483647 bytes of column value");
  expectProtocolError(d, Bytes().put1('T').put4(0x7FFFFFFF).put1(0).put4(kUsers),
                      "truncated at byte 10: expected 4-byte relation OID");
  expectProtocolError(d, Bytes().put1('M').put1(0).put8(1).putString("p").put4(0x7FFFFFFF),
                      "expected 2147483647 bytes of content");
}

TEST(PgOutputDecoderTest, MissingStringTerminatorIsTruncation) {
  PgOutputDecoder d;
  expectProtocolError(
      d, Bytes().put1('O').put8(1).putRaw("upstream"),
      "pgoutput Origin message truncated at byte 9: expected NUL-terminated origin name");
}

TEST(PgOutputDecoderTest, WrongTupleMarkersAreRejected) {
  PgOutputDecoder d = withUsersAndOrders();
  expectProtocolError(d, head('I', kOrders, {}).put1('K').put2(1).putText("1"),
                      "pgoutput Insert message at byte 5: expected new tuple marker 'N', got 'K'");
  expectProtocolError(d, head('U', kOrders, {}).put1('X').put2(1).putText("1"),
                      "expected tuple marker 'K', 'O' or 'N', got 'X'");
  // After an old tuple only 'N' may follow.
  expectProtocolError(
      d, head('U', kOrders, {}).put1('K').put2(1).putText("1").put1('O').put2(1).putText("2"),
      "pgoutput Update message at byte 14: expected new tuple marker 'N', got 'O'");
  expectProtocolError(d, head('D', kOrders, {}).put1('N').put2(1).putText("1"),
                      "expected old tuple marker 'K' or 'O', got 'N'");
}

TEST(PgOutputDecoderTest, OutOfRangeFlagsAndEnumsAreRejected) {
  PgOutputDecoder d = withUsersAndOrders();
  expectProtocolError(d, relationMessage(5, "s", "t", 'x', {}),
                      "expected replica identity 'd', 'n', 'f' or 'i', got 'x'");
  expectProtocolError(d, relationMessage(5, "s", "t", 'd', {{2, "c", kInt4, -1}}),
                      "expected column flags 0 or 1 (part of the key), got 2");
  expectProtocolError(d, relationMessage(5, "s", "", 'd', {}), "empty relation name");
  expectProtocolError(d, relationMessage(5, "s", "t", 'd', {{0, "", kInt4, -1}}),
                      "empty column name");
  expectProtocolError(d, Bytes().put1('T').put4(1).put1(4).put4(kUsers), "expected option bits");
  expectProtocolError(d, Bytes().put1('M').put1(2).put8(1).putString("p").put4(0),
                      "expected flags 0 or 1 (transactional), got 2");
}

TEST(PgOutputDecoderTest, OutOfRangeCommitTimestampIsAProtocolError) {
  PgOutputDecoder d;
  expectProtocolError(d, Bytes().put1('B').put8(1).put8(0x7FFFFFFFFFFFFFFF).put4(1),
                      "pgoutput Begin message at byte 9: commit timestamp of 9223372036854775807 "
                      "microseconds since 2000-01-01 is out of range");
}

TEST(PgOutputDecoderTest, RejectsUnsupportedProtocolVersion) {
  EXPECT_THROW(PgOutputDecoder(0), Error);
  EXPECT_THROW(PgOutputDecoder(3), Error);
  EXPECT_EQ(PgOutputDecoder(2).protocol_version(), 2);
}

// --- Every message, every truncation, every trailing byte --------------------------------

struct Sample {
  std::string name;
  int protocol;
  std::vector<Bytes> setup;  // decoded first: Relation messages, Stream Start
  Bytes message;
};

std::vector<Sample> everyMessage() {
  const std::vector<Bytes> relations = {usersRelation(), ordersRelation()};
  const std::vector<Bytes> streamed = {streamStart(), usersRelation(kXid), ordersRelation(kXid)};
  std::vector<Sample> samples = {
      {"Begin", 1, {}, beginMessage()},
      {"Commit", 1, {}, commitMessage()},
      {"Origin", 1, {}, originMessage()},
      {"Relation", 1, {}, usersRelation()},
      {"Type", 1, {}, typeMessage()},
      {"Insert", 1, relations, insertMessage()},
      {"UpdateNoOld", 1, relations, head('U', kUsers, {}).put1('N').putBytes(usersRow("1", "a"))},
      {"UpdateOldKey", 1, relations, updateMessage()},
      {"UpdateOldRow", 1, relations,
       head('U', kOrders, {}).put1('O').put2(1).putText("1").put1('N').put2(1).putText("2")},
      {"DeleteOldKey", 1, relations, deleteMessage()},
      {"DeleteOldRow", 1, relations, head('D', kUsers, {}).put1('O').putBytes(usersRow("1", "a"))},
      {"Truncate", 1, relations, truncateMessage()},
      {"Message", 1, {}, logicalMessage()},
      {"StreamStart", 2, {}, streamStart()},
      {"StreamStop", 2, {streamStart()}, streamStop()},
      {"StreamCommit", 2, {}, streamCommit()},
      {"StreamAbort", 2, {}, streamAbort()},
      {"StreamedOrigin", 2, {streamStart()}, originMessage()},
      {"StreamedRelation", 2, {streamStart()}, usersRelation(kXid)},
      {"StreamedType", 2, {streamStart()}, typeMessage(kXid)},
      {"StreamedInsert", 2, streamed, insertMessage(kXid)},
      {"StreamedUpdate", 2, streamed, updateMessage(kXid)},
      {"StreamedDelete", 2, streamed, deleteMessage(kXid)},
      {"StreamedTruncate", 2, streamed, truncateMessage(kXid)},
      {"StreamedMessage", 2, {streamStart()}, logicalMessage(kXid)},
      {"Protocol2Insert", 2, relations, insertMessage()},
  };
  return samples;
}

PgOutputDecoder prepared(const Sample& s) {
  PgOutputDecoder d(s.protocol);
  for (const Bytes& b : s.setup) d.decode(b.span());
  return d;
}

TEST(PgOutputDecoderTest, EverySampleMessageDecodes) {
  for (const Sample& s : everyMessage()) {
    PgOutputDecoder d = prepared(s);
    EXPECT_NO_THROW(d.decode(s.message.span())) << s.name;
  }
}

TEST(PgOutputDecoderTest, EveryMessageTruncatedAtEveryLengthIsAProtocolError) {
  for (const Sample& s : everyMessage()) {
    for (size_t length = 0; length < s.message.size(); ++length) {
      PgOutputDecoder d = prepared(s);
      try {
        d.decode(s.message.prefix(length));
        ADD_FAILURE() << s.name << " truncated to " << length << " bytes decoded";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kProtocol) << s.name << " @" << length << ": " << e.what();
        if (length > 0) {
          EXPECT_NE(std::string(e.what()).find("truncated at byte"), std::string::npos)
              << s.name << " @" << length << ": " << e.what();
        }
      }
    }
  }
}

TEST(PgOutputDecoderTest, EveryMessageWithTrailingBytesIsAProtocolError) {
  for (const Sample& s : everyMessage()) {
    for (uint8_t extra : {uint8_t{0}, uint8_t{'N'}}) {
      PgOutputDecoder d = prepared(s);
      Bytes longer = Bytes().putBytes(s.message).put1(extra);
      Error e = decodeError(d, longer.span());
      EXPECT_EQ(e.kind(), ErrorKind::kProtocol) << s.name;
      EXPECT_NE(std::string(e.what()).find("at byte " + std::to_string(s.message.size()) +
                                           ": expected end of message, found 1 trailing byte"),
                std::string::npos)
          << s.name << ": " << e.what();
    }
  }
}

// Not a fuzzer, but the same question on every build: whatever the bytes, decode()
// returns or throws sluice::Error of kind kProtocol (run under ASan for memory errors).
TEST(PgOutputDecoderTest, CorruptedBytesOnlyEverThrowProtocolErrors) {
  std::mt19937 random(20240501);  // fixed seed: failures reproduce
  for (const Sample& s : everyMessage()) {
    for (int round = 0; round < 300; ++round) {
      std::vector<uint8_t> bytes(s.message.span().begin(), s.message.span().end());
      const int flips = 1 + static_cast<int>(random() % 3);
      for (int i = 0; i < flips; ++i) {
        bytes[random() % bytes.size()] = static_cast<uint8_t>(random());
      }
      PgOutputDecoder d = prepared(s);
      try {
        d.decode(bytes);
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kProtocol) << s.name << ": " << e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << s.name << " threw a non-sluice exception: " << e.what();
      }
    }
  }
}

// --- A transaction as the server sends it -------------------------------------------------

// BEGIN; INSERT INTO public.users (id, name) VALUES (1, 'alice'); COMMIT; with
// users(id int4 PRIMARY KEY, name text), typed in byte by byte from the documented
// layouts (four XLogData payloads).
TEST(PgOutputDecoderTest, DecodesTransactionBytesLaidOutAsDocumented) {
  const std::vector<uint8_t> begin = {
      0x42,                                            // 'B'
      0x00, 0x00, 0x00, 0x00, 0x01, 0xA2, 0xB3, 0xC8,  // final LSN 0/1A2B3C8
      0x00, 0x02, 0xBA, 0x61, 0xFE, 0xA3, 0x32, 0x40,  // 2024-05-01 12:00:00.123456 UTC
      0x00, 0x00, 0x02, 0xE9,                          // xid 745
  };
  const std::vector<uint8_t> relation = {
      0x52,                                     // 'R'
      0x00, 0x00, 0x40, 0x00,                   // OID 16384
      'p',  'u',  'b',  'l',  'i', 'c',  0x00,  // namespace
      'u',  's',  'e',  'r',  's', 0x00,        // relation name
      'd',                                      // replica identity default
      0x00, 0x02,                               // 2 columns
      0x01, 'i',  'd',  0x00,                   //   key column "id"
      0x00, 0x00, 0x00, 0x17,                   //   int4
      0xFF, 0xFF, 0xFF, 0xFF,                   //   typmod -1
      0x00, 'n',  'a',  'm',  'e', 0x00,        //   column "name"
      0x00, 0x00, 0x00, 0x19,                   //   text
      0xFF, 0xFF, 0xFF, 0xFF,                   //   typmod -1
  };
  const std::vector<uint8_t> insert = {
      0x49,                                                   // 'I'
      0x00, 0x00, 0x40, 0x00,                                 // OID 16384
      0x4E,                                                   // 'N'
      0x00, 0x02,                                             // 2 columns
      0x74, 0x00, 0x00, 0x00, 0x01, '1',                      // text "1"
      0x74, 0x00, 0x00, 0x00, 0x05, 'a', 'l', 'i', 'c', 'e',  // text "alice"
  };
  const std::vector<uint8_t> commit = {
      0x43,                                            // 'C'
      0x00,                                            // flags
      0x00, 0x00, 0x00, 0x00, 0x01, 0xA2, 0xB3, 0xC8,  // commit LSN 0/1A2B3C8
      0x00, 0x00, 0x00, 0x00, 0x01, 0xA2, 0xB3, 0xF8,  // end LSN 0/1A2B3F8
      0x00, 0x02, 0xBA, 0x61, 0xFE, 0xA3, 0x32, 0x40,  // commit time
  };

  PgOutputDecoder d;
  const auto expected_time =
      std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h + 123456us;

  auto b = std::get<BeginMessage>(d.decode(begin));
  EXPECT_EQ(b.final_lsn.str(), "0/1A2B3C8");
  EXPECT_EQ(b.commit_time, expected_time);
  EXPECT_EQ(b.xid, 745u);

  auto r = std::get<RelationMessage>(d.decode(relation));
  EXPECT_EQ(r.relation->qualified_name(), "public.users");
  EXPECT_EQ(r.relation->old_row, OldRow::kIdentity);
  ASSERT_EQ(r.relation->columns.size(), 2u);
  EXPECT_EQ(r.relation->columns[0].name, "id");
  EXPECT_EQ(r.relation->columns[0].source_type_id, 23u);
  EXPECT_TRUE(r.relation->columns[0].in_identity);
  EXPECT_EQ(r.relation->columns[1].name, "name");
  EXPECT_EQ(r.relation->columns[1].source_type_id, 25u);
  EXPECT_EQ(r.relation->columns[1].source_type_modifier, -1);
  EXPECT_FALSE(r.relation->columns[1].in_identity);

  auto i = std::get<InsertMessage>(d.decode(insert));
  EXPECT_EQ(i.relation, r.relation);
  EXPECT_EQ(i.new_values, (std::vector<Value>{Value::of("1"), Value::of("alice")}));

  auto c = std::get<CommitMessage>(d.decode(commit));
  EXPECT_EQ(c.commit_lsn, b.final_lsn);
  EXPECT_EQ(c.end_lsn.str(), "0/1A2B3F8");
  EXPECT_EQ(c.commit_time, expected_time);
}

// --- Timestamps -----------------------------------------------------------------------------

TEST(PgTimestampTest, ZeroIsTheYear2000) {
  EXPECT_EQ(from_pg_timestamp(0), std::chrono::sys_days{std::chrono::year{2000} / 1 / 1});
  EXPECT_EQ(to_pg_timestamp(std::chrono::sys_days{std::chrono::year{2000} / 1 / 1}), 0);
}

TEST(PgTimestampTest, RoundTripsMicrosecondsBeforeAndAfter2000) {
  for (int64_t micros :
       {int64_t{0}, int64_t{1}, int64_t{-1}, kTime, -kTime, int64_t{-946684800000000}}) {
    EXPECT_EQ(to_pg_timestamp(from_pg_timestamp(micros)), micros) << micros;
  }
  // -946684800 s is the Unix epoch.
  EXPECT_EQ(from_pg_timestamp(-946684800000000).time_since_epoch().count(), 0);
}

TEST(PgTimestampTest, SubMicrosecondTimesRoundDown) {
  const Timestamp t = from_pg_timestamp(-5) + std::chrono::duration_cast<Timestamp::duration>(
                                                  std::chrono::nanoseconds(999));
  if constexpr (std::ratio_less_v<Timestamp::period, std::micro>) {
    EXPECT_EQ(to_pg_timestamp(t), -5);
  }
}

TEST(PgTimestampTest, OutOfRangeValuesAreRejectedNotWrapped) {
  EXPECT_THROW(from_pg_timestamp(std::numeric_limits<int64_t>::max()), Error);
  EXPECT_THROW(from_pg_timestamp(std::numeric_limits<int64_t>::min()), Error);
}

}  // namespace
}  // namespace sluice::pg
