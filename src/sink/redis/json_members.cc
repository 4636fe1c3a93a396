#include "sink/redis/json_members.h"

#include <algorithm>
#include <optional>

#include "core/error.h"

namespace sluice {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

// s[i] == '"'; the offset just past the closing quote.
std::optional<size_t> string_end(std::string_view s, size_t i) {
  for (size_t j = i + 1; j < s.size(); ++j) {
    if (s[j] == '\\') {
      ++j;  // the escaped character (for \uXXXX the digits are plain characters)
    } else if (s[j] == '"') {
      return j + 1;
    }
  }
  return std::nullopt;
}

// The offset just past the value starting at s[i].
std::optional<size_t> value_end(std::string_view s, size_t i) {
  if (i >= s.size()) return std::nullopt;
  const char c = s[i];
  if (c == '"') return string_end(s, i);
  if (c == '{' || c == '[') {
    size_t depth = 0;
    for (size_t j = i; j < s.size(); ++j) {
      const char d = s[j];
      if (d == '"') {
        auto end = string_end(s, j);
        if (!end) return std::nullopt;
        j = *end - 1;
      } else if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return j + 1;
      }
    }
    return std::nullopt;
  }
  // number, true, false, null: up to the next delimiter
  size_t j = i;
  while (j < s.size() && s[j] != ',' && s[j] != '}' && s[j] != ']' && !is_space(s[j])) ++j;
  if (j == i) return std::nullopt;
  return j;
}

}  // namespace

bool for_each_json_member(std::string_view s,
                          const std::function<bool(std::string_view key_token, JsonSpan value)>& visit) {
  size_t i = skip_space(s, 0);
  if (i >= s.size() || s[i] != '{') return false;
  i = skip_space(s, i + 1);
  if (i < s.size() && s[i] == '}') return skip_space(s, i + 1) == s.size();
  while (true) {
    if (i >= s.size() || s[i] != '"') return false;
    auto key_end = string_end(s, i);
    if (!key_end) return false;
    std::string_view key = s.substr(i, *key_end - i);
    size_t v = skip_space(s, *key_end);
    if (v >= s.size() || s[v] != ':') return false;
    v = skip_space(s, v + 1);
    auto v_end = value_end(s, v);
    if (!v_end) return false;
    if (!visit(key, JsonSpan{v, *v_end})) return true;
    i = skip_space(s, *v_end);
    if (i >= s.size()) return false;
    if (s[i] == '}') return skip_space(s, i + 1) == s.size();
    if (s[i] != ',') return false;
    i = skip_space(s, i + 1);
  }
}

JsonSplit split_json_at_values(std::string_view json, const std::vector<std::string>& key_tokens) {
  std::vector<std::pair<JsonSpan, std::string>> found;
  const bool ok = for_each_json_member(json, [&](std::string_view key, JsonSpan value) {
    if (std::find(key_tokens.begin(), key_tokens.end(), key) != key_tokens.end()) {
      found.emplace_back(value, std::string(key));
    }
    return true;
  });
  if (!ok) throw Error::internal("cannot split a rendered row: not a JSON object: " + std::string(json.substr(0, 200)));
  if (found.size() != key_tokens.size()) {
    throw Error::internal("cannot split a rendered row: expected " + std::to_string(key_tokens.size()) +
                          " members to splice, found " + std::to_string(found.size()));
  }
  JsonSplit split;
  size_t pos = 0;
  for (auto& [span, key] : found) {
    split.segments.emplace_back(json.substr(pos, span.begin - pos));
    split.keys.push_back(std::move(key));
    pos = span.end;
  }
  split.segments.emplace_back(json.substr(pos));
  return split;
}

StoredSplice splice_stored_values(std::string_view stored, const std::vector<std::string>& segments,
                                  const std::vector<std::string>& key_tokens) {
  if (segments.size() != key_tokens.size() + 1) {
    throw Error::internal("splice: " + std::to_string(segments.size()) + " segments for " +
                          std::to_string(key_tokens.size()) + " members");
  }
  std::vector<std::optional<JsonSpan>> spans(key_tokens.size());
  size_t found = 0;
  const bool ok = for_each_json_member(stored, [&](std::string_view key, JsonSpan value) {
    for (size_t i = 0; i < key_tokens.size(); ++i) {
      if (!spans[i] && key_tokens[i] == key) {
        spans[i] = value;
        ++found;
      }
    }
    return found < key_tokens.size();
  });
  StoredSplice out;
  if (!ok) {
    out.not_an_object = true;
    return out;
  }
  size_t size = 0;
  for (size_t i = 0; i < key_tokens.size(); ++i) {
    if (!spans[i]) {
      out.missing = key_tokens[i];
      return out;
    }
    size += segments[i].size() + (spans[i]->end - spans[i]->begin);
  }
  std::string doc;
  doc.reserve(size + segments.back().size());
  for (size_t i = 0; i < key_tokens.size(); ++i) {
    doc += segments[i];
    doc += stored.substr(spans[i]->begin, spans[i]->end - spans[i]->begin);
  }
  doc += segments.back();
  out.document = std::move(doc);
  return out;
}

}  // namespace sluice
