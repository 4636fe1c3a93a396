#include "sink/redis/redis_sink.h"
#include <charconv>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "core/column_selection.h"
#include "core/error.h"
#include "core/identity.h"
#include "format/iso8601.h"
#include "format/json_writer.h"
#include "format/value_json.h"
#include "sink/redis/batch_script.h"
#include "sink/redis/lua_scripts.h"
#include "sink/redis/plain_batch.h"
#include "sink/redis/json_members.h"

namespace sluice {

// How one table is written, derived once per Relation object (a new Relation
// arrives after ALTER TABLE, so the cache never serves a stale shape).
struct RedisSink::Route {
  RelationPtr relation;         // keeps the cache key's address alive
  std::string table;            // schema.table
  const KeyTemplate* key = nullptr;
  std::vector<int> columns;     // the document's columns, in column order
  bool all_columns = true;
  std::vector<int> identity;    // primary key (else replica identity) columns
  std::vector<int> key_columns; // the columns the key template reads
  std::vector<std::string> json_keys;  // per relation column: its JSON key token
  std::vector<int> old_columns; // stream: the columns an old tuple carries
  std::string stream_key;       // stream mode
  std::string glob;             // invalidate mode: matches every key of the table

  const std::vector<int>* only() const { return all_columns ? nullptr : &columns; }
};

namespace {

constexpr size_t kMaxCachedRoutes = 256;
constexpr size_t kScanCount = 1000;

// "schema.table" -> a Relation with just the names (enough for KeyTemplate::glob).
Relation relation_named(const std::string& table) {
  Relation relation;
  const size_t dot = table.find('.');
  if (dot == std::string::npos) {
    relation.schema = "public";
    relation.name = table;
  } else {
    relation.schema = table.substr(0, dot);
    relation.name = table.substr(dot + 1);
  }
  return relation;
}

bool all_text(const std::vector<Value>& values, const std::vector<int>& columns) {
  return std::all_of(columns.begin(), columns.end(), [&](int i) { return values[i].is_text(); });
}

std::string column_list(const Relation& relation, const std::vector<int>& columns) {
  std::string out;
  for (int i : columns) {
    if (!out.empty()) out += ", ";
    out += relation.columns[i].name;
  }
  return out;
}

}  // namespace

RedisSink::RedisSink(const RedisSinkConfig& config, RedisConnection::Options options)
    : config_(config),
      url_(),
      options_(options),
      context_("redis sink '" + config.name + "'"),
      prefix_(config.state_prefix.empty() ? "sluice:" + config.name : config.state_prefix),
      checkpoint_key_(prefix_ + ":checkpoint"),
      key_(KeyTemplate::parse(config.key, "sink '" + config.name + "': key")),
      stream_(KeyTemplate::parse(config.stream, "sink '" + config.name + "': stream")) {
  try {
    url_ = RedisUrl::parse(config.url);
    options_.tls = config.tls;
  } catch (const Error& e) {
    throw Error(e.kind(), "sink '" + config.name + "': " + e.what());
  }
  for (const RedisTableConfig& table : config.tables) {
    if (table.key) {
      table_keys_.emplace(table.table,
                          KeyTemplate::parse(*table.key, "sink '" + config.name + "': table " + table.table + ": key"));
    }
    if (table.stream) {
      table_streams_.emplace(
          table.table, KeyTemplate::parse(*table.stream, "sink '" + config.name + "': table " + table.table + ": stream"));
    }
  }
}

RedisSink::~RedisSink() = default;

// ---- connection -------------------------------------------------------------

RedisConnection& RedisSink::connection() {
  if (!connection_ || connection_->broken()) {
    connection_.reset();
    connection_ = std::make_unique<RedisConnection>(url_, options_, context_);
  }
  return *connection_;
}

void RedisSink::probe() {
  with_connection([](RedisConnection& conn) { return conn.checked({"PING"}, "pinging"); });
}

void RedisSink::throw_script_error(RedisConnection& conn, std::string_view reply, std::string_view what) const {
  const size_t space = reply.find(' ');
  const std::string_view code = reply.substr(0, space);
  const std::string rest = conn.scrub(std::string(space == std::string_view::npos ? "" : reply.substr(space + 1)));
  // The script's own messages already name the sink.
  if (code == "SLUICE_RESET") throw SinkWasReset(rest);
  if (code == "SLUICE_WAIT") throw Error::transient(rest);
  if (code == "SLUICE_STATE") throw Error::state(rest);
  if (code == "SLUICE_INPUT") throw Error::invalid_input(rest);
  if (code == "SLUICE_INTERNAL") throw Error::internal(context_ + ": " + std::string(what) + ": " + rest);
  throw conn.reply_error(what, reply);
}

std::string RedisSink::run_script(RedisConnection& conn, std::string_view script, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args, std::string_view what) {
  const std::string numkeys = std::to_string(keys.size());
  std::vector<std::string_view> argv{"EVAL", script, numkeys};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  RedisReply reply = conn.command(argv);
  if (reply.is_error()) throw_script_error(conn, reply.str(), what);
  return std::string(reply.str());
}

// ---- checkpoint lifecycle ---------------------------------------------------

SinkCheckpoint RedisSink::load_checkpoint() {
  return with_connection([&](RedisConnection& conn) {
    RedisReply reply = conn.checked({"HGETALL", checkpoint_key_}, "reading " + checkpoint_key_);
    if (reply.type() != RedisReply::Type::kArray) {
      throw Error::protocol(context_ + ": HGETALL " + checkpoint_key_ + " did not return an array");
    }
    SinkCheckpoint checkpoint;
    for (size_t i = 0; i + 1 < reply.size(); i += 2) {
      const std::string_view field = reply.at(i).str();
      const std::string value(reply.at(i + 1).str());
      if (field == "position") {
        try {
          checkpoint.position = Position::decode(value);
        } catch (const Error& e) {
          throw Error::state(context_ + ": " + checkpoint_key_ + " position: " + e.what());
        }
      } else if (field == "snapshot") {
        if (value == "in_progress") {
          checkpoint.snapshot = SnapshotState::kInProgress;
        } else if (value == "done") {
          checkpoint.snapshot = SnapshotState::kDone;
        } else {
          throw Error::state(context_ + ": " + checkpoint_key_ + " snapshot: '" + value +
                             "' is neither in_progress nor done");
        }
      } else if (field == "slot") {
        checkpoint.slot = value;
      } else if (field == "rebuild") {
        try {
          checkpoint.rebuilding = Position::decode(value);
        } catch (const Error& e) {
          throw Error::state(context_ + ": " + checkpoint_key_ + " rebuild: " + e.what());
        }
      }
    }
    expected_ = checkpoint.position;
    checkpoint_exists_ = reply.size() > 0;
    state_known_ = true;
    return checkpoint;
  });
}

void RedisSink::begin_snapshot(const std::string& slot, const Position& snapshot_at, const std::vector<std::string>& tables) {
  with_connection([&](RedisConnection& conn) {
    run_script(conn, kBeginSnapshotScript, {checkpoint_key_},
               {slot, config_.name, snapshot_at.encode()}, "beginning the snapshot");
    expected_.reset();
    checkpoint_exists_ = true;
    state_known_ = true;
    // Whatever an earlier (possibly interrupted) snapshot or run left behind.
    for (const std::string& table : tables) {
      switch (config_.mode) {
        case SinkMode::kUpsert:
          delete_indexed(conn, table);
          break;
        case SinkMode::kInvalidate: {
          const Relation relation = relation_named(table);
          scan_delete(conn, key_template_for(table).glob(relation));
          break;
        }
        case SinkMode::kStream:
          break;  // a stream is a log: earlier entries stay
      }
    }
    return 0;
  });
}

void RedisSink::finish_snapshot(const std::string& slot, const Position& snapshot_at) {
  const Position& position = snapshot_at;
  with_connection([&](RedisConnection& conn) {
    run_script(conn, kFinishSnapshotScript, {checkpoint_key_}, {position.encode(), slot, config_.name},
               "finishing the snapshot");
    return 0;
  });
  expected_ = position;
  checkpoint_exists_ = true;
  state_known_ = true;
}

void RedisSink::start_without_snapshot(const std::string& slot, const Position& start) {
  const Position& position = start;
  with_connection([&](RedisConnection& conn) {
    run_script(conn, kStartWithoutSnapshotScript, {checkpoint_key_}, {position.encode(), slot},
               "recording the start position");
    return 0;
  });
  expected_ = position;
  checkpoint_exists_ = true;
  state_known_ = true;
}

void RedisSink::begin_rebuild(const std::string& slot, const std::optional<Position>& copy_point) {
  const std::string at = copy_point ? copy_point->encode() : std::string();
  with_connection([&](RedisConnection& conn) {
    run_script(conn, kBeginRebuildScript, {checkpoint_key_}, {expected_ ? expected_->encode() : "", slot, at, config_.name},
               "recording the rebuild");
    return 0;
  });
  checkpoint_exists_ = true;
  state_known_ = true;
}

void RedisSink::finish_rebuild(const Position& copy_point, const std::vector<std::string>& tables) {
  std::vector<std::string> args = {copy_point.encode(), config_.name, prefix_};
  args.insert(args.end(), tables.begin(), tables.end());
  with_connection([&](RedisConnection& conn) {
    run_script(conn, kFinishRebuildScript, {checkpoint_key_}, args, "finishing the rebuild");
    return 0;
  });
}

void RedisSink::delete_indexed(RedisConnection& conn, const std::string& table) {
  const std::string index = prefix_ + ":index:" + table;
  std::string cursor = "0";
  do {
    RedisReply reply = conn.checked({"HSCAN", index, cursor, "COUNT", std::to_string(kScanCount)}, "HSCAN " + index);
    cursor = std::string(reply.at(0).str());
    RedisReply items = reply.at(1);
    std::vector<std::string_view> del{"DEL"};
    for (size_t i = 1; i < items.size(); i += 2) {
      const std::string_view entry = items.at(i).str();  // "<version> <key>": a version has no space
      const size_t space = entry.find(' ');
      if (space != std::string_view::npos && space + 1 < entry.size()) del.push_back(entry.substr(space + 1));
    }
    if (del.size() > 1) conn.checked(del, "deleting the keys of " + table);
  } while (cursor != "0");
  conn.checked({"DEL", index}, "DEL " + index);
}

void RedisSink::scan_delete(RedisConnection& conn, const std::string& glob) {
  const std::string own_state = prefix_ + ":";
  std::string cursor = "0";
  do {
    RedisReply reply =
        conn.checked({"SCAN", cursor, "MATCH", glob, "COUNT", std::to_string(kScanCount)}, "SCAN MATCH " + glob);
    cursor = std::string(reply.at(0).str());
    RedisReply keys = reply.at(1);
    std::vector<std::string_view> del{"DEL"};
    for (size_t i = 0; i < keys.size(); ++i) {
      const std::string_view key = keys.at(i).str();
      if (key.substr(0, own_state.size()) != own_state) del.push_back(key);
    }
    if (del.size() > 1) conn.checked(del, "deleting the keys matching " + glob);
  } while (cursor != "0");
}

// ---- routing ----------------------------------------------------------------

const KeyTemplate& RedisSink::key_template_for(const std::string& table) const {
  auto it = table_keys_.find(table);
  return it != table_keys_.end() ? it->second : key_;
}

const RedisSink::Route& RedisSink::route_for(const RelationPtr& relation) {
  if (!relation) throw Error::internal(context_ + ": a change without its relation");
  auto found = routes_.find(relation.get());
  if (found != routes_.end()) return *found->second;
  if (routes_.size() >= kMaxCachedRoutes) {
    // Forget shapes nobody else holds any more (replaced by ALTER TABLE).
    std::erase_if(routes_, [](const auto& entry) { return entry.second->relation.use_count() == 1; });
  }

  const Relation& rel = *relation;
  auto route = std::make_unique<Route>();
  route->relation = relation;
  route->table = rel.qualified_name();
  const std::string where = context_ + ": table " + route->table;
  const RedisTableConfig* table_config = nullptr;
  for (const RedisTableConfig& t : config_.tables) {
    if (t.table == route->table) table_config = &t;
  }

  route->key = &key_template_for(route->table);
  try {
    route->key->check(rel);
    for (const std::string& name : route->key->columns(rel)) route->key_columns.push_back(rel.column_index(name));
  } catch (const Error& e) {
    throw Error(e.kind(), context_ + ": " + e.what());
  }

  try {
    route->columns = selected_columns(rel, table_config ? table_config->columns : std::nullopt,
                                      table_config ? table_config->exclude_columns : std::nullopt);
  } catch (const Error& e) {
    throw Error(e.kind(), where + ": " + e.what());
  }
  route->all_columns = route->columns.size() == rel.columns.size();

  for (size_t i = 0; i < rel.columns.size(); ++i) {
    if (rel.columns[i].in_primary_key) route->identity.push_back(static_cast<int>(i));
  }
  if (route->identity.empty()) {
    for (size_t i = 0; i < rel.columns.size(); ++i) {
      if (rel.columns[i].in_identity) route->identity.push_back(static_cast<int>(i));
    }
  }
  if (config_.mode == SinkMode::kUpsert && route->identity.empty()) {
    throw Error::config(where + ": mode = \"upsert\" needs a primary key (or a replica identity index) "
                        "to tell rows apart");
  }

  for (const Column& column : rel.columns) {
    std::string token;
    append_json_string(token, column.name);
    route->json_keys.push_back(std::move(token));
  }
  for (int i : route->columns) {
    if (rel.old_row_complete() || rel.columns[i].in_identity) route->old_columns.push_back(i);
  }
  if (route->old_columns.empty()) route->old_columns = route->identity;

  if (config_.mode == SinkMode::kStream) {
    auto it = table_streams_.find(route->table);
    const KeyTemplate& stream = it != table_streams_.end() ? it->second : stream_;
    try {
      if (!stream.columns(rel).empty()) {
        throw Error::config("stream key template '" + stream.text() + "' may only use {schema} and {table}");
      }
      route->stream_key = stream.render(rel, std::vector<Value>(rel.columns.size()));
    } catch (const Error& e) {
      throw Error::config(where + ": " + e.what());
    }
  }
  if (config_.mode == SinkMode::kInvalidate) route->glob = route->key->glob(rel);

  const Route& result = *route;
  routes_.emplace(relation.get(), std::move(route));
  return result;
}

// ---- encoding ---------------------------------------------------------------

namespace {

void check_arity(const Relation& relation, const std::vector<Value>& values, const char* which) {
  if (values.size() != relation.columns.size()) {
    throw Error::invalid_input("table " + relation.qualified_name() + ": the " + which + " tuple has " +
                               std::to_string(values.size()) + " values for " +
                               std::to_string(relation.columns.size()) + " columns");
  }
}

}  // namespace

void RedisSink::encode(const Change& change, const Route& route, bool snapshot_rows, BatchPlan& args,
                       std::vector<std::string>& truncate_globs) {
  const Relation& rel = *route.relation;
  if (!change.new_values.empty()) check_arity(rel, change.new_values, "new");
  if (!change.old_values.empty()) check_arity(rel, change.old_values, "old");
  if ((change.op == Op::kInsert || change.op == Op::kUpdate) && change.new_values.empty()) {
    throw Error::invalid_input("table " + route.table + ": " + to_string(change.op) + " without a new tuple");
  }
  switch (config_.mode) {
    case SinkMode::kUpsert: return encode_upsert(change, route, args);
    case SinkMode::kInvalidate: return encode_invalidate(change, route, args, truncate_globs);
    case SinkMode::kStream: return encode_stream(change, route, snapshot_rows, args);
  }
}

namespace {

std::string identity_of(const RelationPtr& relation, const std::vector<int>& identity, const std::vector<Value>& values,
                        const char* which) {
  std::string out;
  for (int i : identity) {
    const Value& value = values[i];
    if (!value.is_text()) {
      throw Error::invalid_input("table " + relation->qualified_name() + ": the " + which + " tuple has no value for key column " +
                                 relation->columns[i].name +
                                 (value.is_null() ? " (null)" : " (an unchanged TOAST value)"));
    }
    append_identity_part(out, value.text);
  }
  return out;
}

std::optional<std::string> try_render(const KeyTemplate& key, const Relation& relation, const std::vector<int>& key_columns,
                                      const std::vector<Value>& values) {
  if (values.size() != relation.columns.size() || !all_text(values, key_columns)) return std::nullopt;
  return key.render(relation, values);
}

}  // namespace

void RedisSink::encode_upsert(const Change& change, const Route& route, BatchPlan& args) {
  const Relation& rel = *route.relation;
  std::string version = change.position.encode();
  switch (change.op) {
    case Op::kInsert:
    case Op::kUpdate: {
      const std::vector<Value>& values = change.new_values;
      std::string id_new = identity_of(route.relation, route.identity, values, "new");
      std::string id_old;
      std::string old_key;
      if (change.op == Op::kUpdate && !change.old_values.empty()) {
        if (all_text(change.old_values, route.identity)) {
          std::string id = identity_of(route.relation, route.identity, change.old_values, "old");
          if (id != id_new) id_old = std::move(id);
        }
        old_key = try_render(*route.key, rel, route.key_columns, change.old_values).value_or("");
      }
      // A key column that is unchanged TOAST did not change: the script takes the
      // key from the row's index entry.
      const bool key_toasted = std::any_of(route.key_columns.begin(), route.key_columns.end(),
                                           [&](int i) { return values[i].is_unchanged_toast(); });
      std::string new_key = key_toasted ? std::string() : route.key->render(rel, values);

      if (config_.format == DocumentFormat::kJson) {
        std::vector<std::string> toast_tokens;
        for (int i : route.columns) {
          if (values[i].is_unchanged_toast()) toast_tokens.push_back(route.json_keys[i]);
        }
        if (toast_tokens.empty()) {
          args.add(BatchPlan::UpsertJson{route.table, std::move(version), std::move(id_new), std::move(id_old),
                                         std::move(new_key), std::move(old_key), {row_to_json(rel, values, route.only())}, {}});
        } else {
          // Render the unchanged columns as null in place, then cut the document
          // around those nulls: the script puts the stored raw values there.
          std::vector<Value> placeholders = values;
          for (Value& value : placeholders) {
            if (value.is_unchanged_toast()) value = Value::null();
          }
          JsonSplit split = split_json_at_values(row_to_json(rel, placeholders, route.only()), toast_tokens);
          args.add(BatchPlan::UpsertJson{route.table, std::move(version), std::move(id_new), std::move(id_old),
                                         std::move(new_key), std::move(old_key), std::move(split.segments),
                                         std::move(split.keys)});
        }
      } else {
        std::vector<std::pair<std::string, std::string>> fields;
        std::vector<std::string> toast_fields;
        for (int i : route.columns) {
          const Column& column = rel.columns[i];
          const Value& value = values[i];
          if (value.is_unchanged_toast()) {
            toast_fields.push_back(column.name);
          } else if (value.is_text()) {
            try {
              fields.emplace_back(column.name, value_to_field(*resolve_column_type(rel, column), value.text));
            } catch (const Error& e) {
              throw Error(e.kind(), route.table + "." + column.name + ": " + e.what());
            }
          }
        }
        args.add(BatchPlan::UpsertHash{route.table, std::move(version), std::move(id_new), std::move(id_old),
                                       std::move(new_key), std::move(old_key), std::move(fields), std::move(toast_fields)});
      }
      return;
    }
    case Op::kDelete: {
      if (change.old_values.empty() || !all_text(change.old_values, route.identity)) {
        throw Error::invalid_input("table " + route.table + ": a DELETE without the values of its key columns (" +
                                   column_list(rel, route.identity) +
                                   "): the row cannot be found; check the table's REPLICA IDENTITY");
      }
      args.add(BatchPlan::Remove{route.table, std::move(version),
                                 identity_of(route.relation, route.identity, change.old_values, "old"),
                                 try_render(*route.key, rel, route.key_columns, change.old_values).value_or("")});
      return;
    }
    case Op::kTruncate:
      args.add(BatchPlan::Truncate{route.table, std::move(version)});
      return;
  }
}

void RedisSink::encode_invalidate(const Change& change, const Route& route, BatchPlan& args,
                                  std::vector<std::string>& truncate_globs) {
  const Relation& rel = *route.relation;
  if (change.op == Op::kTruncate) {
    // Done by SCAN before the batch script (a script must not run for long).
    if (std::find(truncate_globs.begin(), truncate_globs.end(), route.glob) == truncate_globs.end()) {
      truncate_globs.push_back(route.glob);
    }
    return;
  }
  std::vector<std::string> keys;
  auto add = [&](std::string key) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
  };
  if (!change.new_values.empty()) {
    if (auto key = try_render(*route.key, rel, route.key_columns, change.new_values)) add(std::move(*key));
  }
  if (!change.old_values.empty()) {
    if (auto key = try_render(*route.key, rel, route.key_columns, change.old_values)) add(std::move(*key));
  }
  if (keys.empty()) {
    const std::vector<Value>& values = change.op == Op::kDelete ? change.old_values : change.new_values;
    if (change.op == Op::kDelete && !values.empty() && !rel.old_row_complete()) {
      throw Error::invalid_input("table " + route.table + ": a DELETE carries only the replica-identity columns, but key template '" +
                                 route.key->text() + "' needs " + column_list(rel, route.key_columns) +
                                 ": use REPLICA IDENTITY FULL or mode = \"upsert\"");
    }
    if (values.empty()) {
      throw Error::invalid_input("table " + route.table + ": a " + to_string(change.op) +
                                 " without the values its key needs (REPLICA IDENTITY NOTHING?)");
    }
    route.key->render(rel, values);  // throws the error naming the column
    throw Error::internal("table " + route.table + ": cannot render the key");
  }
  args.add(BatchPlan::Invalidate{std::move(keys)});
}

void RedisSink::encode_stream(const Change& change, const Route& route, bool snapshot_rows, BatchPlan& args) {
  const Relation& rel = *route.relation;
  std::string key;
  if (change.op != Op::kTruncate) {
    std::optional<std::string> rendered;
    if (!change.new_values.empty()) rendered = try_render(*route.key, rel, route.key_columns, change.new_values);
    if (!rendered && !change.old_values.empty()) {
      rendered = try_render(*route.key, rel, route.key_columns, change.old_values);
    }
    key = rendered.value_or("");
  }
  std::vector<std::pair<std::string, std::string>> fields;
  fields.reserve(9);
  fields.emplace_back("op", snapshot_rows ? "snapshot" : change.backfill ? "resync" : to_string(change.op));
  fields.emplace_back("table", route.table);
  fields.emplace_back("key", std::move(key));
  fields.emplace_back("pos", change.position.str());
  for (const auto& [name, field] : position_format().event_fields) fields.emplace_back(name, field(change.position));
  fields.emplace_back("xid", std::to_string(change.xid));
  fields.emplace_back("commit_time", iso8601_utc(change.commit_time));
  if (!change.old_values.empty()) fields.emplace_back("old", row_to_json(rel, change.old_values, &route.old_columns));
  if (!change.new_values.empty()) fields.emplace_back("new", row_to_json(rel, change.new_values, route.only()));
  args.add(BatchPlan::StreamEntry{route.stream_key, route.table, std::move(fields)});
}

// ---- apply ------------------------------------------------------------------

void RedisSink::apply(const Batch& batch) {
  if (config_.on_error != OnError::kDeadLetter || batch.kind != BatchKind::kStream) return apply_once(batch);
  try {
    apply_once(batch);
  } catch (const Error& e) {
    // A change the store rejects (or that cannot be encoded): nothing of the
    // batch was written. Find it by applying the changes one at a time.
    if (e.kind() != ErrorKind::kInvalidInput) throw;
    if (batch.changes.size() == 1) return dead_letter(*batch.changes.front(), e.what());
    for (const ChangePtr& change : batch.changes) {
      if (expected_ && change->position <= *expected_) continue;
      apply(Batch::stream({change}));
    }
  }
}


void RedisSink::dead_letter(const Change& change, const std::string& reason) {
  const std::string position = change.position.encode();
  const std::string stream = prefix_ + ":dead_letter";
  std::vector<std::string> args = {expected_ ? expected_->encode() : "", position, config_.name,
                                   "pos", change.position.str(), "table", change.relation->qualified_name(),
                                   "op", to_string(change.op), "xid", std::to_string(change.xid),
                                   "reason", reason};
  if (!change.old_values.empty()) {
    args.push_back("old");
    args.push_back(row_to_text_json(*change.relation, change.old_values));
  }
  if (!change.new_values.empty()) {
    args.push_back("new");
    args.push_back(row_to_text_json(*change.relation, change.new_values));
  }
  with_connection([&](RedisConnection& conn) {
    return run_script(conn, kDeadLetterScript, {checkpoint_key_, stream}, args, "recording a dead letter");
  });
  spdlog::warn("{}: {} of {} at {} rejected, recorded in {}: {}", context_, to_string(change.op),
               change.relation->qualified_name(), change.position.str(), stream, reason);
  expected_ = change.position;
  checkpoint_exists_ = true;
  ++totals_.dead_lettered;
}

void RedisSink::apply_once(const Batch& batch) {
  if (!state_known_) {
    throw Error::internal(context_ + ": apply() before load_checkpoint(), begin_snapshot() or start_without_snapshot()");
  }
  ApplyStats stats;
  const bool snapshot_rows = batch.kind == BatchKind::kSnapshot;

  BatchPlan::Header header;
  header.sink = config_.name;
  header.prefix = prefix_;
  header.mode = config_.mode;
  header.format = config_.format;
  header.expect_checkpoint = checkpoint_exists_;
  header.expected = expected_ ? expected_->encode() : "";
  header.kind = batch.kind;
  switch (batch.kind) {
    case BatchKind::kStream:
      if (!batch.checkpoint) throw Error::internal(context_ + ": a stream batch without a checkpoint");
      header.checkpoint = batch.checkpoint->encode();
      break;
    case BatchKind::kRebuild:
      if (!batch.copy_point) throw Error::internal(context_ + ": a rebuild batch without its copy point");
      header.copy_point = batch.copy_point->encode();
      break;
    case BatchKind::kSnapshot:
    case BatchKind::kRepair: break;
  }
  if (config_.stream_maxlen) header.stream_maxlen = static_cast<size_t>(*config_.stream_maxlen);
  BatchPlan args(std::move(header));
  std::vector<std::string> truncate_globs;

  for (const ChangePtr& change : batch.changes) {
    if (!change) throw Error::internal(context_ + ": a null change in a batch");
    // Already in the store: the checkpoint was written with it (a replay).
    if (batch.checkpoint && expected_ && change->position <= *expected_) {
      ++stats.replayed;
      continue;
    }
    const Route& route = route_for(change->relation);
    try {
      encode(*change, route, snapshot_rows, args, truncate_globs);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::kConfig || e.kind() == ErrorKind::kInternal) throw;
      throw Error(e.kind(), context_ + ": " + to_string(change->op) + " at " + change->position.str() + ": " + e.what());
    }
  }

  const bool moves_checkpoint = batch.checkpoint && (!expected_ || *batch.checkpoint > *expected_);
  if (args.op_count() == 0 && truncate_globs.empty() && !moves_checkpoint) {
    last_apply_ = stats;
    return;
  }

  const BatchOutcome outcome = with_connection([&](RedisConnection& conn) {
    for (const std::string& glob : truncate_globs) scan_delete(conn, glob);
    // The initial snapshot's rows (inserts) of an upsert sink take the lean script.
    const bool lean = snapshot_rows && config_.mode == SinkMode::kUpsert &&
                      std::all_of(batch.changes.begin(), batch.changes.end(),
                                  [](const ChangePtr& change) { return change->op == Op::kInsert; });
    // Larger batches of the common kinds need no script at all, and a batch that
    // keeps unchanged TOAST values from stored JSON documents never takes it
    // (plain_batch.h). A truncate empties the table's keys inside the script.
    if (args.splices_stored_json() || (args.op_count() > config_.script_max_ops && !args.has_truncate())) {
      if (std::optional<BatchOutcome> outcome = apply_plain(conn, args)) return *outcome;
    }
    std::string& script_sha = lean ? snapshot_rows_sha_ : batch_sha_;
    for (int attempt = 0;; ++attempt) {
      if (script_sha.empty()) {
        RedisReply sha = conn.checked({"SCRIPT", "LOAD", lean ? kSnapshotRowsScript : kBatchScript},
                                      "loading the batch script");
        script_sha = std::string(sha.str());
      }
      std::deque<std::string> scratch;
      RedisReply reply = conn.command(args.script_command(script_sha, scratch));
      if (!reply.is_error()) return parse_batch_reply(reply);
      // The server lost its script cache (restart, SCRIPT FLUSH): load it again.
      if (reply.str().substr(0, 8) == "NOSCRIPT" && attempt == 0) {
        script_sha.clear();
        continue;
      }
      throw_script_error(conn, reply.str(), "applying a batch");
    }
  });

  stats.already_applied = outcome.already_applied;
  stats.applied = outcome.applied;
  stats.skipped = outcome.skipped;
  last_apply_ = stats;
  totals_.skipped += outcome.skipped;
  if (moves_checkpoint) expected_ = batch.checkpoint;
  if (batch.checkpoint) checkpoint_exists_ = true;
}

// ---- verification -------------------------------------------------------------

namespace {
std::string canonical_hash(std::vector<std::pair<std::string, std::string>> fields) {
  std::sort(fields.begin(), fields.end());
  std::string out;
  for (const auto& [field, value] : fields) {
    out += field;
    out += '\x1f';
    out += value;
    out += '\x1e';
  }
  return out;
}
}  // namespace

RedisSink::Expected RedisSink::expected_for(const RelationPtr& relation, const std::vector<Value>& row) {
  if (config_.mode != SinkMode::kUpsert) throw Error::internal(context_ + ": only upsert sinks hold documents to verify");
  const Route& route = route_for(relation);
  const Relation& rel = *relation;
  Expected expected;
  expected.key = route.key->render(rel, row);
  expected.identity = identity_of(relation, route.identity, row, "source");
  if (config_.format == DocumentFormat::kJson) {
    expected.canonical = row_to_json(rel, row, route.only());
  } else {
    std::vector<std::pair<std::string, std::string>> fields;
    for (int i : route.columns) {
      if (!row[i].is_text()) continue;
      fields.emplace_back(rel.columns[i].name, value_to_field(*resolve_column_type(rel, rel.columns[i]), row[i].text));
    }
    expected.canonical = canonical_hash(std::move(fields));
  }
  return expected;
}

namespace {
// The canonical form of a GET (json) or HGETALL (hash) reply; nullopt: no key.
std::optional<std::string> canonical_of(const RedisReply& reply, bool json) {
  if (json) return reply.is_nil() ? std::nullopt : std::optional<std::string>(std::string(reply.str()));
  if (reply.size() == 0) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> fields;
  for (size_t f = 0; f + 1 < reply.size(); f += 2) {
    fields.emplace_back(std::string(reply.at(f).str()), std::string(reply.at(f + 1).str()));
  }
  return canonical_hash(std::move(fields));
}
}  // namespace

std::vector<std::optional<std::string>> RedisSink::read_canonical(const std::string& /*table*/,
                                                                  const std::vector<Expected>& expected) {
  return with_connection([&](RedisConnection& conn) {
    const bool json = config_.format == DocumentFormat::kJson;
    for (const auto& e : expected) conn.append({json ? std::string_view("GET") : std::string_view("HGETALL"), e.key});
    std::vector<std::optional<std::string>> out;
    out.reserve(expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      RedisReply reply = conn.read();
      if (reply.is_error()) throw conn.reply_error("reading " + expected[i].key, reply.str());
      out.push_back(canonical_of(reply, json));
    }
    return out;
  });
}

std::vector<VerifyTarget::Stored> RedisSink::read_stored(const std::string& table, const std::vector<RowRef>& rows) {
  const std::string index = prefix_ + ":index:" + table;
  return with_connection([&](RedisConnection& conn) {
    const bool json = config_.format == DocumentFormat::kJson;
    for (const auto& row : rows) {
      conn.append({json ? std::string_view("GET") : std::string_view("HGETALL"), row.key});
      conn.append({"HGET", index, row.identity});
    }
    std::vector<Stored> out(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      RedisReply document = conn.read();
      if (document.is_error()) throw conn.reply_error("reading " + rows[i].key, document.str());
      out[i].canonical = canonical_of(document, json);
      RedisReply entry = conn.read();
      if (entry.is_error()) throw conn.reply_error("reading " + index, entry.str());
      if (entry.is_nil()) continue;
      // "<version> <redis key>" (batch_script.h)
      std::string_view text = entry.str();
      try {
        out[i].version = Position::decode(text.substr(0, text.find(' ')));
      } catch (const Error& e) {
        throw Error::state(context_ + ": " + index + " entry of " + rows[i].key + ": " + e.what());
      }
    }
    return out;
  });
}

std::optional<Position> RedisSink::read_applied_position() {
  return with_connection([&](RedisConnection& conn) -> std::optional<Position> {
    RedisReply reply = conn.checked({"HGET", checkpoint_key_, "position"}, "reading " + checkpoint_key_);
    if (reply.is_nil() || reply.str().empty()) return std::nullopt;
    try {
      return Position::decode(reply.str());
    } catch (const Error& e) {
      throw Error::state(context_ + ": " + checkpoint_key_ + " position: " + e.what());
    }
  });
}

// ---- table re-sync ----------------------------------------------------------

namespace {
// KEYS[1] the table's index; ARGV[1] the re-sync's first position; ARGV[2..]
// index fields. Removes each entry (and its document) still older than ARGV[1].
const std::string kRemoveOlderScript =
    std::string(lua::kPositionOrder) + std::string(lua::kRemoveOlder);  // lua/position_order.lua, lua/remove_older.lua
}  // namespace

std::map<std::string, std::string> RedisSink::load_table_shapes() {
  const std::string key = prefix_ + ":shapes";
  return with_connection([&](RedisConnection& conn) {
    RedisReply reply = conn.checked({"HGETALL", key}, "reading " + key);
    std::map<std::string, std::string> shapes;
    for (size_t i = 0; i + 1 < reply.size(); i += 2) shapes[std::string(reply.at(i).str())] = reply.at(i + 1).str();
    return shapes;
  });
}

void RedisSink::store_table_shape(const std::string& table, const std::string& shape) {
  const std::string key = prefix_ + ":shapes";
  with_connection([&](RedisConnection& conn) { return conn.checked({"HSET", key, table, shape}, "writing " + key); });
}

uint64_t RedisSink::remove_rows_older_than(const std::string& table, const Position& since) {
  if (config_.mode != SinkMode::kUpsert) return 0;  // no rows held
  const std::string index = prefix_ + ":index:" + table;
  const std::string since_text = since.encode();
  uint64_t removed = 0;
  std::string cursor = "0";
  do {
    with_connection([&](RedisConnection& conn) {
      RedisReply reply = conn.checked({"HSCAN", index, cursor, "COUNT", "1000"}, "scanning the index of " + table);
      cursor = std::string(reply.at(0).str());
      RedisReply items = reply.at(1);
      std::vector<std::string> args{since_text};
      for (size_t i = 0; i + 1 < items.size(); i += 2) {
        std::string_view entry = items.at(i + 1).str();
        if (entry.substr(0, entry.find(' ')) < since_text) args.emplace_back(items.at(i).str());
      }
      if (args.size() > 1) {
        removed += std::stoull(run_script(conn, kRemoveOlderScript, {index}, args, "removing rows older than a re-sync"));
      }
      return 0;
    });
  } while (cursor != "0");
  return removed;
}

void RedisSink::scan_rows(const std::string& table,
                           const std::function<void(const std::vector<std::pair<std::string, std::string>>&)>& visit) {
  const std::string index = prefix_ + ":index:" + table;
  std::string cursor = "0";
  do {
    std::vector<std::pair<std::string, std::string>> entries;
    with_connection([&](RedisConnection& conn) {
      RedisReply reply = conn.checked({"HSCAN", index, cursor, "COUNT", "1000"}, "scanning the index of " + table);
      cursor = std::string(reply.at(0).str());
      RedisReply items = reply.at(1);
      for (size_t i = 0; i + 1 < items.size(); i += 2) {
        std::string_view entry = items.at(i + 1).str();
        auto space = entry.find(' ');
        entries.emplace_back(std::string(items.at(i).str()),
                             std::string(space == std::string_view::npos ? entry : entry.substr(space + 1)));
      }
      return 0;
    });
    if (!entries.empty()) visit(entries);
  } while (cursor != "0");
}

std::optional<std::string> RedisSink::identity_from(const RelationPtr& relation, const std::vector<Value>& values) {
  const Route& route = route_for(relation);
  if (values.size() != relation->columns.size() || !all_text(values, route.identity)) return std::nullopt;
  return identity_of(relation, route.identity, values, "key");
}

}  // namespace sluice
