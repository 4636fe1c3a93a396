// Change::byte_size (core/change.h), the byte budgets' measure: what a change
// holds, computed once and remembered, computed again by a copy; and the queue
// that budgets by it.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "core/change.h"
#include "core/change_queue.h"

namespace sluice {
namespace {

std::shared_ptr<Change> change_with(std::string text) {
  auto change = std::make_shared<Change>();
  change->new_values = {Value::of(std::move(text)), Value::null()};
  return change;
}

TEST(ChangeTest, ByteSizeCountsTheValuesAndIsRemembered) {
  auto change = change_with(std::string(1000, 'x'));
  const size_t size = change->byte_size();
  EXPECT_GE(size, sizeof(Change) + 2 * sizeof(Value) + 1000);
  EXPECT_EQ(change->byte_size(), size);
}

TEST(ChangeTest, ACopyMeasuresItsOwnValues) {
  auto change = change_with("small");
  const size_t small = change->byte_size();
  auto copy = std::make_shared<Change>(*change);
  copy->new_values[0] = Value::of(std::string(5000, 'y'));
  EXPECT_GE(copy->byte_size(), small + 5000 - 16);
  EXPECT_EQ(change->byte_size(), small);
}

TEST(ChangeTest, TheQueueBudgetsBytesByIt) {
  ChangeQueue queue(4096);
  ASSERT_TRUE(queue.push(ChangePtr(change_with(std::string(3000, 'z'))), std::chrono::milliseconds(10)));
  const size_t held = queue.bytes();
  EXPECT_GE(held, 3000u);
  // The budget is full: a second large change waits (here: times out).
  EXPECT_FALSE(queue.push(ChangePtr(change_with(std::string(3000, 'z'))), std::chrono::milliseconds(10)));
  std::deque<QueueItem> out;
  EXPECT_EQ(queue.pop(out, 10, 1 << 20, std::chrono::milliseconds(10)), 1u);
  EXPECT_EQ(queue.bytes(), 0u);
}

}  // namespace
}  // namespace sluice
