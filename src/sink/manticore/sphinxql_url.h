// The address of a SphinxQL server (Manticore Search, or Sphinx 2.2 searchd with
// a `listen = host:port:mysql41` line), as a search sink's `url` gives it:
//   mysql://[user[:password]@]host[:port]
// host may be an IPv6 literal in brackets; port defaults to 9306 (SphinxQL's
// customary port). User and password may be percent-encoded (a password holding
// '@', ':' or '/' must be). Sphinx 2.2 ignores both (it has no authentication);
// they are passed on for a proxy or a Manticore build that checks them.
// A path (SphinxQL has no databases), query parameters, fragments and any other
// scheme are rejected rather than ignored.
//
// Plain value type; parse() is pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice {

struct SphinxqlUrl {
  static constexpr int kDefaultPort = 9306;

  std::string user;                     // empty: none sent
  std::optional<std::string> password;  // set only when the url has ":password@"
  std::string host;                     // without brackets
  int port = kDefaultPort;

  // Throws Error::config("sphinxql url 'mysql://u:********@h': ...") naming what is
  // wrong; the message never contains the password.
  static SphinxqlUrl parse(std::string_view text);

  // mysql://user:********@host:port (mysql://host:port without credentials), for
  // messages and logs.
  std::string redacted() const;
  // host:port, IPv6 hosts in brackets.
  std::string endpoint() const;
};

}  // namespace sluice
