// RedisSink's key-space scan and guarded delete (contract: key_space_scan.h).
#include <string>
#include <vector>

#include "core/error.h"
#include "sink/redis/lua_scripts.h"
#include "sink/redis/redis_sink.h"

namespace sluice {

namespace {

constexpr const char* kScanCount = "1000";

// KEYS[1] the checkpoint; ARGV[1] its position as read before the source was
// asked ('' none); ARGV[2] the index key prefix "P:index:"; then per key: the
// key, '1' if it needs a quiet sink, the number n of possible owners, and n
// pairs (table, identity). Returns {keys deleted, {keys kept}}.
constexpr std::string_view kRemoveUnownedScript = lua::kRemoveUnowned;  // lua/remove_unowned.lua

}  // namespace

void RedisSink::scan_keys(const std::string& glob, const std::function<void(const std::vector<std::string>&)>& visit) {
  const std::string own_state = prefix_ + ":";
  std::string cursor = "0";
  do {
    std::vector<std::string> keys;
    with_connection([&](RedisConnection& conn) {
      RedisReply reply = conn.checked({"SCAN", cursor, "MATCH", glob, "COUNT", kScanCount}, "SCAN MATCH " + glob);
      cursor = std::string(reply.at(0).str());
      RedisReply found = reply.at(1);
      for (size_t i = 0; i < found.size(); ++i) {
        std::string_view key = found.at(i).str();
        if (key.substr(0, own_state.size()) != own_state) keys.emplace_back(key);
      }
      return 0;
    });
    if (!keys.empty()) visit(keys);
  } while (cursor != "0");
}

std::vector<KeyProbe> RedisSink::probe_keys(const std::vector<UnownedKey>& keys) {
  const std::string index_prefix = prefix_ + ":index:";
  return with_connection([&](RedisConnection& conn) {
    for (const auto& key : keys) {
      conn.append({"EXISTS", key.key});
      for (const auto& owner : key.owners) conn.append({"HGET", index_prefix + owner.table, owner.identity});
    }
    std::vector<KeyProbe> out(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      RedisReply exists = conn.read();
      if (exists.is_error()) throw conn.reply_error("EXISTS " + keys[i].key, exists.str());
      out[i].exists = exists.integer() == 1;
      for (const auto& owner : keys[i].owners) {
        RedisReply entry = conn.read();
        if (entry.is_error()) throw conn.reply_error("reading " + index_prefix + owner.table, entry.str());
        if (entry.is_nil()) continue;
        // "<version> <redis key>" (batch_script.h)
        std::string_view text = entry.str();
        const size_t space = text.find(' ');
        if (space != std::string_view::npos && text.substr(space + 1) == keys[i].key) out[i].indexed = true;
      }
    }
    return out;
  });
}

std::string RedisSink::checkpoint_token() {
  return with_connection([&](RedisConnection& conn) {
    RedisReply reply = conn.checked({"HGET", checkpoint_key_, "position"}, "reading " + checkpoint_key_);
    return reply.is_nil() ? std::string() : std::string(reply.str());
  });
}

RemovedKeys RedisSink::remove_unowned_keys(const std::vector<UnownedKey>& keys, const std::string& token) {
  RemovedKeys result;
  if (keys.empty()) return result;
  std::vector<std::string> args{token, prefix_ + ":index:"};
  for (const auto& key : keys) {
    args.push_back(key.key);
    args.push_back(key.needs_quiet_sink ? "1" : "0");
    args.push_back(std::to_string(key.owners.size()));
    for (const auto& owner : key.owners) {
      args.push_back(owner.table);
      args.push_back(owner.identity);
    }
  }
  return with_connection([&](RedisConnection& conn) {
    std::vector<std::string_view> argv{"EVAL", kRemoveUnownedScript, "1", checkpoint_key_};
    argv.insert(argv.end(), args.begin(), args.end());
    RedisReply reply = conn.command(argv);
    if (reply.is_error()) throw_script_error(conn, reply.str(), "removing keys no row owns");
    if (reply.type() != RedisReply::Type::kArray || reply.size() != 2) {
      throw Error::protocol(context_ + ": the script removing keys no row owns returned no {removed, kept}");
    }
    result.removed = static_cast<uint64_t>(reply.at(0).integer());
    RedisReply kept = reply.at(1);
    for (size_t i = 0; i < kept.size(); ++i) result.kept.emplace_back(kept.at(i).str());
    return result;
  });
}

}  // namespace sluice
