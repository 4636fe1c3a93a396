#include "config/redact.h"

#include <algorithm>

#include "config/conninfo.h"

namespace sluice {
namespace {

constexpr std::string_view kMask = "********";

// Replaces each span (sorted, non-overlapping) by the mask.
std::string mask_spans(std::string_view text, const std::vector<conninfo::Span>& spans) {
  std::string out;
  size_t pos = 0;
  for (const conninfo::Span& span : spans) {
    if (span.begin < pos) continue;  // overlap: already masked
    out.append(text.substr(pos, span.begin - pos));
    out.append(kMask);
    pos = span.end;
  }
  if (pos < text.size()) out.append(text.substr(pos));
  return out;
}

}  // namespace

std::string redact_dsn(std::string_view dsn) {
  if (conninfo::is_uri(dsn)) {
    // In a postgresql:// URI a userinfo without ':' is the user name.
    return mask_spans(dsn, conninfo::uri_secret_spans(dsn, /*bare_userinfo_is_secret=*/false));
  }
  conninfo::KeywordValueList list = conninfo::parse_keyword_value(dsn);
  std::vector<conninfo::Span> spans;
  for (const conninfo::Param& param : list.params) {
    if (conninfo::is_secret_keyword(param.keyword)) spans.push_back(param.value_span);
  }
  if (list.error) {
    // Past a syntax error we cannot tell keywords from values: hide the rest.
    spans.push_back({list.error->offset, dsn.size()});
  }
  return mask_spans(dsn, spans);
}

std::string redact_url(std::string_view url) {
  if (url.find("://") != std::string_view::npos) {
    return mask_spans(url, conninfo::uri_secret_spans(url, /*bare_userinfo_is_secret=*/true));
  }
  // No scheme: read it as "userinfo@host..." all the same.
  constexpr std::string_view kScheme = "x://";
  std::string with_scheme = std::string(kScheme) + std::string(url);
  std::string masked = mask_spans(
      with_scheme, conninfo::uri_secret_spans(with_scheme, /*bare_userinfo_is_secret=*/true));
  return masked.substr(kScheme.size());
}

std::string redact_secrets(std::string text, const std::vector<std::string>& secrets) {
  // Longest first, so a secret that contains another one is masked whole.
  std::vector<std::string_view> ordered(secrets.begin(), secrets.end());
  std::sort(ordered.begin(), ordered.end(),
            [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  for (std::string_view secret : ordered) {
    if (secret.empty()) continue;
    size_t pos = 0;
    while ((pos = text.find(secret, pos)) != std::string::npos) {
      text.replace(pos, secret.size(), kMask);
      pos += kMask.size();
    }
  }
  return text;
}

}  // namespace sluice
