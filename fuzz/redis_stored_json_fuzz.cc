// libFuzzer target: a document the Redis sink reads back from Redis to keep an
// unchanged TOAST value (sink/redis/json_members.h): the member scan, and the
// splice of stored values into a new document. Besides not crashing, a split
// and a splice must be inverses: a document split around any of its members
// and spliced with its own values is the same bytes again. The only acceptable
// failure is a sluice::Error. Build: see fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "sink/redis/json_members.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view stored(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> keys;
  const bool object = sluice::for_each_json_member(stored, [&](std::string_view key, sluice::JsonSpan value) {
    if (value.begin > value.end || value.end > stored.size()) std::abort();
    keys.emplace_back(key);
    return true;
  });
  // Fixed tokens, as a new document's segments would name them.
  (void)sluice::splice_stored_values(stored, {"{\"a\":", ",\"b\":", "}"}, {"\"a\"", "\"b\""});
  if (!object) return 0;
  // Every other member (first occurrences only: a split keeps the first).
  std::vector<std::string> chosen;
  for (size_t i = 0; i < keys.size(); i += 2) {
    bool seen = false;
    for (const std::string& c : chosen) seen = seen || c == keys[i];
    for (size_t j = 0; j < i && !seen; ++j) seen = keys[j] == keys[i];
    if (!seen) chosen.push_back(keys[i]);
  }
  try {
    const sluice::JsonSplit split = sluice::split_json_at_values(stored, chosen);
    const sluice::StoredSplice back = sluice::splice_stored_values(stored, split.segments, split.keys);
    if (!back.document || *back.document != stored) std::abort();
  } catch (const sluice::Error&) {
  }
  return 0;
}
