// Counts changes per (table, op) into a MetricFamily whose last two labels are
// "table" and "op", after `fixed` values for the labels before them (e.g. the
// sink's name). Looks each table's series up once: the hot path is a hash of
// the relation's address and an atomic add.
// Not thread-safe: one instance per thread.
#pragma once

#include <array>
#include <atomic>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/change.h"
#include "core/metrics.h"

namespace sluice {

class ChangeCounts {
 public:
  ChangeCounts(MetricFamily& family, std::vector<std::string> fixed) : family_(family), fixed_(std::move(fixed)) {}

  void count(const Change& change, double n = 1);

 private:
  struct Series {
    RelationPtr relation;  // held, so that its address is not reused while cached
    std::array<std::atomic<double>*, 4> by_op{};  // indexed by Op
  };
  MetricFamily& family_;
  const std::vector<std::string> fixed_;
  std::unordered_map<const Relation*, Series> cache_;
};

}  // namespace sluice
