// kind = "stdout": a debugging sink that writes every change to standard output
// as one JSON line, in commit order:
//   {"op":"update","table":"public.users","pos":"0/16B3748#2","lsn":"0/16B3748",
//    "xid":731,"commit_time":"2026-12-02T10:00:00.123456Z",
//    "old":{"id":1},"new":{"id":1,"name":"Ada"},"unchanged_toast":["bio"]}
// "op" is insert, update, delete, truncate, or snapshot (a row of the initial
// snapshot); "old" and "new" are present when the server sent them, rendered as
// to_jsonb() renders them (format/value_json.h); a value that cannot be
// rendered is printed as its PostgreSQL text in "old_text"/"new_text"
// (format/value_json.h, row_to_text_json) with the reason in "error" — never
// dropped.
//
// It stores no state: it follows the slot from wherever the other sinks (or the
// slot) stand, so after a restart it may print again changes it printed before
// they were acknowledged (at least once). A batch is flushed before apply()
// returns; a write that fails (e.g. the reading end of a pipe closed) is
// Error::state, which stops the run. Logs go to standard error (app/logging.h).
#pragma once

#include <cstdio>
#include <string>

#include "core/sink.h"

namespace sluice {

class StdoutSink final : public Sink {
 public:
  // `out` is where lines go (stdout unless a test says otherwise); not owned.
  explicit StdoutSink(std::string name, std::FILE* out = stdout);

  const std::string& name() const override { return name_; }
  // It keeps no checkpoint, so it has none to load and no snapshot, rebuild or
  // rows: it prints whatever the source sends from where the others stand.
  Durability durability() const override { return Durability::kNone; }
  SinkCheckpoint load_checkpoint() override { return {}; }
  void apply(const Batch& batch) override;

  // One change as its line (with the trailing newline).
  static std::string line_of(const Change& change, bool snapshot_row);

 private:
  std::string name_;
  std::FILE* out_;
  std::string buffer_;
};

}  // namespace sluice
