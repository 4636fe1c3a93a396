#include "sink/redis/redis_connection.h"

#include <sys/time.h>

#include <charconv>

#include <hiredis/hiredis.h>

#include "config/redact.h"

namespace sluice {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

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

RedisConnection::RedisConnection(const RedisUrl& url, const Options& options, std::string context)
    : url_(url), context_(std::move(context)) {
  ctx_ = redisConnectWithTimeout(url_.host.c_str(), url_.port, to_timeval(options.connect_timeout));
  if (ctx_ == nullptr) {
    throw Error::transient(context_ + ": cannot connect to " + url_.redacted() + ": out of memory");
  }
  try {
    if (ctx_->err) {
      broken_ = true;
      throw Error::transient(scrub(context_ + ": cannot connect to " + url_.redacted() + ": " + ctx_->errstr));
    }
    if (redisSetTimeout(ctx_, to_timeval(options.command_timeout)) != REDIS_OK) fail("setting the command timeout");
    redisEnableKeepAlive(ctx_);

    if (url_.password) {
      std::vector<std::string_view> auth{"AUTH"};
      if (!url_.user.empty()) auth.push_back(url_.user);
      auth.push_back(*url_.password);
      RedisReply reply = command(auth);
      if (reply.is_error()) {
        Error e = reply_error("AUTH as " + (url_.user.empty() ? std::string("the default user") : "'" + url_.user + "'"),
                              reply.str());
        if (e.kind() != ErrorKind::kTransient) throw Error::server(e.what());
        throw e;
      }
    }
    if (url_.db != 0) {
      const std::string db = std::to_string(url_.db);
      RedisReply reply = command(std::vector<std::string_view>{"SELECT", db});
      if (reply.is_error()) {
        Error e = reply_error("SELECT " + db, reply.str());
        if (e.kind() != ErrorKind::kTransient) throw Error::server(e.what());
        throw e;
      }
    }
  } catch (...) {
    redisFree(ctx_);
    ctx_ = nullptr;
    throw;
  }
}

RedisConnection::~RedisConnection() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

std::string RedisConnection::scrub(std::string text) const {
  if (!url_.password || url_.password->empty()) return text;
  return redact_secrets(std::move(text), {*url_.password});
}

void RedisConnection::fail(std::string_view what) {
  broken_ = true;
  std::string reason = ctx_ != nullptr && ctx_->err ? std::string(ctx_->errstr) : "connection lost";
  if (ctx_ != nullptr && ctx_->err == REDIS_ERR_IO && reason.find("temporarily unavailable") != std::string::npos) {
    reason = "timed out";  // hiredis reports a read timeout as EAGAIN
  }
  throw Error::transient(scrub(context_ + ": " + url_.redacted() + ": " + std::string(what) + ": " + reason));
}

void RedisConnection::ensure_usable() const {
  if (broken_ || ctx_ == nullptr) {
    throw Error::transient(context_ + ": " + url_.redacted() + ": the connection was lost");
  }
}

RedisReply RedisConnection::command(const std::vector<std::string_view>& argv) {
  append(argv);
  ensure_usable();
  void* reply = nullptr;
  if (redisGetReply(ctx_, &reply) != REDIS_OK || reply == nullptr) {
    fail(argv.empty() ? std::string_view("command") : argv.front());
  }
  auto root = own(reply);
  return RedisReply(root, root.get());
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
  resp_.clear();
  append_resp(resp_, argv);
  if (redisAppendFormattedCommand(ctx_, resp_.data(), resp_.size()) != REDIS_OK) fail("queueing a command");
  if (resp_.capacity() > kKeptBuffer) std::string().swap(resp_);  // a big batch's buffer is not kept
}

RedisReply RedisConnection::read() {
  ensure_usable();
  void* reply = nullptr;
  if (redisGetReply(ctx_, &reply) != REDIS_OK || reply == nullptr) fail("reading a reply");
  auto root = own(reply);
  return RedisReply(root, root.get());
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
