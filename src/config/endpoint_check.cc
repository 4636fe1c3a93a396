#include "config/endpoint_check.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "config/conninfo.h"
#include "config/redact.h"
#include "config/suggest.h"
#include "core/error.h"

namespace sluice {
namespace {


std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

// libpq's keyword list (PQconndefaults), so the check follows the installed libpq.
const std::set<std::string>& libpq_keywords() {
  static const std::set<std::string> keywords = [] {
    std::set<std::string> out;
    if (PQconninfoOption* options = PQconndefaults()) {
      for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) out.insert(o->keyword);
      PQconninfoFree(options);
    }
    return out;
  }();
  return keywords;
}

std::string keyword_value_problem(std::string_view dsn, std::string_view hint) {
  conninfo::KeywordValueList list = conninfo::parse_keyword_value(dsn);
  // Right after a password, the "word" is most likely the rest of that password:
  // say so without printing it.
  const std::string after_secret =
      "text after the password value is not a keyword=value pair" +
      (hint.empty() ? std::string("; quote a password that contains spaces: password='...'")
                    : std::string(hint));
  if (list.error) {
    const conninfo::SyntaxError& e = *list.error;
    if (e.after_secret) return after_secret;
    switch (e.kind) {
      case conninfo::SyntaxError::kMissingEquals:
        return "missing \"=\" after " + in_quotes(e.keyword) + std::string(hint);
      case conninfo::SyntaxError::kEmptyKeyword:
        return "\"=\" without a keyword before it" + std::string(hint);
      case conninfo::SyntaxError::kUnterminatedQuote:
        return "the quoted value of " + e.keyword + " has no closing quote" + std::string(hint);
    }
  }
  const std::set<std::string>& known = libpq_keywords();
  if (known.empty()) return {};  // libpq could not tell us; it will at connect time
  for (size_t i = 0; i < list.params.size(); ++i) {
    const std::string& keyword = list.params[i].keyword;
    if (known.contains(keyword)) continue;
    if (i > 0 && conninfo::is_secret_keyword(list.params[i - 1].keyword)) {
      return after_secret;
    }
    std::vector<std::string_view> candidates(known.begin(), known.end());
    return "unknown connection parameter " + in_quotes(keyword) + did_you_mean(keyword, candidates);
  }
  return {};
}

std::string uri_problem(std::string_view dsn, std::string_view hint) {
  std::string text(dsn);
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(text.c_str(), &error);
  if (options != nullptr) {
    PQconninfoFree(options);
    return {};
  }
  std::string message = error != nullptr ? error : "libpq could not parse it (out of memory?)";
  if (error != nullptr) PQfreemem(error);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  // Several libpq URI messages quote the whole URI, password included.
  std::string redacted = redact_dsn(text);
  for (size_t pos = 0; (pos = message.find(text, pos)) != std::string::npos;) {
    message.replace(pos, text.size(), redacted);
    pos += redacted.size();
  }
  message = redact_secrets(std::move(message), dsn_secret_values(dsn));
  return "invalid connection URI: " + message + std::string(hint);
}

}  // namespace

std::optional<std::string> dsn_problem(std::string_view dsn, bool has_inserted_text) {
  if (dsn.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return "is empty: write libpq connection parameters such as \"host=... dbname=... "
           "user=...\" or a postgresql:// URI";
  }
  const bool uri = conninfo::is_uri(dsn);
  std::string_view hint;
  if (has_inserted_text) {
    hint = uri ? " (a value inserted by ${env:...} or ${file:...} must be percent-encoded in a "
                 "URI)"
               : " (a value inserted by ${env:...} or ${file:...} may need quoting: "
                 "password='...', with ' and \\ written as \\' and \\\\)";
  }
  std::string problem = uri ? uri_problem(dsn, hint) : keyword_value_problem(dsn, hint);
  if (problem.empty()) return std::nullopt;
  return problem;
}

std::vector<std::string> dsn_secret_values(std::string_view dsn) {
  std::vector<std::string> out;
  if (conninfo::is_uri(dsn)) {
    for (const conninfo::Span& s : conninfo::uri_secret_spans(dsn, false)) {
      out.emplace_back(dsn.substr(s.begin, s.end - s.begin));
    }
    return out;
  }
  for (const conninfo::Param& p : conninfo::parse_keyword_value(dsn).params) {
    if (!conninfo::is_secret_keyword(p.keyword)) continue;
    out.push_back(p.value);
    out.emplace_back(dsn.substr(p.value_span.begin, p.value_span.end - p.value_span.begin));
  }
  return out;
}

std::vector<std::string> url_secret_values(std::string_view url) {
  std::vector<std::string> out;
  for (const conninfo::Span& s : conninfo::uri_secret_spans(url, true)) {
    out.emplace_back(url.substr(s.begin, s.end - s.begin));
  }
  return out;
}

}  // namespace sluice
