#include "faults/regression_watcher.h"

#include <chrono>
#include <memory>

namespace sluice::test {
namespace {

constexpr std::size_t kVersionWidth = 25;  // Position::encode(): 16 hex, ':', 8 hex
constexpr std::size_t kMaxExamples = 10;

}  // namespace

RegressionWatcher::RegressionWatcher(int redis_port, std::vector<std::string> index_keys)
    : port_(redis_port), index_keys_(std::move(index_keys)) {
  thread_ = std::thread([this] { loop(); });
}

RegressionWatcher::~RegressionWatcher() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> RegressionWatcher::examples() const {
  std::lock_guard lock(mu_);
  return examples_;
}

void RegressionWatcher::loop() {
  using namespace std::chrono_literals;
  std::unique_ptr<RedisClient> redis;
  while (!stopping_) {
    try {
      if (!redis) redis = std::make_unique<RedisClient>(port_);
      sample(*redis);
      ++samples_;
    } catch (const std::exception&) {
      // Redis is down or restarting: reconnect on the next round.
      ++failed_reads_;
      redis.reset();
    }
    std::this_thread::sleep_for(50ms);
  }
}

void RegressionWatcher::sample(RedisClient& redis) {
  for (const auto& index : index_keys_) {
    auto flat = redis.command({"HGETALL", index});  // identity, entry, identity, entry, ...
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
      if (!flat[i] || !flat[i + 1] || flat[i + 1]->size() < kVersionWidth) continue;
      std::string version = flat[i + 1]->substr(0, kVersionWidth);
      Seen& seen = seen_[index + '\n' + *flat[i]];
      ++compared_;
      // Counted once per backward step, not once per sample that still shows it.
      if (version < seen.highest && version != seen.last) {
        ++regressions_;
        if (examples_.size() < kMaxExamples) {
          examples_.push_back(index + " " + *flat[i] + ": " + seen.highest + " -> " + version);
        }
      }
      seen.last = version;
      if (version > seen.highest) seen.highest = version;
    }
  }
}

}  // namespace sluice::test
