// libFuzzer target: arbitrary bytes through the replication framing and the
// pgoutput decoder (both protocol versions). The only acceptable failure is a
// sluice::Error; a crash, a sanitizer report or any other exception is a bug.
// Build: see fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.h"
#include "source/postgres/pgoutput_decoder.h"
#include "source/postgres/replication_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  try {
    (void)sluice::pg::parse_replication_message(bytes);
  } catch (const sluice::Error&) {
  }
  // A Relation message first (when the input holds one), then the rest: lets
  // the fuzzer reach the tuple decoding of Insert/Update/Delete.
  for (int version : {1, 2}) {
    sluice::pg::PgOutputDecoder decoder(version);
    size_t offset = 0;
    while (offset < size) {
      size_t length = 1 + data[offset] % 64;
      if (offset + 1 + length > size) length = size - offset - 1;
      if (length == 0) break;
      try {
        (void)decoder.decode(bytes.subspan(offset + 1, length));
      } catch (const sluice::Error&) {
      }
      offset += 1 + length;
    }
  }
  return 0;
}
