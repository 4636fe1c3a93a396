// The address of a Redis server, as a sink's `url` gives it:
//   redis://[user[:password]@]host[:port][/db]     plain TCP
//   rediss://[user[:password]@]host[:port][/db]    TLS (the sink's tls_* keys)
// host may be an IPv6 literal in brackets; port defaults to 6379, db to 0. User and
// password may be percent-encoded (a password containing '@' or ':' must be).
// Unix sockets and query parameters are not supported and are rejected rather
// than ignored.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice {

struct RedisUrl {
  std::string user;                    // empty: the default user
  std::optional<std::string> password; // AUTH is sent only when set
  std::string host;                    // without brackets
  int port = 6379;
  int db = 0;
  bool tls = false;                    // rediss://

  // Throws Error::config("redis url 'redis://u:********@h/x': ...") on anything
  // else; the message never contains the password.
  static RedisUrl parse(std::string_view text);

  // redis[s]://user:********@host:port/db, for messages and logs.
  std::string redacted() const;
  // host:port/db (no credentials at all).
  std::string endpoint() const;
};

}  // namespace sluice
