#include "sink/manticore/document_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "source/postgres/pg_builtin_types.h"

namespace sluice {
namespace {

constexpr uint32_t kInt2 = 21, kInt4 = 23, kInt8 = 20, kText = 25, kNumeric = 1700, kUuid = 2950;

Column column(std::string name, uint32_t oid, bool pk = false) {
  Column c;
  c.name = std::move(name);
  c.source_type_id = oid;
  c.type = pg::builtin_type(oid);
  c.in_primary_key = pk;
  c.in_identity = pk;
  return c;
}

Relation table(std::vector<Column> columns, std::vector<int> primary_key = {}) {
  Relation r;
  r.schema = "public";
  r.name = "items";
  r.columns = std::move(columns);
  r.primary_key = std::move(primary_key);
  return r;
}

std::string error_of(const Relation& r, const std::vector<Value>& values, ErrorKind kind = ErrorKind::kInvalidInput) {
  try {
    document_id(r, values);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(DocumentIdTest, Fnv1a64MatchesTheReferenceVectors) {
  // The published FNV-1a 64 test vectors (empty string, "a", "foobar").
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(DocumentIdTest, IdentityIsLengthPrefixed) {
  EXPECT_EQ(encode_identity({"42"}), "2:42");
  EXPECT_EQ(encode_identity({"42", "abc"}), "2:423:abc");
  EXPECT_EQ(encode_identity({""}), "0:");
  // The values ("1:2", "3") and ("1", "2:3") would be "1:2:3" both if joined by ':'.
  EXPECT_NE(encode_identity({"1:2", "3"}), encode_identity({"1", "2:3"}));
  EXPECT_NE(encode_identity({"ab", ""}), encode_identity({"a", "b"}));
}

TEST(DocumentIdTest, OneIntegerKeyIsItsOwnId) {
  for (uint32_t oid : {kInt2, kInt4, kInt8}) {
    Relation r = table({column("id", oid, true), column("name", kText)});
    DocumentId d = document_id(r, {Value::of("42"), Value::of("x")});
    EXPECT_EQ(d.id, 42);
    EXPECT_EQ(d.identity, "2:42");
  }
  Relation r = table({column("id", kInt8, true)});
  EXPECT_EQ(document_id(r, {Value::of("1")}).id, 1);
  EXPECT_EQ(document_id(r, {Value::of("9223372036854775807")}).id, INT64_MAX);
}

TEST(DocumentIdTest, IntegerKeysOutsideTheIdRangeAreNamed) {
  Relation r = table({column("id", kInt8, true)});
  const std::string zero = error_of(r, {Value::of("0")});
  EXPECT_NE(zero.find("table public.items: key id = 0 cannot be a document id"), std::string::npos) << zero;
  EXPECT_NE(zero.find("1..9223372036854775807"), std::string::npos);
  EXPECT_NE(error_of(r, {Value::of("-5")}).find("key id = -5"), std::string::npos);
  EXPECT_NE(error_of(r, {Value::of("-9223372036854775808")}).find("-9223372036854775808"), std::string::npos);
  EXPECT_NE(error_of(r, {Value::of("12x")}).find("table public.items: key id: int8: not a number: \"12x\""),
            std::string::npos);
  EXPECT_NE(error_of(r, {Value::of("9223372036854775808")}).find("'9223372036854775808' is not a 64-bit integer"),
            std::string::npos);
  error_of(r, {Value::of("")});
}

TEST(DocumentIdTest, OtherKeysAreHashedIntoTheIdRange) {
  Relation r = table({column("code", kText, true), column("n", kInt4)});
  DocumentId d = document_id(r, {Value::of("abc"), Value::of("1")});
  EXPECT_EQ(d.identity, "3:abc");
  EXPECT_EQ(static_cast<uint64_t>(d.id), fnv1a64("3:abc") % 9223372036854775807ULL + 1);
  // Stable: the value is fixed by the documented hash, whatever the build.
  EXPECT_EQ(d.id, 3286699784361450873) << d.id;  // computed apart, in Python
  EXPECT_GE(d.id, 1);
  // numeric and uuid keys are not integers: hashed too.
  EXPECT_EQ(document_id(table({column("k", kNumeric, true)}), {Value::of("42")}).identity, "2:42");
  EXPECT_NE(document_id(table({column("k", kNumeric, true)}), {Value::of("42")}).id, 42);
  EXPECT_EQ(document_id(table({column("u", kUuid, true)}), {Value::of("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")}).identity,
            "36:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
}

TEST(DocumentIdTest, HashedIdsStayInRangeAndRarelyCollide) {
  Relation r = table({column("code", kText, true)});
  std::set<int64_t> ids;
  for (int i = 0; i < 20000; ++i) {
    const int64_t id = document_id(r, {Value::of("k" + std::to_string(i))}).id;
    EXPECT_GE(id, 1);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 20000u);
}

TEST(DocumentIdTest, CompositeKeysUseKeyOrderNotColumnOrder) {
  // PRIMARY KEY (payment_date, payment_id) on a table whose payment_id comes first.
  Relation r = table({column("payment_id", kInt4, true), column("payment_date", kText, true), column("x", kText)},
                     {1, 0});
  DocumentId d = document_id(r, {Value::of("7"), Value::of("2024-05-01"), Value::of("y")});
  EXPECT_EQ(d.identity, "10:2024-05-011:7");
  EXPECT_EQ(static_cast<uint64_t>(d.id), fnv1a64("10:2024-05-011:7") % 9223372036854775807ULL + 1);
  // Without Relation::primary_key: the marked columns in column order.
  Relation by_hand = table({column("payment_id", kInt4, true), column("payment_date", kText, true)});
  EXPECT_EQ(document_id(by_hand, {Value::of("7"), Value::of("2024-05-01")}).identity, "1:710:2024-05-01");
}

TEST(DocumentIdTest, TwoIntegerColumnsAreHashed) {
  Relation r = table({column("a", kInt4, true), column("b", kInt4, true)});
  DocumentId d = document_id(r, {Value::of("1"), Value::of("2")});
  EXPECT_EQ(d.identity, "1:11:2");
  EXPECT_EQ(static_cast<uint64_t>(d.id), fnv1a64("1:11:2") % 9223372036854775807ULL + 1);
}

TEST(DocumentIdTest, ReplicaIdentityWhenThereIsNoPrimaryKey) {
  Relation r = table({column("a", kText), column("b", kText)});
  r.columns[1].in_identity = true;
  EXPECT_EQ(document_id(r, {Value::of("x"), Value::of("y")}).identity, "1:y");
}

TEST(DocumentIdTest, BadKeysAreNamed) {
  Relation none = table({column("a", kText)});
  EXPECT_NE(error_of(none, {Value::of("x")}).find("public.items has no primary key and no replica identity"),
            std::string::npos);
  Relation r = table({column("id", kInt8, true), column("b", kText)});
  EXPECT_NE(error_of(r, {Value::null(), Value::of("x")}).find("key column id is NULL"), std::string::npos);
  EXPECT_NE(error_of(r, {Value::unchanged_toast(), Value::of("x")}).find("unchanged TOAST"), std::string::npos);
  EXPECT_NE(error_of(r, {Value::of("1")}).find("1 values for 2 columns"), std::string::npos);
  Relation broken = table({column("id", kInt8, true)}, {3});
  error_of(broken, {Value::of("1")}, ErrorKind::kInternal);
}

TEST(DocumentIdTest, TheCheckpointIdIsNoRowsId) {
  EXPECT_EQ(kCheckpointDocumentId, 9223372036854775808ULL);
  EXPECT_GT(kCheckpointDocumentId, static_cast<uint64_t>(INT64_MAX));
}

}  // namespace
}  // namespace sluice
