// format/value_json.h knows no source: rows render through each column type's
// renderer, whatever source supplied it. Shown here with a renderer that is not
// PostgreSQL's (MariaDB-like text: booleans as 1/0, DATETIME with a space).
#include "format/value_json.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/error.h"
#include "format/json_writer.h"

namespace sluice {
namespace {

class OtherSourceRenderer final : public ValueRenderer {
 public:
  void append_json(std::string& out, const TypeInfo& type, std::string_view text) const override {
    switch (type.category) {
      case ValueCategory::kBool:
        if (text != "0" && text != "1") throw Error::invalid_input(type.name + ": not 0 or 1");
        out += text == "1" ? "true" : "false";
        return;
      case ValueCategory::kTimestamp: {
        std::string xsd(text);
        if (xsd.size() > 10 && xsd[10] == ' ') xsd[10] = 'T';
        append_json_string(out, xsd);
        return;
      }
      case ValueCategory::kString:
        append_json_string(out, text);
        return;
      default:
        out.append(text);
        return;
    }
  }
};

const OtherSourceRenderer kRenderer;

TypeInfoPtr type(std::string name, ValueCategory category) {
  auto t = std::make_shared<TypeInfo>();
  t->name = std::move(name);
  t->category = category;
  t->renderer = &kRenderer;
  return t;
}

Relation relation() {
  Relation r;
  r.schema = "shop";
  r.name = "orders";
  auto column = [](std::string name, TypeInfoPtr t) {
    Column c;
    c.name = std::move(name);
    c.type = std::move(t);
    return c;
  };
  r.columns.push_back(column("id", type("BIGINT", ValueCategory::kInteger)));
  r.columns.push_back(column("paid", type("TINYINT(1)", ValueCategory::kBool)));
  r.columns.push_back(column("at", type("DATETIME", ValueCategory::kTimestamp)));
  r.columns.push_back(column("note", type("VARCHAR", ValueCategory::kString)));
  return r;
}

TEST(ValueJsonTest, RowsRenderThroughTheSourcesRenderer) {
  const Relation r = relation();
  EXPECT_EQ(row_to_json(r, {Value::of("7"), Value::of("1"), Value::of("2024-05-01 12:00:00"), Value::null()}),
            R"({"id":7,"paid":true,"at":"2024-05-01T12:00:00","note":null})");
  try {
    row_to_json(r, {Value::of("7"), Value::of("yes"), Value::null(), Value::null()});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_STREQ(e.what(), "shop.orders.paid: TINYINT(1): not 0 or 1");
  }
}

TEST(ValueJsonTest, FieldsAreTheStringsTextOrTheRenderingUnquoted) {
  const Relation r = relation();
  EXPECT_EQ(value_to_field(*r.columns[3].type, "it's \"quoted\""), "it's \"quoted\"");  // a string: as it is
  EXPECT_EQ(value_to_field(*r.columns[2].type, "2024-05-01 12:00:00"), "2024-05-01T12:00:00");
  EXPECT_EQ(value_to_field(*r.columns[1].type, "0"), "false");
  EXPECT_EQ(value_to_field(*r.columns[0].type, "42"), "42");
  // A rendered string with escapes is decoded.
  EXPECT_EQ(value_to_field(*r.columns[2].type, "a\"b\\c\n"), "a\"b\\c\n");
}

TEST(ValueJsonTest, JsonStringContentDecodesEscapesAndRefusesTheRest) {
  EXPECT_EQ(json_string_content(R"("plain")"), "plain");
  EXPECT_EQ(json_string_content(R"("")"), "");
  EXPECT_EQ(json_string_content(R"("a\"b\\c\/\n\u00e9\ud83d\ude00")"), "a\"b\\c/\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_THROW(json_string_content("42"), Error);
  EXPECT_THROW(json_string_content(R"("open)"), Error);
  EXPECT_THROW(json_string_content(R"("bad \x escape")"), Error);
  EXPECT_THROW(json_string_content(R"("a" "b")"), Error);
}

TEST(ValueJsonTest, ATypeWithoutRendererOrAColumnWithoutTypeIsNamed) {
  Relation r = relation();
  auto bare = std::make_shared<TypeInfo>();
  bare->name = "mystery";
  bare->category = ValueCategory::kNumber;
  r.columns[0].type = bare;
  EXPECT_THROW(row_to_json(r, {Value::of("1"), Value::null(), Value::null(), Value::null()}), Error);
  r.columns[0].type = nullptr;
  try {
    row_to_json(r, {Value::of("1"), Value::null(), Value::null(), Value::null()});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_STREQ(e.what(), "shop.orders.id: its type is not resolved");
  }
}

}  // namespace
}  // namespace sluice
