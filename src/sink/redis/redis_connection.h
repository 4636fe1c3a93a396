// One blocking connection to a Redis server, owned RAII-style: a
// RedisTransport (TCP, or TLS for rediss://) carrying RESP, the commands
// written here and the replies parsed by hiredis' reader.
//
// Errors are classified the way the sink needs them (core/error.h):
//   - the server cannot be reached, the connection dropped or a command timed out:
//     Error::transient, and the connection is broken() from then on (a stream
//     that lost its place cannot be resynchronised); the owner drops it and
//     reconnects;
//   - the TLS handshake failed, or the server does not speak what the URL says
//     (TLS to a plain port, plain TCP to a TLS port): Error::server, saying so
//     (redis_transport.h);
//   - an error reply: see RedisConnection::reply_error();
//   - AUTH or SELECT refused: Error::server.
// No message contains the password: every text that could echo it (server
// replies) is scrubbed first.
//
// Not thread-safe: one connection is used by one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "sink/redis/redis_transport.h"
#include "sink/redis/redis_url.h"

struct redisReader;
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
    // For a rediss:// URL: how the server's certificate is checked, and the
    // client's own (mutual TLS). Ignored for redis://.
    RedisTlsSettings tls;
  };

  // Connects (TLS for rediss://), authenticates (AUTH [user] password),
  // selects the database, or else sends PING: a server that does not answer in
  // RESP is refused at once, with what to check. `context` names the owner in
  // messages (e.g. "redis sink 'cache'").
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

  struct ReaderFree {
    void operator()(redisReader* reader) const;
  };
  // The first reply of a new connection: a server that does not speak RESP
  // over what the URL says (a TLS port for redis://) is named as such.
  RedisReply first_reply(const std::vector<std::string_view>& argv);
  void flush();

  RedisUrl url_;
  std::string context_;
  std::unique_ptr<RedisTransport> transport_;
  std::unique_ptr<redisReader, ReaderFree> reader_;
  bool broken_ = false;
  std::string out_;  // commands queued by append(), formatted, not sent yet
};

}  // namespace sluice
