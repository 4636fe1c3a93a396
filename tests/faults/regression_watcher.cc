#include "faults/regression_watcher.h"

#include <chrono>
#include <memory>

#include "harness/servers.h"

namespace sluice::test {
namespace {

constexpr std::size_t kVersionWidth = 25;  // Position::encode(): 16 hex, ':', 8 hex
constexpr std::size_t kMaxExamples = 10;

}  // namespace

// Reads the index hashes on a connection of its own, opened again after a failure.
RegressionWatcher::Reader redis_index_reader(int port, std::vector<std::string> index_keys) {
  auto redis = std::make_shared<std::unique_ptr<RedisClient>>();
  return [port, index_keys = std::move(index_keys), redis] {
    try {
      if (!*redis) *redis = std::make_unique<RedisClient>(port);
      std::vector<RegressionWatcher::Entry> entries;
      for (const auto& index : index_keys) {
        auto flat = (*redis)->command({"HGETALL", index});  // identity, entry, identity, entry, ...
        for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
          if (!flat[i] || !flat[i + 1] || flat[i + 1]->size() < kVersionWidth) continue;
          entries.push_back({index + ' ' + *flat[i], flat[i + 1]->substr(0, kVersionWidth)});
        }
      }
      return entries;
    } catch (...) {
      redis->reset();
      throw;
    }
  };
}

RegressionWatcher::RegressionWatcher(Reader reader) : reader_(std::move(reader)) {
  thread_ = std::thread([this] { loop(); });
}

RegressionWatcher::RegressionWatcher(int redis_port, std::vector<std::string> index_keys)
    : RegressionWatcher(redis_index_reader(redis_port, std::move(index_keys))) {}

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
  while (!stopping_) {
    try {
      sample();
      ++samples_;
    } catch (const std::exception&) {
      ++failed_reads_;  // the store is down or restarting: the reader reconnects next round
    }
    std::this_thread::sleep_for(50ms);
  }
}

void RegressionWatcher::sample() {
  auto entries = reader_();
  std::lock_guard lock(mu_);
  for (const auto& entry : entries) {
    Seen& seen = seen_[entry.key];
    ++compared_;
    // Counted once per backward step, not once per sample that still shows it.
    if (entry.version < seen.highest && entry.version != seen.last) {
      ++regressions_;
      if (examples_.size() < kMaxExamples) {
        examples_.push_back(entry.key + ": " + seen.highest + " -> " + entry.version);
      }
    }
    seen.last = entry.version;
    if (entry.version > seen.highest) seen.highest = entry.version;
  }
}

}  // namespace sluice::test
