// Just enough of libpq's connection-string syntax to find secrets in it and to
// explain syntax errors without echoing values. Both forms are handled:
//   - keyword/value: `host=h password='it''s'` - whitespace-separated, values may
//     be single-quoted, backslash escapes the next character (libpq's
//     conninfo_parse in fe-connect.c);
//   - URIs: postgresql://user:password@host/db?password=...
// Used by config/redact.cc and the configuration loader; nothing here talks to a
// server.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::conninfo {

// [begin, end) byte offsets into the string that was scanned.
struct Span {
  size_t begin = 0;
  size_t end = 0;
};

// True for keywords whose value is a secret: libpq's password and sslpassword, and
// misspellings such as "passwd" (anything containing "pass" or "pwd", ignoring
// case) so a typo does not print the secret it was meant to hide.
bool is_secret_keyword(std::string_view keyword);

// "postgresql://" or "postgres://" (any case).
bool is_uri(std::string_view dsn);

struct Param {
  std::string keyword;
  std::string value;  // unquoted, escapes resolved
  Span value_span;    // the value as written, quotes included
};

struct SyntaxError {
  enum Kind {
    kMissingEquals,      // a word not followed by "="
    kEmptyKeyword,       // "=" with nothing before it
    kUnterminatedQuote,  // a quoted value without its closing quote
  } kind;
  size_t offset;        // where the offending word or value starts
  std::string keyword;  // the word (kMissingEquals) or the keyword (kUnterminatedQuote)
  // True when the offending text directly follows a secret value: it is then
  // probably the rest of an unquoted secret and must not be printed.
  bool after_secret = false;
};

struct KeywordValueList {
  std::vector<Param> params;  // everything before the error, if any
  std::optional<SyntaxError> error;
};

// Scans keyword/value form. Never throws.
KeywordValueList parse_keyword_value(std::string_view dsn);

// Spans of secrets in a URI of any scheme ("scheme://userinfo@host...?k=v&..."):
// the password in the userinfo and values of secret query parameters. With
// `bare_userinfo_is_secret`, a userinfo without ':' counts as a password (Redis
// clients disagree on whether "redis://word@host" names a user or a password).
// Errs on the side of hiding too much when the URI is malformed.
std::vector<Span> uri_secret_spans(std::string_view uri, bool bare_userinfo_is_secret);

}  // namespace sluice::conninfo
