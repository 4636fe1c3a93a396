// libFuzzer target: PostgreSQL's value renderer (source/postgres/pg_value_json.h)
// on arbitrary text, as every type category reads it: array literals (nested,
// with bounds, the box delimiter), record literals with array and timestamp
// fields, numbers, dates and timestamps, booleans. The only acceptable failure
// is a sluice::Error; a crash, a sanitizer report or any other exception is a
// bug. Build: see fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "source/postgres/pg_builtin_types.h"
#include "source/postgres/pg_value_json.h"

namespace {

std::vector<sluice::TypeInfoPtr> types() {
  using sluice::pg::builtin_type;
  std::vector<sluice::TypeInfoPtr> out;
  for (uint32_t oid : {16u, 23u, 1700u, 701u, 1082u, 1114u, 1184u, 3802u, 1007u, 1009u, 1020u, 1185u, 1231u}) {
    out.push_back(builtin_type(oid));
  }
  auto composite = std::make_shared<sluice::TypeInfo>();
  composite->name = "fuzz_pair";
  composite->category = sluice::ValueCategory::kComposite;
  composite->renderer = &sluice::pg::to_jsonb_renderer();
  composite->fields = {{"n", builtin_type(23)}, {"tags", builtin_type(1009)}, {"at", builtin_type(1184)}};
  out.push_back(composite);
  auto composite_array = std::make_shared<sluice::TypeInfo>();
  composite_array->name = "fuzz_pair[]";
  composite_array->category = sluice::ValueCategory::kArray;
  composite_array->renderer = &sluice::pg::to_jsonb_renderer();
  composite_array->element = composite;
  out.push_back(composite_array);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<sluice::TypeInfoPtr> all = types();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const sluice::TypeInfoPtr& type : all) {
    std::string out;
    try {
      sluice::pg::append_to_jsonb(out, *type, text);
    } catch (const sluice::Error&) {
    }
  }
  return 0;
}
