// libFuzzer target: what the search sink reads back from searchd — the
// checkpoint document's text (sink/manticore/checkpoint_text.h), a DESCRIBE
// result (index_definition.h) and stored attribute values
// (document_layout.h's canonical forms). The only acceptable failure is a
// sluice::Error; a crash, a sanitizer report or any other exception is a bug.
// Build: see fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "sink/manticore/checkpoint_text.h"
#include "sink/manticore/document_layout.h"
#include "sink/manticore/index_definition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)sluice::parse_checkpoint(text, "fuzz");
  } catch (const sluice::Error&) {
  }
  // A DESCRIBE result: rows split at '\n', columns at '\t'.
  sluice::SphinxqlConnection::Result described;
  described.columns = {"Field", "Type"};
  size_t start = 0;
  while (start <= size) {
    const size_t nl = text.find('\n', start);
    const std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    const size_t tab = line.find('\t');
    sluice::SphinxqlConnection::Row row{std::string(line.substr(0, tab))};
    if (tab != std::string_view::npos) row.emplace_back(std::string(line.substr(tab + 1)));
    described.rows.push_back(std::move(row));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  try {
    (void)sluice::parse_describe(described);
  } catch (const sluice::Error&) {
  }
  for (auto type : {sluice::AttributeType::kFloat, sluice::AttributeType::kJson, sluice::AttributeType::kString}) {
    (void)sluice::canonical_attribute(type, text);
    (void)sluice::canonical_attribute_of_literal(type, text);
  }
  (void)sluice::unquote_literal(text);
  return 0;
}
