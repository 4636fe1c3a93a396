// The [[sinks]] keys of kind = "manticore" (sink/manticore/manticore_config.h),
// read through the loader and the plugin registry as a user's file is.
#include <gtest/gtest.h>

#include <string>

#include "app/plugins.h"
#include "config/config.h"
#include "core/error.h"
#include "sink/manticore/manticore_config.h"

namespace sluice {
namespace {

// The issue's example, with a source.
constexpr std::string_view kSearchExample = R"([source]
dsn = "host=127.0.0.1 dbname=app"
slot = "s"
publication = "p"
tables = ["public.media", "public.channel"]

[[sinks]]
name = "search"
kind = "manticore"                 # Manticore Search, or Sphinx 2.2+
url = "mysql://127.0.0.1:9306"     # searchd's SphinxQL listener (mysql41)
index = "{table}_rt"               # one RT index per table; {schema}, {table}

[[sinks.tables]]
table = "public.media"
fields = ["title", "description"]  # full-text fields; every other routed column is an attribute
)";

std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "sluice.toml", builtin_plugins());
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "parsed without error:\n" << text;
  return "";
}

TEST(ManticoreSinkConfigTest, TheIssuesExampleParses) {
  Config config = parse_config(kSearchExample, "sluice.toml", builtin_plugins());
  ASSERT_EQ(config.sinks.size(), 1u);
  const auto& search = config.sinks[0].settings_as<ManticoreSinkConfig>();
  EXPECT_EQ(search.url, "mysql://127.0.0.1:9306");
  EXPECT_EQ(search.index_for("public.media"), "media_rt");
  ASSERT_EQ(search.tables.size(), 1u);
  EXPECT_EQ(search.tables[0].table, "public.media");
  EXPECT_EQ(search.tables[0].fields, (std::vector<std::string>{"title", "description"}));
  EXPECT_NE(search.table_config("public.media"), nullptr);
  EXPECT_EQ(search.table_config("public.channel"), nullptr);
  EXPECT_NE(config.sinks[0].settings->describe().find("{table}_rt"), std::string::npos);
}

TEST(ManticoreSinkConfigTest, IndexTemplatesExpandSchemaAndTableInLowerCase) {
  EXPECT_EQ(expand_index_template("{schema}_{table}", "Sales.Orders"), "sales_orders");
  EXPECT_EQ(expand_index_template("{table}", "public.media"), "media");
}

TEST(ManticoreSinkConfigTest, ATableWithoutFieldsIsAnErrorAtItsEntry) {
  const std::string message = error_of(replaced(std::string(kSearchExample),
                                                "fields = [\"title\", \"description\"]", "columns = [\"title\"]"));
  EXPECT_NE(message.find("sinks[0].tables[0]"), std::string::npos) << message;
  EXPECT_NE(message.find("fields"), std::string::npos) << message;
}

TEST(ManticoreSinkConfigTest, ASinkWithoutTablesIsAnError) {
  std::string text(kSearchExample);
  text = text.substr(0, text.find("[[sinks.tables]]"));
  EXPECT_NE(error_of(text).find("[[sinks.tables]]"), std::string::npos);
}

TEST(ManticoreSinkConfigTest, BadUrlsAreErrorsNamingTheKey) {
  const std::string message =
      error_of(replaced(std::string(kSearchExample), "mysql://127.0.0.1:9306", "redis://127.0.0.1:9306"));
  EXPECT_NE(message.find("sinks[0].url"), std::string::npos) << message;
  EXPECT_NE(error_of(replaced(std::string(kSearchExample), "mysql://127.0.0.1:9306", "mysql://:9306")).find("url"),
            std::string::npos);
}

TEST(ManticoreSinkConfigTest, AnIndexTemplateThatMakesNoIdentifierIsAnError) {
  const std::string message = error_of(replaced(std::string(kSearchExample), "{table}_rt", "{table}-rt"));
  EXPECT_NE(message.find("sinks[0].index"), std::string::npos) << message;
}

TEST(ManticoreSinkConfigTest, TwoTablesSharingOneIndexAreAnError) {
  std::string text = replaced(std::string(kSearchExample), "{table}_rt", "everything");
  text += "\n[[sinks.tables]]\ntable = \"public.channel\"\nfields = [\"name\"]\n";
  const std::string message = error_of(text);
  EXPECT_NE(message.find("share index 'everything'"), std::string::npos) << message;
}

TEST(ManticoreSinkConfigTest, AFieldThatIsAlsoExcludedIsAnError) {
  std::string text(kSearchExample);
  text += "exclude_columns = [\"description\"]\n";
  EXPECT_NE(error_of(text).find("exclude_columns"), std::string::npos);
}

TEST(ManticoreSinkConfigTest, RedisKeysAreUnknownToASearchSink) {
  const std::string message =
      error_of(replaced(std::string(kSearchExample), "index = \"{table}_rt\"", "key = \"{table}:{pk}\""));
  EXPECT_NE(message.find("key"), std::string::npos) << message;
}

}  // namespace
}  // namespace sluice
