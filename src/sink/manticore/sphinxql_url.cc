#include "sink/manticore/sphinxql_url.h"

#include <cctype>
#include <charconv>

#include "config/percent_decode.h"
#include "config/redact.h"
#include "core/error.h"

namespace sluice {
namespace {

constexpr std::string_view kScheme = "mysql://";

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// A host name or IPv4 literal: letters, digits, '-', '.', '_' (no spaces, no
// control bytes, nothing a resolver would read differently).
bool plausible_host(std::string_view host) {
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool plausible_ipv6(std::string_view host) {
  if (host.find(':') == std::string_view::npos) return false;
  for (char c : host) {
    const bool ok = std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.' || c == '%';
    if (!ok) return false;
  }
  return true;
}

// Control bytes as \xNN, so that a message shows what was there (and a NUL does
// not end what() early).
std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

SphinxqlUrl SphinxqlUrl::parse(std::string_view text) {
  auto bad = [&](const std::string& what) {
    return Error::config(printable("sphinxql url '" + redact_url(text) + "': " + what));
  };
  if (!starts_with_ci(text, kScheme)) {
    throw bad("expected mysql://[user[:password]@]host[:port]");
  }
  std::string_view rest = text.substr(kScheme.size());

  SphinxqlUrl url;
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
    auto user = percent_decode(userinfo.substr(0, colon));
    if (!user) throw bad("malformed percent-escape in the user name");
    if (user->empty()) throw bad("empty user name before '@'");
    url.user = std::move(*user);
    if (colon != std::string_view::npos) {
      auto password = percent_decode(userinfo.substr(colon + 1));
      if (!password) throw bad("malformed percent-escape in the password");
      url.password = std::move(*password);
    }
  }

  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) throw bad("unclosed '[' in the host");
    url.host = std::string(authority.substr(1, close - 1));
    if (!plausible_ipv6(url.host)) throw bad("'" + url.host + "' in brackets is not an IPv6 address");
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw bad("unexpected text after the IPv6 host");
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
    if (!url.host.empty() && !plausible_host(url.host)) {
      throw bad("host '" + url.host + "' has characters a host name cannot have");
    }
  }
  if (url.host.empty()) throw bad("no host");
  if (has_port) {
    if (port_text.empty()) throw bad("empty port after ':'");
    int port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port, 10);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 || port > 65535) {
      throw bad("port '" + std::string(port_text) + "' is not a number from 1 to 65535");
    }
    url.port = port;
  }

  if (!path.empty()) {
    if (path.front() != '/') throw bad("query parameters and fragments are not supported");
    if (path != "/") throw bad("a path ('" + std::string(path) + "') is not supported: SphinxQL has no databases");
  }
  return url;
}

std::string SphinxqlUrl::endpoint() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string SphinxqlUrl::redacted() const {
  std::string out(kScheme);
  if (!user.empty()) out += user + (password ? ":********@" : "@");
  return out + endpoint();
}

}  // namespace sluice
