// Shared by the Redis sink tests: a fixture with a real redis-server per test;
// changes are built with the test kit (tests/kit/changes.h).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/error.h"
#include "source/postgres/pg_builtin_types.h"
#include "harness/servers.h"
#include "kit/changes.h"
#include "sink/redis/redis_sink.h"
#include "source/postgres/pg_position.h"

namespace sluice::redis_test {

using test::RedisClient;
using test::RedisServer;

using namespace kit;  // the change builders (tests/kit/changes.h)

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---- fixture ------------------------------------------------------------------

class RedisSinkTest : public ::testing::Test {
 protected:
  explicit RedisSinkTest(bool appendonly = false) : redis_(appendonly), client_(redis_.port()) {}

  RedisSinkConfig config(SinkMode mode = SinkMode::kUpsert, DocumentFormat format = DocumentFormat::kJson) const {
    RedisSinkConfig c;
    c.name = "cache";
    c.url = redis_.url();
    c.mode = mode;
    c.format = format;
    c.script_max_ops = script_max_ops_;
    return c;
  }

  // A sink that follows "slot1" from 0/100, like a fresh start without snapshot.
  std::unique_ptr<RedisSink> started(const RedisSinkConfig& c) {
    auto sink = std::make_unique<RedisSink>(c);
    sink->start_without_snapshot("slot1", pg::position(pg::Lsn(0x100)));
    return sink;
  }

  std::optional<std::string> hget(const std::string& key, const std::string& field) {
    return client_.command({"HGET", key, field}).at(0);
  }
  std::map<std::string, std::string> hgetall(const std::string& key) {
    auto flat = client_.command({"HGETALL", key});
    std::map<std::string, std::string> out;
    for (size_t i = 0; i + 1 < flat.size(); i += 2) out[*flat[i]] = *flat[i + 1];
    return out;
  }
  std::string checkpoint() { return hget("sluice:cache:checkpoint", "position").value_or("<none>"); }

  RedisServer redis_;
  RedisClient client_;
  // 0: the plain-command path wherever it applies (plain_batch.h); a suite
  // parameterised over both paths sets it to kScriptEverywhere.
  size_t script_max_ops_ = 0;
};

constexpr size_t kScriptEverywhere = 1000000;

}  // namespace sluice::redis_test
