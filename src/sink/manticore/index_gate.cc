#include "sink/manticore/index_gate.h"

#include <map>

namespace sluice {

std::shared_ptr<IndexGate> IndexGate::of(const std::string& endpoint, const std::string& index) {
  static std::mutex registry_mutex;
  static std::map<std::string, std::weak_ptr<IndexGate>> registry;
  std::lock_guard lock(registry_mutex);
  std::weak_ptr<IndexGate>& slot = registry[endpoint + "/" + index];
  std::shared_ptr<IndexGate> gate = slot.lock();
  if (!gate) {
    gate = std::make_shared<IndexGate>();
    slot = gate;
  }
  return gate;
}

void IndexGate::begin_rebuild(const Position& copy_point) {
  std::lock_guard lock(state_);
  rebuilding_ = copy_point;
  tombstones_.clear();
  truncated_.reset();
}

void IndexGate::end_rebuild() {
  std::lock_guard lock(state_);
  rebuilding_.reset();
  tombstones_.clear();
  truncated_.reset();
}

std::optional<Position> IndexGate::rebuilding() const {
  std::lock_guard lock(state_);
  return rebuilding_;
}

void IndexGate::deleted(int64_t id, const Position& version) {
  std::lock_guard lock(state_);
  if (rebuilding_ && version > *rebuilding_) tombstones_[id] = version;
}

void IndexGate::truncated(const Position& version) {
  std::lock_guard lock(state_);
  if (rebuilding_ && version > *rebuilding_) truncated_ = version;
}

bool IndexGate::blocks(int64_t id) const {
  std::lock_guard lock(state_);
  return truncated_.has_value() || tombstones_.count(id) > 0;
}

}  // namespace sluice
