#include "sink/redis/redis_connection.h"

#include <charconv>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "config/redact.h"

namespace sluice {
namespace {

// The command in RESP ("*<argc>\r\n", then "$<length>\r\n<bytes>\r\n" per
// argument), appended to `out`: what hiredis' own formatting produces, written
// with to_chars (hiredis formats every argument's header with sdscatfmt, a
// noticeable share of a batch's CPU).
constexpr size_t kKeptBuffer = 1 << 20;

void append_resp(std::string& out, const std::vector<std::string_view>& argv) {
  size_t size = 16;
  for (std::string_view arg : argv) size += arg.size() + 24;
  out.reserve(out.size() + size);
  auto header = [&out](char tag, size_t n) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.push_back(tag);
    out.append(digits, end);
    out.append("\r\n", 2);
  };
  header('*', argv.size());
  for (std::string_view arg : argv) {
    header('$', arg.size());
    out.append(arg);
    out.append("\r\n", 2);
  }
}

std::shared_ptr<redisReply> own(void* reply) {
  return std::shared_ptr<redisReply>(static_cast<redisReply*>(reply),
                                     [](redisReply* r) { freeReplyObject(r); });
}

}  // namespace

// ---- RedisReply -------------------------------------------------------------

RedisReply::Type RedisReply::type() const {
  switch (node_->type) {
    case REDIS_REPLY_STRING: return Type::kString;
    case REDIS_REPLY_ARRAY: return Type::kArray;
    case REDIS_REPLY_INTEGER: return Type::kInteger;
    case REDIS_REPLY_NIL: return Type::kNil;
    case REDIS_REPLY_STATUS: return Type::kStatus;
    case REDIS_REPLY_ERROR: return Type::kError;
  }
  throw Error::protocol("redis reply of unknown type " + std::to_string(node_->type));
}

std::string_view RedisReply::str() const {
  switch (node_->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return {node_->str, node_->len};
  }
  return {};
}

long long RedisReply::integer() const {
  return node_->type == REDIS_REPLY_INTEGER ? node_->integer : 0;
}

size_t RedisReply::size() const {
  return node_->type == REDIS_REPLY_ARRAY ? node_->elements : 0;
}

RedisReply RedisReply::at(size_t i) const {
  if (i >= size()) {
    throw Error::protocol("redis reply: element " + std::to_string(i) + " of an array of " +
                          std::to_string(size()));
  }
  return RedisReply(root_, node_->element[i]);
}

// ---- RedisConnection --------------------------------------------------------

void RedisConnection::ReaderFree::operator()(redisReader* reader) const { redisReaderFree(reader); }

RedisConnection::RedisConnection(const RedisUrl& url, const Options& options, std::string context)
    : url_(url), context_(std::move(context)) {
  transport_ = std::make_unique<RedisTransport>(url_.host, url_.port, url_.tls ? &options.tls : nullptr,
                                                options.connect_timeout, context_, url_.redacted());
  transport_->set_timeout(options.command_timeout);
  reader_.reset(redisReaderCreate());
  if (!reader_) throw Error::internal(context_ + ": cannot create a reply reader: out of memory");

  if (url_.password) {
    std::vector<std::string_view> auth{"AUTH"};
    if (!url_.user.empty()) auth.push_back(url_.user);
    auth.push_back(*url_.password);
    RedisReply reply = first_reply(auth);
    if (reply.is_error()) {
      Error e = reply_error("AUTH as " + (url_.user.empty() ? std::string("the default user") : "'" + url_.user + "'"),
                            reply.str());
      if (e.kind() != ErrorKind::kTransient) throw Error::server(e.what());
      throw e;
    }
  }
  if (url_.db != 0) {
    const std::string db = std::to_string(url_.db);
    RedisReply reply = url_.password ? command(std::vector<std::string_view>{"SELECT", db})
                                     : first_reply(std::vector<std::string_view>{"SELECT", db});
    if (reply.is_error()) {
      Error e = reply_error("SELECT " + db, reply.str());
      if (e.kind() != ErrorKind::kTransient) throw Error::server(e.what());
      throw e;
    }
  }
  if (!url_.password && url_.db == 0) {
    RedisReply reply = first_reply(std::vector<std::string_view>{"PING"});
    // NOAUTH: the server wants a password the URL does not give.
    if (reply.is_error()) throw Error::server(reply_error("PING", reply.str()).what());
  }
}

RedisConnection::~RedisConnection() = default;

RedisReply RedisConnection::first_reply(const std::vector<std::string_view>& argv) {
  try {
    return command(argv);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kTransient && transport_->client_certificate_requested()) {
      // In TLS 1.3 the refusal comes after the handshake: an alert, or just a
      // dropped connection.
      throw Error::server(std::string(e.what()) +
                          " (the server asked for a client certificate and none is configured: tls_cert_file, "
                          "tls_key_file)");
    }
    if (e.kind() == ErrorKind::kTransient && !url_.tls) {
      // Not RESP: nothing else will come of it. A closed connection may also be
      // a server going down: transient, with the same hint.
      const std::string what = e.what();
      if (what.find("Protocol error") != std::string::npos) throw Error::server(what + " (is it a TLS port? use rediss://)");
      if (what.find("closed the connection") != std::string::npos || what.find("reset by peer") != std::string::npos) {
        throw Error::transient(what + " (is it a TLS port? use rediss://)");
      }
    }
    throw;
  }
}

std::string RedisConnection::scrub(std::string text) const {
  if (!url_.password || url_.password->empty()) return text;
  return redact_secrets(std::move(text), {*url_.password});
}

void RedisConnection::fail(std::string_view what) {
  broken_ = true;
  throw Error::transient(scrub(context_ + ": " + url_.redacted() + ": " + std::string(what)));
}

void RedisConnection::ensure_usable() const {
  if (broken_ || !transport_) {
    throw Error::transient(context_ + ": " + url_.redacted() + ": the connection was lost");
  }
}

RedisReply RedisConnection::command(const std::vector<std::string_view>& argv) {
  append(argv);
  return read();
}

RedisReply RedisConnection::command(const std::vector<std::string>& argv) {
  std::vector<std::string_view> views(argv.begin(), argv.end());
  return command(views);
}

RedisReply RedisConnection::checked(const std::vector<std::string_view>& argv, std::string_view what) {
  RedisReply reply = command(argv);
  if (reply.is_error()) throw reply_error(what, reply.str());
  return reply;
}

void RedisConnection::append(const std::vector<std::string_view>& argv) {
  ensure_usable();
  append_resp(out_, argv);
}

void RedisConnection::flush() {
  if (out_.empty()) return;
  try {
    transport_->write_all(out_);
  } catch (const Error& e) {
    broken_ = true;
    throw Error(e.kind(), scrub(e.what()));
  }
  out_.clear();
  if (out_.capacity() > kKeptBuffer) std::string().swap(out_);  // a big batch's buffer is not kept
}

RedisReply RedisConnection::read() {
  ensure_usable();
  flush();
  char buf[64 * 1024];
  while (true) {
    void* reply = nullptr;
    if (redisReaderGetReply(reader_.get(), &reply) != REDIS_OK) {
      fail(std::string("reading a reply: ") + (reader_->errstr[0] ? reader_->errstr : "protocol error"));
    }
    if (reply != nullptr) {
      auto root = own(reply);
      return RedisReply(root, root.get());
    }
    size_t n = 0;
    try {
      n = transport_->read_some(buf, sizeof buf);
    } catch (const Error& e) {
      broken_ = true;
      throw Error(e.kind(), scrub(e.what()));
    }
    if (redisReaderFeed(reader_.get(), buf, n) != REDIS_OK) fail("reading a reply: out of memory");
  }
}

Error RedisConnection::reply_error(std::string_view what, std::string_view reply) const {
  const std::string_view code = reply.substr(0, reply.find(' '));
  std::string message = scrub(context_ + ": " + std::string(what) + ": " + std::string(reply));
  if (code == "WRONGTYPE") return Error::invalid_input(std::move(message));
  if (code == "LOADING" || code == "BUSY" || code == "TRYAGAIN" || code == "MASTERDOWN" ||
      code == "CLUSTERDOWN") {
    return Error::transient(std::move(message));
  }
  return Error::server(std::move(message));
}

}  // namespace sluice
