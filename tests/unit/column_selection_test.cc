#include "core/column_selection.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace sluice {
namespace {

Relation table() {
  Relation r;
  r.schema = "public";
  r.name = "account";
  for (const char* name : {"id", "email", "password_hash", "name"}) r.columns.emplace_back().name = name;
  return r;
}

std::string error_of(const std::optional<std::vector<std::string>>& keep,
                     const std::optional<std::vector<std::string>>& leave_out) {
  try {
    selected_columns(table(), keep, leave_out);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    return e.what();
  }
  return "";
}

TEST(ColumnSelectionTest, EveryColumnWhenNothingIsSaid) {
  EXPECT_EQ(selected_columns(table(), std::nullopt, std::nullopt), (std::vector<int>{0, 1, 2, 3}));
}

TEST(ColumnSelectionTest, ColumnsKeepsOnlyThoseInColumnOrder) {
  EXPECT_EQ(selected_columns(table(), std::vector<std::string>{"name", "id", "name"}, std::nullopt),
            (std::vector<int>{0, 3}));
}

TEST(ColumnSelectionTest, ExcludeColumnsLeavesThoseOut) {
  EXPECT_EQ(selected_columns(table(), std::nullopt, std::vector<std::string>{"password_hash", "email"}),
            (std::vector<int>{0, 3}));
}

TEST(ColumnSelectionTest, AnUnknownColumnIsNamedWithItsKey) {
  EXPECT_EQ(error_of(std::nullopt, std::vector<std::string>{"pasword_hash"}),
            "exclude_columns: the table has no column 'pasword_hash'");
  EXPECT_EQ(error_of(std::vector<std::string>{"nope"}, std::nullopt), "columns: the table has no column 'nope'");
}

TEST(ColumnSelectionTest, LeavingOutEveryColumnIsRefused) {
  EXPECT_EQ(error_of(std::nullopt, std::vector<std::string>{"id", "email", "password_hash", "name"}),
            "exclude_columns: leaves out every column of the table");
}

}  // namespace
}  // namespace sluice
