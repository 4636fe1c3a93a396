// [[sinks.tables]] exclude_columns (issue 13): a cache leaves out a column
// without listing every other one, and snapshot, streaming, verify and repair all
// honour it; `check` names a column the table does not have.
#include <gtest/gtest.h>

#include "integration/pipeline_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class ExcludeColumnsTest : public PipelineTest {
 protected:
  // The fixture's config, the cache sink leaving `columns` of user_account out.
  std::string config_leaving_out(const std::vector<std::string>& columns, const std::string& format = "json") {
    return write_config(config_toml("", "", "upsert", format)
                            .array_table("sinks.tables")
                            .set("table", "public.user_account")
                            .set("exclude_columns", columns));
  }
};

bool has(const std::optional<std::string>& text, const std::string& part) {
  return text && text->find(part) != std::string::npos;
}

TEST_F(ExcludeColumnsTest, SnapshotStreamingVerifyAndRepairLeaveTheColumnOut) {
  auto config = config_leaving_out({"email"});
  {
    auto sluice = start_sluice(config);
    ASSERT_TRUE(wait_streaming(*sluice)) << sluice->output();
    // Snapshot rows.
    auto first = cache->get("user_account:1");
    ASSERT_TRUE(first) << sluice->output();
    EXPECT_TRUE(has(first, "\"display_name\"")) << *first;
    EXPECT_FALSE(has(first, "\"email\"")) << *first;
    // Streamed insert and update.
    db->exec("INSERT INTO user_account (user_account_id, email, display_name) VALUES (50, 'secret@x', 'fifty')");
    db->exec("UPDATE user_account SET display_name = 'renamed', email = 'other@x' WHERE user_account_id = 1");
    ASSERT_TRUE(eventually([&] { return has(cache->get("user_account:1"), "renamed"); }, 20s)) << sluice->output();
    ASSERT_TRUE(eventually([&] { return cache->get("user_account:50").has_value(); }, 20s)) << sluice->output();
    EXPECT_FALSE(has(cache->get("user_account:50"), "secret@x"));
    EXPECT_FALSE(has(cache->get("user_account:1"), "other@x"));
    // Other tables keep every column.
    EXPECT_TRUE(has(cache->get("channel:1"), "\"tags\""));
    sluice->terminate();
    ASSERT_EQ(sluice->wait(30s), 0) << sluice->output();
  }
  auto [code, output] = run_sluice({"verify", "--config", config, "--table", "public.user_account"}, env);
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("public.user_account: 3 rows checked, 0 missing, 0 different, 0 extra"), std::string::npos)
      << output;

  // A document that carries the left-out column is drift, and repair removes it.
  cache->command({"SET", "user_account:50",
                  "{\"user_account_id\": 50, \"email\": \"secret@x\", \"display_name\": \"fifty\"}"});
  auto [code2, output2] = run_sluice({"verify", "--config", config, "--table", "public.user_account"}, env);
  EXPECT_EQ(code2, 1) << output2;
  EXPECT_NE(output2.find("different: user_account:50"), std::string::npos) << output2;
  auto [code3, output3] = run_sluice({"verify", "--config", config, "--table", "public.user_account", "--repair"}, env);
  EXPECT_EQ(code3, 0) << output3;
  EXPECT_FALSE(has(cache->get("user_account:50"), "secret@x"));
  EXPECT_TRUE(has(cache->get("user_account:50"), "fifty"));
}

TEST_F(ExcludeColumnsTest, HashDocumentsLeaveTheFieldOut) {
  auto config = config_leaving_out({"email", "create_date"}, "hash");
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice)) << sluice->output();
  db->exec("UPDATE user_account SET display_name = 'h' WHERE user_account_id = 2");
  ASSERT_TRUE(eventually([&] { return cache->command({"HGET", "user_account:2", "display_name"}).at(0) == "h"; }, 20s))
      << sluice->output();
  auto fields = cache->command({"HKEYS", "user_account:2"});
  std::vector<std::string> names;
  for (const auto& f : fields) names.push_back(f.value_or(""));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"display_name", "user_account_id"}));
}

TEST_F(ExcludeColumnsTest, CheckNamesAColumnTheTableDoesNotHave) {
  auto config = config_leaving_out({"emial"});
  auto [code, output] = run_sluice({"check", "--config", config}, env);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("problem: sink 'cache': table public.user_account: exclude_columns: the table has no column "
                        "'emial'"),
            std::string::npos)
      << output;
}

TEST_F(ExcludeColumnsTest, ColumnsAndExcludeColumnsTogetherAreAConfigError) {
  auto config = write_config(config_toml()
                                 .array_table("sinks.tables")
                                 .set("table", "public.user_account")
                                 .set("columns", {"email"})
                                 .set("exclude_columns", {"email"}));
  auto [code, output] = run_sluice({"check", "--config", config}, env);
  EXPECT_NE(code, 0) << output;
  EXPECT_NE(output.find("exclude_columns: give either columns (the ones to keep) or exclude_columns"), std::string::npos)
      << output;
}

}  // namespace
}  // namespace sluice::test
