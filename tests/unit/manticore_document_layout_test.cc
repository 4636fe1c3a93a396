// How a row becomes a search document (sink/manticore/document_layout.h): the
// column list, the literals, TOAST values kept from a stored document, and the
// canonical form verify compares, without a server.
#include "sink/manticore/document_layout.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "kit/changes.h"

namespace sluice {
namespace {

using namespace kit;

// public.users (id int4 pk, name text, payload jsonb, note text), name the field.
DocumentLayout users_layout(bool name_stored) {
  std::vector<DescribedColumn> described;
  if (name_stored) described.push_back({"name", "string", ""});
  return DocumentLayout(users(), "users", {"name"}, {0, 1, 2, 3}, described);
}

TEST(ManticoreDocumentLayoutTest, TheIdColumnIsTheDocumentIdAndFieldsComeFirst) {
  const DocumentLayout layout = users_layout(true);
  EXPECT_EQ(layout.column_list(),
            "id, `name`, `payload`, `note`, `_sluice_version`, `_sluice_identity`, `_sluice_digest`, "
            "`_sluice_checkpoint`");
  EXPECT_EQ(layout.column_at(0), nullptr);  // id is the document id, not an attribute
  ASSERT_NE(layout.column_at(1), nullptr);
  EXPECT_TRUE(layout.column_at(1)->field);
  EXPECT_EQ(layout.column_at(1)->attribute, AttributeType::kString);
  EXPECT_EQ(layout.column_at(2)->attribute, AttributeType::kJson);
  EXPECT_FALSE(users_layout(false).column_at(1)->attribute);
}

TEST(ManticoreDocumentLayoutTest, ARowIsOneTupleWithItsVersionIdentityAndDigest) {
  const DocumentLayout layout = users_layout(true);
  const std::vector<Value> row = {T("7"), T("it's"), T(R"({"a": 1})"), N};
  const DocumentId id = document_id(*layout.relation(), row);
  EXPECT_EQ(id.id, 7);
  const std::string literal = layout.row_literal(id, row, pos(0x10, 2));
  EXPECT_EQ(literal.rfind(R"((7, 'it\'s', '{"a": 1}', '', '0000000000000010:00000002', '1:7', ')", 0), 0u) << literal;
  EXPECT_EQ(literal.substr(literal.size() - 6), "', '')");
}

TEST(ManticoreDocumentLayoutTest, TheDigestFollowsTheFieldsOnly) {
  const DocumentLayout layout = users_layout(false);
  auto canonical = [&](std::vector<Value> row) {
    return layout.canonical_of_row(document_id(*layout.relation(), row), row);
  };
  EXPECT_EQ(canonical({T("1"), T("a"), N, N}), canonical({T("1"), T("a"), N, N}));
  EXPECT_NE(canonical({T("1"), T("a"), N, N}), canonical({T("1"), T("b"), N, N}));
  EXPECT_NE(canonical({T("1"), T(""), N, N}), canonical({T("1"), N, N, N}));  // '' and NULL differ
  EXPECT_NE(canonical({T("1"), T("a"), N, N}), canonical({T("1"), T("a"), N, T("note")}));
}

TEST(ManticoreDocumentLayoutTest, AnUnchangedToastValueIsTakenFromTheStoredDocument) {
  const DocumentLayout layout = users_layout(true);
  const StoredDocument stored = {{"id", "1"}, {"name", "kept name"}, {"payload", R"({"big":"value"})"}, {"note", ""}};
  EXPECT_EQ(layout.stored_text(1, stored), "kept name");
  EXPECT_EQ(layout.stored_text(2, stored), R"({"big":"value"})");
  EXPECT_FALSE(users_layout(false).stored_text(1, stored));  // a field that is not stored
  const std::vector<Value> row = {T("1"), U, U, T("n")};
  DocumentLayout::Restored restored(4);
  restored[1] = layout.stored_text(1, stored);
  restored[2] = layout.stored_text(2, stored);
  const DocumentId id = document_id(*layout.relation(), row);
  const std::string literal = layout.row_literal(id, row, pos(0x20), restored);
  EXPECT_EQ(literal.rfind(R"((1, 'kept name', '{"big":"value"}', 'n', )", 0), 0u) << literal;
  // The digest is that of the kept text, as if the row had carried it.
  const std::vector<Value> whole = {T("1"), T("kept name"), T(R"({"big":"value"})"), T("n")};
  EXPECT_EQ(literal, layout.row_literal(id, whole, pos(0x20)));
  // Not restored: never written as empty.
  EXPECT_THROW(layout.row_literal(id, row, pos(0x20)), Error);
}

TEST(ManticoreDocumentLayoutTest, StoredAndWrittenFormsCompareEqual) {
  const DocumentLayout layout = users_layout(true);
  const std::vector<Value> row = {T("3"), T("x"), T(R"({"n": 1.25e3, "big": 18446744073709551615, "s": "q"})"), T("t")};
  const DocumentId id = document_id(*layout.relation(), row);
  // As searchd prints it back: floats as float32 with six decimals, big integers clamped.
  const std::string digest = layout.canonical_of_row(id, row).substr(layout.canonical_of_row(id, row).rfind('=') + 1);
  const StoredDocument stored = {{"id", "3"},
                                 {"name", "x"},
                                 {"payload", R"({"n":1250.000000,"big":9223372036854775807,"s":"q"})"},
                                 {"note", "t"},
                                 {"_sluice_version", "0000000000000010:00000001"},
                                 {"_sluice_identity", "1:3"},
                                 {"_sluice_digest", digest}};
  EXPECT_EQ(layout.canonical_of_stored(stored), layout.canonical_of_row(id, row));
  StoredDocument changed = stored;
  changed[3].second = "other";
  EXPECT_NE(layout.canonical_of_stored(changed), layout.canonical_of_row(id, row));
}

TEST(ManticoreDocumentLayoutTest, CanonicalAttributesNormaliseAsSearchdPrints) {
  EXPECT_EQ(canonical_attribute(AttributeType::kFloat, "1.5"), canonical_attribute_of_literal(AttributeType::kFloat, "1.5e+00"));
  EXPECT_EQ(canonical_attribute(AttributeType::kFloat, "1.500000"), "1.500000");
  EXPECT_EQ(canonical_attribute_of_literal(AttributeType::kFloat, "'nan'"), canonical_attribute(AttributeType::kFloat, "nan"));
  EXPECT_EQ(canonical_attribute(AttributeType::kJson, R"({"a": [1, 2.5]})"), R"({"a":[1,2.5]})");
  EXPECT_EQ(unquote_literal(R"('it\'s \\ here')"), R"(it's \ here)");
  EXPECT_EQ(unquote_literal("42"), "42");
}

TEST(ManticoreDocumentLayoutTest, BadLayoutsAreConfigErrorsNamingTheTable) {
  try {
    DocumentLayout(users(), "users", {"nosuch"}, {0, 1, 2, 3}, {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_NE(std::string(e.what()).find("public.users"), std::string::npos) << e.what();
  }
  // A field left out by the column selection is not routed.
  EXPECT_THROW(DocumentLayout(users(), "users", {"note"}, {0, 1, 2}, {}), Error);
  // A column named id that is not the one integer key cannot be an attribute.
  auto r = std::make_shared<Relation>(*media());
  r->columns[0].name = "id";  // channel_id renamed: media_id stays the key
  EXPECT_THROW(DocumentLayout(r, "media", {"title"}, {0, 1, 2}, {}), Error);
}

}  // namespace
}  // namespace sluice
