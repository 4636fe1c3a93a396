#include "sink/redis/redis_url.h"

#include <charconv>

#include "config/percent_decode.h"
#include "config/redact.h"
#include "core/error.h"

namespace sluice {
namespace {

constexpr std::string_view kScheme = "redis://";
constexpr std::string_view kTlsScheme = "rediss://";

bool parse_int(std::string_view text, int min, int max, int& out) {
  if (text.empty()) return false;
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < min || value > max) return false;
  out = value;
  return true;
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

}  // namespace

RedisUrl RedisUrl::parse(std::string_view text) {
  auto bad = [&](const std::string& what) {
    return Error::config("redis url '" + redact_url(text) + "': " + what);
  };
  RedisUrl url;
  std::string_view rest;
  if (starts_with_ci(text, kTlsScheme)) {
    url.tls = true;
    rest = text.substr(kTlsScheme.size());
  } else if (starts_with_ci(text, kScheme)) {
    rest = text.substr(kScheme.size());
  } else {
    throw bad("expected redis://[user:password@]host[:port][/db], or rediss:// for TLS");
  }

  // The userinfo ends at the last '@' before the path: an unencoded '@' in a
  // password is taken as part of it rather than as the host.
  const size_t last_at = rest.rfind('@');
  const size_t path_start = rest.find_first_of("/?#", last_at == std::string_view::npos ? 0 : last_at);
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);

  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      // Never echo it: clients disagree on whether a bare userinfo is a user or a password.
      throw bad("the credentials need the form user:password@ (or :password@ for the default user)");
    }
    auto user = percent_decode(userinfo.substr(0, colon));
    auto password = percent_decode(userinfo.substr(colon + 1));
    if (!user) throw bad("malformed percent-escape in the user name");
    if (!password) throw bad("malformed percent-escape in the password");
    url.user = std::move(*user);
    url.password = std::move(*password);
  }

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) throw bad("unclosed '[' in the host");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw bad("unexpected text after the IPv6 host");
      port_text = after.substr(1);
      if (port_text.empty()) throw bad("empty port");
    }
  } else {
    const size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) throw bad("empty port");
    }
  }
  if (url.host.empty()) throw bad("no host");
  if (!port_text.empty() && !parse_int(port_text, 1, 65535, url.port)) {
    throw bad("port '" + std::string(port_text) + "' is not a number from 1 to 65535");
  }

  if (!path.empty()) {
    if (path.front() != '/') throw bad("query parameters and fragments are not supported");
    std::string_view db = path.substr(1);
    if (!db.empty() && !parse_int(db, 0, 1 << 20, url.db)) {
      throw bad("database '" + std::string(db) + "' is not a number");
    }
  }
  return url;
}

std::string RedisUrl::endpoint() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string out = ipv6 ? "[" + host + "]" : host;
  return out + ":" + std::to_string(port) + "/" + std::to_string(db);
}

std::string RedisUrl::redacted() const {
  std::string out(tls ? kTlsScheme : kScheme);
  if (password) out += user + ":********@";
  return out + endpoint();
}

}  // namespace sluice
