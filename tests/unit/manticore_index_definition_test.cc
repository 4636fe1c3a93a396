#include "sink/manticore/index_definition.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace sluice {
namespace {

IndexDefinition products() {
  return IndexDefinition("products", {"title", "body"},
                         {{"title", AttributeType::kString},
                          {"price", AttributeType::kBigint},
                          {"in_stock", AttributeType::kBool},
                          {"weight", AttributeType::kFloat},
                          {"updated_at", AttributeType::kTimestamp},
                          {"tags", AttributeType::kJson}});
}

std::string config_error(std::string name, std::vector<std::string> fields, std::vector<IndexAttribute> attributes) {
  try {
    IndexDefinition(std::move(name), std::move(fields), std::move(attributes));
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

// What Sphinx 2.2.11 printed here for the block products() generates (fields
// first in config order, then attributes grouped by type: uint, bigint, float,
// timestamp, string, json, bool).
SphinxqlConnection::Result describe_of_products() {
  SphinxqlConnection::Result r;
  r.columns = {"Field", "Type"};
  for (auto [name, type] : std::vector<std::pair<const char*, const char*>>{
           {"id", "bigint"}, {"title", "field"}, {"body", "field"}, {"price", "bigint"}, {"weight", "float"},
           {"updated_at", "timestamp"}, {"title", "string"}, {"_sluice_version", "string"},
           {"_sluice_identity", "string"}, {"_sluice_digest", "string"}, {"_sluice_checkpoint", "string"},
           {"tags", "json"}, {"in_stock", "bool"}}) {
    r.rows.push_back({std::string(name), std::string(type)});
  }
  return r;
}

TEST(IndexDefinitionTest, ReservedAttributesComeLast) {
  IndexDefinition d = products();
  ASSERT_EQ(d.attributes().size(), 10u);
  EXPECT_EQ(d.attributes()[6], (IndexAttribute{"_sluice_version", AttributeType::kString}));
  EXPECT_EQ(d.attributes()[7], (IndexAttribute{"_sluice_identity", AttributeType::kString}));
  EXPECT_EQ(d.attributes()[8], (IndexAttribute{"_sluice_digest", AttributeType::kString}));
  EXPECT_EQ(d.attributes()[9], (IndexAttribute{"_sluice_checkpoint", AttributeType::kString}));
}

TEST(IndexDefinitionTest, SphinxConfBlock) {
  EXPECT_EQ(products().sphinx_conf_block("/var/lib/sphinxsearch/data/products"),
            "# Search index 'products' for sluice. Once the index exists, searchd keeps its\n"
            "# schema in the index files: editing this block changes nothing until they are removed.\n"
            "index products\n"
            "{\n"
            "\ttype = rt\n"
            "\tpath = /var/lib/sphinxsearch/data/products\n"
            "\trt_field = title\n"
            "\trt_field = body\n"
            "\trt_attr_string = title\n"
            "\trt_attr_bigint = price\n"
            "\trt_attr_bool = in_stock\n"
            "\trt_attr_float = weight\n"
            "\trt_attr_timestamp = updated_at\n"
            "\trt_attr_json = tags\n"
            "\trt_attr_string = _sluice_version\n"
            "\trt_attr_string = _sluice_identity\n"
            "\trt_attr_string = _sluice_digest\n"
            "\trt_attr_string = _sluice_checkpoint\n"
            "}\n");
}

TEST(IndexDefinitionTest, PathMustBeOneLine) {
  EXPECT_THROW(products().sphinx_conf_block(""), Error);
  EXPECT_THROW(products().sphinx_conf_block("/a\n}\nindex evil {"), Error);
}

TEST(IndexDefinitionTest, ManticoreCreateTable) {
  EXPECT_EQ(products().manticore_create_table(),
            "CREATE TABLE `products` (`title` string attribute indexed, `body` text, `price` bigint, "
            "`in_stock` bool, `weight` float, `updated_at` timestamp, `tags` json, `_sluice_version` string, "
            "`_sluice_identity` string, `_sluice_digest` string, `_sluice_checkpoint` string)");
}

TEST(IndexDefinitionTest, NamesAreLowerCased) {
  IndexDefinition d("Products", {"Title"}, {{"Price", AttributeType::kBigint}});
  EXPECT_EQ(d.name(), "products");
  EXPECT_EQ(d.fields(), std::vector<std::string>{"title"});
  EXPECT_EQ(d.attributes()[0].name, "price");
  EXPECT_EQ(search_name_of("UpdatedAt"), "updatedat");
  EXPECT_THROW(search_name_of("my col"), Error);
}

TEST(IndexDefinitionTest, BadDefinitionsAreConfigErrors) {
  EXPECT_NE(config_error("p-x", {"t"}, {}).find("search index 'p-x': the index name"), std::string::npos);
  EXPECT_NE(config_error("p", {}, {}).find("needs at least one full-text field"), std::string::npos);
  EXPECT_NE(config_error("p", {"t", "T"}, {}).find("field 't' is listed twice"), std::string::npos);
  EXPECT_NE(config_error("p", {"t"}, {{"a", AttributeType::kBool}, {"A", AttributeType::kJson}})
                .find("attribute 'a' is listed twice"),
            std::string::npos);
  EXPECT_NE(config_error("p", {"t"}, {{"id", AttributeType::kBigint}}).find("id is the document id"),
            std::string::npos);
  EXPECT_NE(config_error("p", {"id"}, {}).find("id is the document id"), std::string::npos);
  EXPECT_NE(config_error("p", {"t"}, {{"_sluice_version", AttributeType::kString}}).find("reserved"),
            std::string::npos);
  EXPECT_NE(config_error("p", {"t"}, {{"2x", AttributeType::kString}}).find("attribute '2x' is not a name"),
            std::string::npos);
  EXPECT_NE(config_error("p", {"t"}, {{"t", AttributeType::kBigint}})
                .find("can share its name only with a string attribute"),
            std::string::npos);
}

TEST(IndexDefinitionTest, ConfigLines) {
  EXPECT_EQ(config_line({"price", AttributeType::kBigint}), "rt_attr_bigint = price");
  EXPECT_EQ(config_line({"b", AttributeType::kBool}), "rt_attr_bool = b");
  EXPECT_EQ(config_line({"f", AttributeType::kFloat}), "rt_attr_float = f");
  EXPECT_EQ(config_line({"t", AttributeType::kTimestamp}), "rt_attr_timestamp = t");
  EXPECT_EQ(config_line({"j", AttributeType::kJson}), "rt_attr_json = j");
  EXPECT_EQ(config_line({"s", AttributeType::kString}), "rt_attr_string = s");
}

TEST(IndexDefinitionTest, ParseDescribe) {
  std::vector<DescribedColumn> d = parse_describe(describe_of_products());
  ASSERT_EQ(d.size(), 13u);
  EXPECT_EQ(d[0].name, "id");
  EXPECT_EQ(d[0].type, "bigint");
  EXPECT_EQ(d[1].type, "field");
  EXPECT_EQ(d[1].properties, "");

  SphinxqlConnection::Result manticore;
  manticore.columns = {"Field", "Type", "Properties"};
  manticore.rows = {{"id", "bigint", ""}, {"title", "text", "indexed stored"}};
  std::vector<DescribedColumn> m = parse_describe(manticore);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1].properties, "indexed stored");
}

TEST(IndexDefinitionTest, ParseDescribeRefusesOtherResults) {
  SphinxqlConnection::Result wrong;
  wrong.columns = {"Variable_name", "Value"};
  EXPECT_THROW(parse_describe(wrong), Error);
  SphinxqlConnection::Result short_row;
  short_row.columns = {"Field", "Type"};
  short_row.rows = {{"id"}};
  EXPECT_THROW(parse_describe(short_row), Error);
  SphinxqlConnection::Result null_cell;
  null_cell.columns = {"Field", "Type"};
  null_cell.rows = {{"id", std::nullopt}};
  EXPECT_THROW(parse_describe(null_cell), Error);
}

TEST(IndexDefinitionTest, MatchingDescribeHasNoProblems) {
  EXPECT_TRUE(compare_schema(products(), parse_describe(describe_of_products())).empty());
}

TEST(IndexDefinitionTest, ExtraColumnsAreNoProblem) {
  SphinxqlConnection::Result r = describe_of_products();
  r.rows.push_back({std::string("legacy"), std::string("uint")});
  r.rows.push_back({std::string("notes"), std::string("field")});
  EXPECT_TRUE(compare_schema(products(), parse_describe(r)).empty());
}

TEST(IndexDefinitionTest, MissingAttributesGiveTheLineAndTheAlter) {
  SphinxqlConnection::Result r = describe_of_products();
  std::erase_if(r.rows, [](const SphinxqlConnection::Row& row) {
    return *row[0] == "price" || *row[0] == "updated_at" || *row[0] == "_sluice_digest";
  });
  std::vector<SchemaProblem> problems = compare_schema(products(), parse_describe(r));
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].name, "price");
  EXPECT_EQ(problems[0].problem, "missing bigint attribute");
  EXPECT_EQ(problems[0].config_line, "rt_attr_bigint = price");
  EXPECT_EQ(problems[0].alter, "ALTER TABLE `products` ADD COLUMN `price` BIGINT");
  EXPECT_EQ(problems[0].message("products"),
            "search index 'products': price: missing bigint attribute; add `rt_attr_bigint = price` to its block "
            "in sphinx.conf, and on the running index run `ALTER TABLE `products` ADD COLUMN `price` BIGINT` "
            "(searchd reads sphinx.conf only for an index that has no files yet)");
  // Sphinx 2.2's ALTER has no TIMESTAMP.
  EXPECT_EQ(problems[1].config_line, "rt_attr_timestamp = updated_at");
  EXPECT_FALSE(problems[1].alter);
  EXPECT_NE(problems[1].message("products").find("remove the index files"), std::string::npos);
  EXPECT_EQ(problems[2].config_line, "rt_attr_string = _sluice_digest");
  EXPECT_EQ(problems[2].alter, "ALTER TABLE `products` ADD COLUMN `_sluice_digest` STRING");
}

TEST(IndexDefinitionTest, WrongTypesAndMissingFieldsAreProblems) {
  SphinxqlConnection::Result r = describe_of_products();
  for (auto& row : r.rows) {
    if (*row[0] == "price") row[1] = "uint";
    if (*row[0] == "body") row[0] = "content";
  }
  std::vector<SchemaProblem> problems = compare_schema(products(), parse_describe(r));
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].name, "body");
  EXPECT_EQ(problems[0].problem, "missing full-text field");
  EXPECT_EQ(problems[0].config_line, "rt_field = body");
  EXPECT_FALSE(problems[0].alter);
  EXPECT_EQ(problems[1].name, "price");
  EXPECT_EQ(problems[1].problem, "attribute is uint, sluice needs bigint (replace its line)");
  EXPECT_EQ(problems[1].config_line, "rt_attr_bigint = price");
}

TEST(IndexDefinitionTest, AFieldIsNotTheStringAttributeOfTheSameName) {
  SphinxqlConnection::Result r = describe_of_products();
  std::erase_if(r.rows, [](const SphinxqlConnection::Row& row) { return *row[0] == "title" && *row[1] == "string"; });
  std::vector<SchemaProblem> problems = compare_schema(products(), parse_describe(r));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].config_line, "rt_attr_string = title");
}

TEST(IndexDefinitionTest, DescribeNamesCompareWithoutCase) {
  SphinxqlConnection::Result r = describe_of_products();
  for (auto& row : r.rows) {
    if (*row[0] == "price") row[0] = "Price";
  }
  EXPECT_TRUE(compare_schema(products(), parse_describe(r)).empty());
}

TEST(IndexDefinitionTest, ThirtyTwoBitIdsAreAProblem) {
  SphinxqlConnection::Result r = describe_of_products();
  r.rows[0][1] = "uint";
  std::vector<SchemaProblem> problems = compare_schema(products(), parse_describe(r));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].name, "id");
}

}  // namespace
}  // namespace sluice
