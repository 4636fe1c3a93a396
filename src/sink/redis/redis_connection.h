// One blocking connection to a Redis server (hiredis), owned RAII-style.
//
// Errors are classified the way the sink needs them (core/error.h):
//   - the server cannot be reached, the connection dropped or a command timed out:
//     Error::transient, and the connection is broken() from then on (hiredis
//     cannot resynchronise a stream it lost); the owner drops it and reconnects;
//   - an error reply: see RedisConnection::reply_error();
//   - AUTH or SELECT refused: Error::server.
// No message contains the password: every text that could echo it (hiredis'
// errstr, server replies) is scrubbed first.
//
// Not thread-safe: one connection is used by one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "sink/redis/redis_url.h"

struct redisContext;
struct redisReply;

namespace sluice {

// A reply, or one element of an array reply; elements share the ownership of the
// whole reply tree, so they may outlive the reply they came from.
class RedisReply {
 public:
  enum class Type { kString, kArray, kInteger, kNil, kStatus, kError };

  Type type() const;
  bool is_error() const { return type() == Type::kError; }
  bool is_nil() const { return type() == Type::kNil; }
  // String, status and error replies: the bytes (binary-safe). Empty otherwise.
  std::string_view str() const;
  // Integer replies (0 otherwise).
  long long integer() const;
  // Array replies: the number of elements (0 otherwise) and element i (bounds-checked:
  // Error::protocol when out of range).
  size_t size() const;
  RedisReply at(size_t i) const;

 private:
  friend class RedisConnection;
  RedisReply(std::shared_ptr<redisReply> root, const redisReply* node) : root_(std::move(root)), node_(node) {}
  std::shared_ptr<redisReply> root_;
  const redisReply* node_;
};

class RedisConnection {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{5000};
    // A batch script on a large truncate may run for a while; past this the
    // command counts as lost (transient) and the batch is retried, which the
    // checkpoint makes safe.
    std::chrono::milliseconds command_timeout{60000};
  };

  // Connects, authenticates (AUTH [user] password) and selects the database.
  // `context` names the owner in messages (e.g. "redis sink 'cache'").
  RedisConnection(const RedisUrl& url, const Options& options, std::string context);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends one command (binary-safe arguments) and waits for its reply. Error
  // replies are returned, not thrown; connection failures throw Error::transient.
  RedisReply command(const std::vector<std::string_view>& argv);
  RedisReply command(const std::vector<std::string>& argv);
  // Same, but an error reply throws reply_error(what, reply).
  RedisReply checked(const std::vector<std::string_view>& argv, std::string_view what);

  // Pipelining: append() queues commands in the output buffer, read() sends
  // whatever is queued and returns the next reply, in order.
  void append(const std::vector<std::string_view>& argv);
  RedisReply read();

  // True once the connection failed; every later call throws Error::transient.
  bool broken() const { return broken_; }

  // The Error for an error reply, classified by its code (first word):
  //   WRONGTYPE                                   -> Error::invalid_input
  //   LOADING, BUSY, TRYAGAIN, MASTERDOWN,
  //   CLUSTERDOWN (the server will answer later)  -> Error::transient
  //   anything else (OOM, NOPERM, READONLY, ...)  -> Error::server
  // The message is "<context>: <what>: <reply>", scrubbed of the password.
  Error reply_error(std::string_view what, std::string_view reply) const;

  // `text` with the password (if any) masked.
  std::string scrub(std::string text) const;

 private:
  [[noreturn]] void fail(std::string_view what);
  void ensure_usable() const;

  RedisUrl url_;
  std::string context_;
  redisContext* ctx_ = nullptr;
  bool broken_ = false;
  std::string resp_;  // the command being queued, formatted (reused)
};

}  // namespace sluice
