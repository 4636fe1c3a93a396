#include "config/conninfo.h"

#include <algorithm>
#include <cctype>

namespace sluice::conninfo {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

// Query parameters "k=v&k=v" in [begin, end): spans of the secret values.
void add_query_secrets(std::string_view uri, size_t begin, size_t end, std::vector<Span>& out) {
  size_t i = begin;
  while (i < end) {
    size_t amp = uri.find('&', i);
    if (amp == std::string_view::npos || amp > end) amp = end;
    std::string_view param = uri.substr(i, amp - i);
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && is_secret_keyword(param.substr(0, eq))) {
      out.push_back({i + eq + 1, amp});
    }
    i = amp + 1;
  }
}

}  // namespace

bool is_secret_keyword(std::string_view keyword) {
  std::string k = lower(keyword);
  return k.find("pass") != std::string::npos || k.find("pwd") != std::string::npos;
}

bool is_uri(std::string_view dsn) {
  return starts_with_icase(dsn, "postgresql://") || starts_with_icase(dsn, "postgres://");
}

KeywordValueList parse_keyword_value(std::string_view s) {
  KeywordValueList out;
  const size_t n = s.size();
  size_t i = 0;
  auto skip_spaces = [&] {
    while (i < n && is_space(s[i])) ++i;
  };
  auto after_secret = [&] {
    return !out.params.empty() && is_secret_keyword(out.params.back().keyword);
  };
  while (true) {
    skip_spaces();
    if (i == n) break;
    size_t word_begin = i;
    while (i < n && s[i] != '=' && !is_space(s[i])) ++i;
    std::string keyword(s.substr(word_begin, i - word_begin));
    skip_spaces();
    if (i == n || s[i] != '=') {
      out.error = SyntaxError{SyntaxError::kMissingEquals, word_begin, keyword, after_secret()};
      break;
    }
    if (keyword.empty()) {
      out.error = SyntaxError{SyntaxError::kEmptyKeyword, word_begin, "", after_secret()};
      break;
    }
    ++i;  // '='
    skip_spaces();
    Param param{keyword, "", {i, i}};
    if (i < n && s[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < n) {
        if (s[i] == '\\') {
          if (++i < n) param.value += s[i++];
          continue;
        }
        if (s[i] == '\'') {
          ++i;
          closed = true;
          break;
        }
        param.value += s[i++];
      }
      if (!closed) {
        out.error = SyntaxError{SyntaxError::kUnterminatedQuote, param.value_span.begin, keyword,
                                after_secret()};
        break;
      }
    } else {
      while (i < n && !is_space(s[i])) {
        if (s[i] == '\\') {
          if (++i < n) param.value += s[i++];
          continue;
        }
        param.value += s[i++];
      }
    }
    param.value_span.end = i;
    out.params.push_back(std::move(param));
  }
  return out;
}

std::vector<Span> uri_secret_spans(std::string_view uri, bool bare_userinfo_is_secret) {
  std::vector<Span> spans;
  size_t scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return spans;
  const size_t rest = scheme_end + 3;
  const size_t n = uri.size();

  // The userinfo ends at the last '@' before the query. A password that (wrongly,
  // unencoded) contains '?' moves the '?' before the '@'; then take the last '@'
  // anywhere, which hides too much rather than too little.
  size_t query = uri.find('?', rest);
  if (query == std::string_view::npos) query = n;
  size_t at = std::string_view::npos;
  for (size_t j = query; j > rest; --j) {
    if (uri[j - 1] == '@') {
      at = j - 1;
      break;
    }
  }
  if (at == std::string_view::npos) {
    size_t last = uri.rfind('@');
    if (last != std::string_view::npos && last >= rest) {
      at = last;
      query = uri.find('?', at);
      if (query == std::string_view::npos) query = n;
    }
  }
  if (at != std::string_view::npos) {
    size_t colon = uri.find(':', rest);
    if (colon != std::string_view::npos && colon < at) {
      spans.push_back({colon + 1, at});
    } else if (bare_userinfo_is_secret && at > rest) {
      spans.push_back({rest, at});
    }
  }
  if (query < n) add_query_secrets(uri, query + 1, n, spans);
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  return spans;
}

}  // namespace sluice::conninfo
