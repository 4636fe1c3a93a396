#include "sink/stdout/stdout_sink.h"

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "format/iso8601.h"
#include "format/json_writer.h"
#include "format/value_json.h"

namespace sluice {

namespace {

void append_row(std::string& line, std::string& errors, const char* name, const Relation& relation,
                const std::vector<Value>& values) {
  line += ",\"";
  try {
    std::string json = row_to_json(relation, values);
    line += name;
    line += "\":";
    line += json;
  } catch (const Error& e) {
    line += name;
    line += "_text\":";
    line += row_to_text_json(relation, values);
    if (!errors.empty()) errors += "; ";
    errors += e.what();
  }
}

}  // namespace

StdoutSink::StdoutSink(std::string name, std::FILE* out) : name_(std::move(name)), out_(out) {}

std::string StdoutSink::line_of(const Change& change, bool snapshot_row) {
  const Relation& relation = *change.relation;
  std::string line = "{\"op\":";
  append_json_string(line, snapshot_row ? "snapshot" : change.backfill ? "resync" : to_string(change.op));
  line += ",\"table\":";
  append_json_string(line, relation.qualified_name());
  if (!snapshot_row) {
    line += ",\"pos\":";
    append_json_string(line, change.position.str());
    for (const auto& [field, value_of] : position_format().event_fields) {
      line += ",";
      append_json_string(line, field);
      line += ":";
      append_json_string(line, value_of(change.position));
    }
    line += ",\"xid\":" + std::to_string(change.xid);
    line += ",\"commit_time\":";
    append_json_string(line, iso8601_utc(change.commit_time));
  }
  std::string errors;
  if (!change.old_values.empty()) append_row(line, errors, "old", relation, change.old_values);
  if (!change.new_values.empty()) append_row(line, errors, "new", relation, change.new_values);
  std::string unchanged;
  for (size_t i = 0; i < change.new_values.size() && i < relation.columns.size(); ++i) {
    if (!change.new_values[i].is_unchanged_toast()) continue;
    unchanged += unchanged.empty() ? "[" : ",";
    append_json_string(unchanged, relation.columns[i].name);
  }
  if (!unchanged.empty()) line += ",\"unchanged_toast\":" + unchanged + "]";
  if (!errors.empty()) {
    line += ",\"error\":";
    append_json_string(line, errors);
  }
  return line + "}\n";
}

void StdoutSink::apply(const Batch& batch) {
  const bool snapshot_rows = batch.kind != BatchKind::kStream;
  buffer_.clear();
  for (const ChangePtr& change : batch.changes) buffer_ += line_of(*change, snapshot_rows);
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), out_) != buffer_.size() || std::fflush(out_) != 0) {
    const int error = errno;
    std::clearerr(out_);
    throw Error::state("sink '" + name_ + "': cannot write to standard output: " + std::strerror(error));
  }
}

}  // namespace sluice
