// Finding the raw text of top-level members of a JSON object, without parsing the
// values: how the Redis sink keeps unchanged TOAST values (invariant 5) byte for
// byte. The new document is split around its unchanged members when it is
// encoded (split_json_at_values), and the stored document's members are spliced
// into it when the batch is applied (splice_stored_values, plain_batch.cc): the
// one scanner for both; the batch script reads no JSON.
// Strings with escapes and nested objects/arrays are skipped by their brackets and
// quotes only, so numbers are never converted (no precision is lost).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

struct JsonSpan {
  size_t begin = 0;  // [begin, end) byte offsets
  size_t end = 0;
};

// Calls `visit(key_token, value)` for each top-level member of the object `json`,
// in order; key_token is the key as written, quotes and escapes included. Returns
// false when `json` is not a well-formed object at the level scanned (the values
// themselves are only checked for balanced brackets and closed strings); a visit
// returning false stops the scan early (the result is then true).
bool for_each_json_member(std::string_view json,
                          const std::function<bool(std::string_view key_token, JsonSpan value)>& visit);

// `json` cut around the values of the members named by `key_tokens`:
//   json == segments[0] + value(keys[0]) + segments[1] + ... + segments[n]
// where `keys` are the key tokens in the order they appear in `json`.
struct JsonSplit {
  std::vector<std::string> segments;
  std::vector<std::string> keys;
};
// Throws Error::internal when `json` is malformed or lacks one of the keys.
JsonSplit split_json_at_values(std::string_view json, const std::vector<std::string>& key_tokens);

// The inverse, with the values taken from another document:
//   segments[0] + value(key_tokens[0] in stored) + segments[1] + ... + segments[n]
// (segments.size() == key_tokens.size() + 1). Each value is the raw text of the
// first top-level member of `stored` with that key token.
struct StoredSplice {
  std::optional<std::string> document;  // set when `stored` had every member
  bool not_an_object = false;           // `stored` is not a well-formed JSON object
  std::string_view missing;             // else: the first key token `stored` lacks
};
StoredSplice splice_stored_values(std::string_view stored, const std::vector<std::string>& segments,
                                  const std::vector<std::string>& key_tokens);

}  // namespace sluice
