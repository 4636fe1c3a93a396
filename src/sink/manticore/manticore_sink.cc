#include "sink/manticore/manticore_sink.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/column_selection.h"
#include "core/error.h"
#include "sink/manticore/sphinxql_literal.h"

namespace sluice {
namespace {

const std::string kCheckpointId = std::to_string(kCheckpointDocumentId);
const std::string kWholeMarkId = std::to_string(kWholeMarkDocumentId);
constexpr std::string_view kWholeMarkText = "sluice-whole-mark 1";
constexpr size_t kReadChunk = 1000;      // ids per SELECT ... WHERE id IN
constexpr size_t kDeleteChunk = 1000;    // ids per DELETE
constexpr size_t kScanPage = 1000;       // documents per page of a scan

std::string id_list(const std::vector<int64_t>& ids, size_t from, size_t count) {
  std::string out;
  for (size_t i = from; i < from + count && i < ids.size(); ++i) {
    if (!out.empty()) out += ", ";
    out += std::to_string(ids[i]);
  }
  return out;
}

std::optional<std::string> attribute(const StoredDocument& doc, std::string_view name) {
  for (const auto& [n, v] : doc) {
    if (n == name) return v.value_or(std::string());
  }
  return std::nullopt;
}

std::string row_name(const Relation& relation, const DocumentId& id) {
  std::vector<std::string> parts;
  try {
    parts = decode_identity(id.identity);
  } catch (const Error&) {
    parts = {id.identity};
  }
  return fmt::format("{} row ({})", relation.qualified_name(), fmt::join(parts, ", "));
}

}  // namespace

struct ManticoreSink::IndexState {
  std::string name;
  std::string table;
  std::shared_ptr<IndexGate> gate;
  std::optional<CheckpointState> stored;  // as this instance last read or wrote it
  bool schema_checked = false;
  std::vector<DescribedColumn> described;
};

struct ManticoreSink::PendingDocument {
  bool remove = false;
  Position version;
  DocumentId id;
  const DocumentLayout* layout = nullptr;
  std::vector<Value> values;     // upsert: the row (unchanged TOAST still marked)
  int64_t toast_from = 0;        // the document an unchanged TOAST value is kept from
  DocumentLayout::Restored restored;  // values kept from an earlier change of this batch
};

struct ManticoreSink::IndexPlan {
  std::optional<Position> truncate;             // the index is emptied first
  std::map<int64_t, PendingDocument> documents;  // the last change of each document
  bool touched = false;
};

ManticoreSink::ManticoreSink(const ManticoreSinkConfig& config, SphinxqlConnection::Options options)
    : config_(config), options_(options), context_("search sink '" + config.name + "'") {
  try {
    url_ = SphinxqlUrl::parse(config_.url);
  } catch (const Error& e) {
    throw Error::config(context_ + ": url: " + e.what());
  }
  for (const ManticoreTableConfig& table : config_.tables) {
    auto state = std::make_unique<IndexState>();
    state->name = config_.index_for(table.table);
    state->table = table.table;
    state->gate = IndexGate::of(url_.endpoint(), state->name);
    indexes_.emplace(state->name, std::move(state));
  }
}

ManticoreSink::~ManticoreSink() = default;

SphinxqlConnection& ManticoreSink::connection() {
  if (connection_ && connection_->broken()) connection_.reset();
  if (!connection_) connection_ = std::make_unique<SphinxqlConnection>(url_, options_, context_);
  return *connection_;
}

template <typename F>
auto ManticoreSink::with_connection(F&& f) {
  try {
    return f(connection());
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kTransient) connection_.reset();
    throw;
  }
}

ManticoreSink::IndexState& ManticoreSink::state_of_index(const std::string& index) {
  auto found = indexes_.find(index);
  if (found == indexes_.end()) throw Error::internal(context_ + ": no index '" + index + "'");
  return *found->second;
}

ManticoreSink::IndexState* ManticoreSink::state_of_table(const std::string& table) {
  for (auto& [name, state] : indexes_) {
    if (state->table == table) return state.get();
  }
  return nullptr;
}

// ---- checkpoint documents --------------------------------------------------------

std::optional<CheckpointState> ManticoreSink::read_checkpoint(SphinxqlConnection& conn, IndexState& index) {
  SphinxqlConnection::Result result;
  try {
    result = conn.query(fmt::format("SELECT id, {} FROM {} WHERE id IN ({}, {}) LIMIT 2 OPTION max_matches=2",
                                    kCheckpointAttribute, quote_identifier(index.name), kCheckpointId, kWholeMarkId));
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kServer && std::string_view(e.what()).find("unknown local index") != std::string_view::npos) {
      throw Error::config(fmt::format(
          "{}: searchd at {} has no index '{}' (for table {}): declare it in sphinx.conf and restart searchd; "
          "`sluice check` prints the block to add",
          context_, url_.endpoint(), index.name, index.table));
    }
    throw;
  }
  const std::optional<std::string>* checkpoint = nullptr;
  bool whole = false;
  for (const auto& row : result.rows) {
    if (row.at(0) == kCheckpointId) checkpoint = &row.at(1);
    if (row.at(0) == kWholeMarkId) whole = true;
  }
  // Without its mark the index lost its data even when a batch that was open
  // across the loss recreated the checkpoint document (document_id.h).
  if (checkpoint == nullptr || !whole) return std::nullopt;
  return parse_checkpoint(checkpoint->value_or(std::string()), fmt::format("{}, index '{}'", context_, index.name));
}

void ManticoreSink::write_whole_mark(SphinxqlConnection& conn, IndexState& index) {
  std::string sql = fmt::format("REPLACE INTO {} (id, {}) VALUES ({}, ", quote_identifier(index.name),
                                kCheckpointAttribute, kWholeMarkId);
  append_quoted(sql, kWholeMarkText);
  sql += ")";
  conn.execute(sql);
}

void ManticoreSink::write_checkpoint(SphinxqlConnection& conn, IndexState& index, const CheckpointState& state) {
  std::string sql = fmt::format("REPLACE INTO {} (id, {}) VALUES ({}, ", quote_identifier(index.name),
                                kCheckpointAttribute, kCheckpointId);
  append_quoted(sql, format_checkpoint(state));
  sql += ")";
  conn.execute(sql);
}

void ManticoreSink::rewrite_checkpoints(
    const std::function<CheckpointState(const std::optional<CheckpointState>&)>& make, bool mark_whole) {
  with_connection([&](SphinxqlConnection& conn) {
    for (auto& [name, index] : indexes_) {
      std::lock_guard lock(index->gate->writes());
      CheckpointState next = make(index->stored);
      if (mark_whole) conn.execute("BEGIN");
      write_checkpoint(conn, *index, next);
      if (mark_whole) {
        write_whole_mark(conn, *index);
        conn.execute("COMMIT");
      }
      index->stored = std::move(next);
    }
    return 0;
  });
}

SinkCheckpoint ManticoreSink::load_checkpoint() {
  return with_connection([&](SphinxqlConnection& conn) {
    SinkCheckpoint out;
    bool any = false, all = true;
    for (auto& [name, index] : indexes_) {
      index->stored = read_checkpoint(conn, *index);
      if (!index->stored) {
        all = false;
        continue;
      }
      const CheckpointState& s = *index->stored;
      if (!any) {
        out.position = s.position;
        out.slot = s.slot;
        out.snapshot = s.snapshot;
        out.rebuilding = s.rebuilding;
      } else {
        if (s.position && (!out.position || *s.position < *out.position)) out.position = s.position;
        if (!s.position) out.position.reset();
        if (s.snapshot != SnapshotState::kDone) out.snapshot = s.snapshot;
        if (s.rebuilding) out.rebuilding = s.rebuilding;
      }
      any = true;
    }
    if (any && !all) {
      // An index lost its checkpoint (emptied, or searchd lost its data): the
      // whole sink is rebuilt, as for a store that came back empty.
      spdlog::warn("{}: an index has lost its data (its checkpoint document or its whole mark is gone); the sink is rebuilt", context_);
      out.position.reset();
    }
    return out;
  });
}

// ---- routing and schema --------------------------------------------------------

const DocumentLayout* ManticoreSink::layout_for(const RelationPtr& relation) {
  if (!relation) throw Error::internal(context_ + ": a change without its relation");
  auto found = layouts_.find(relation.get());
  if (found != layouts_.end()) return found->second.get();
  const std::string table = relation->qualified_name();
  const ManticoreTableConfig* table_config = config_.table_config(table);
  if (table_config == nullptr) return nullptr;
  IndexState& index = state_of_index(config_.index_for(table));
  std::vector<int> selected;
  try {
    selected = selected_columns(*relation, table_config->columns, table_config->exclude_columns);
  } catch (const Error& e) {
    throw Error::config(fmt::format("{}: table {}: {}", context_, table, e.what()));
  }
  // DESCRIBE every time a table's shape is new: a column added at the source must
  // find its attribute in the index.
  index.described = with_connection([&](SphinxqlConnection& conn) {
    return parse_describe(conn.query("DESCRIBE " + quote_identifier(index.name)));
  });
  auto layout = std::make_unique<DocumentLayout>(relation, index.name, table_config->fields, selected, index.described);
  const std::vector<SchemaProblem> problems = compare_schema(layout->definition(), index.described);
  if (!problems.empty()) {
    std::string message = fmt::format("{}: index '{}' does not fit table {}:", context_, index.name, table);
    for (const SchemaProblem& p : problems) message += " " + p.message(index.name);
    message += " (sluice never drops a value: fix the index, then start sluice again; the table is re-synced)";
    throw Error::config(message);
  }
  if (!relation->old_row_complete()) {
    for (const DocumentColumn& column : layout->columns()) {
      if (column.field && !column.attribute) {
        spdlog::warn("{}: index '{}': field {} is not also a string attribute, so an update of {} that leaves a "
                     "TOASTed {} unchanged cannot be indexed and stops the sink; add rt_attr_string = {} to the "
                     "index, or ALTER TABLE {} REPLICA IDENTITY FULL;",
                     context_, index.name, column.name, table, column.name, column.name, table);
      }
    }
  }
  const DocumentLayout* out = layout.get();
  layout_by_table_[table] = out;
  layouts_[relation.get()] = std::move(layout);
  return out;
}

// ---- apply -------------------------------------------------------------------------

std::map<int64_t, StoredDocument> ManticoreSink::read_documents(SphinxqlConnection& conn, const std::string& index,
                                                                const std::string& columns,
                                                                const std::vector<int64_t>& ids) {
  std::map<int64_t, StoredDocument> out;
  for (size_t from = 0; from < ids.size(); from += kReadChunk) {
    const size_t n = std::min(kReadChunk, ids.size() - from);
    auto result = conn.query(fmt::format("SELECT {} FROM {} WHERE id IN ({}) LIMIT {} OPTION max_matches={}", columns,
                                         quote_identifier(index), id_list(ids, from, n), n, n));
    for (const auto& row : result.rows) {
      StoredDocument doc;
      for (size_t i = 0; i < result.columns.size() && i < row.size(); ++i) doc.emplace_back(result.columns[i], row[i]);
      const std::optional<std::string> id = attribute(doc, "id");
      if (!id) throw Error::protocol(context_ + ": searchd returned a row without its id from " + index);
      try {
        out[std::stoll(*id)] = std::move(doc);
      } catch (const std::exception&) {
        throw Error::protocol(context_ + ": searchd returned id '" + *id + "' from " + index);
      }
    }
  }
  return out;
}

void ManticoreSink::plan_change(const Change& change, const DocumentLayout& layout, IndexPlan& plan) {
  const Relation& relation = *change.relation;
  plan.touched = true;
  switch (change.op) {
    case Op::kTruncate:
      plan.documents.clear();
      plan.truncate = change.position;
      return;
    case Op::kDelete: {
      PendingDocument doc;
      doc.remove = true;
      doc.version = change.position;
      doc.id = document_id(relation, change.old_values);
      doc.layout = &layout;
      plan.documents[doc.id.id] = std::move(doc);
      return;
    }
    case Op::kInsert:
    case Op::kUpdate: {
      PendingDocument doc;
      doc.version = change.position;
      doc.id = document_id(relation, change.new_values);
      doc.layout = &layout;
      doc.values = change.new_values;
      doc.toast_from = doc.id.id;
      std::optional<DocumentId> old_id;
      if (change.op == Op::kUpdate && !change.old_values.empty()) {
        DocumentId old = document_id(relation, change.old_values);
        if (old.id != doc.id.id || old.identity != doc.id.identity) old_id = std::move(old);
      }
      if (old_id) doc.toast_from = old_id->id;
      // An unchanged TOAST value after an earlier change of this batch to the same
      // row comes from that change.
      auto earlier = plan.documents.find(doc.toast_from);
      if (earlier != plan.documents.end() && !earlier->second.remove) {
        const PendingDocument& prior = earlier->second;
        doc.restored = prior.restored;
        doc.restored.resize(doc.values.size());
        for (size_t i = 0; i < doc.values.size(); ++i) {
          if (!doc.values[i].is_unchanged_toast() || i >= prior.values.size()) continue;
          if (!prior.values[i].is_unchanged_toast()) {
            doc.values[i] = prior.values[i];
            doc.restored[i].reset();
          }
        }
        const bool still_toasted = std::any_of(doc.values.begin(), doc.values.end(),
                                               [](const Value& v) { return v.is_unchanged_toast(); });
        doc.toast_from = still_toasted ? prior.toast_from : doc.id.id;
      }
      if (old_id) {
        PendingDocument gone;
        gone.remove = true;
        gone.version = change.position;
        gone.id = *old_id;
        gone.layout = &layout;
        plan.documents[old_id->id] = std::move(gone);
      }
      plan.documents[doc.id.id] = std::move(doc);
      return;
    }
  }
}

void ManticoreSink::write_plan(SphinxqlConnection& conn, const Batch& batch, IndexState& index, IndexPlan& plan) {
  std::lock_guard lock(index.gate->writes());
  const std::optional<Position> rebuilding = index.gate->rebuilding();

  // The documents this plan writes, and those it keeps TOAST values from.
  std::vector<int64_t> ids;
  bool toast = false;
  const DocumentLayout* any_layout = nullptr;
  for (const auto& [id, doc] : plan.documents) {
    ids.push_back(id);
    any_layout = doc.layout;
    if (!doc.remove && doc.toast_from != id) ids.push_back(doc.toast_from);
    if (!doc.remove) {
      toast = toast || std::any_of(doc.values.begin(), doc.values.end(), [](const Value& v) { return v.is_unchanged_toast(); });
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const std::string columns =
      toast && any_layout ? any_layout->stored_list()
                          : fmt::format("id, {}, {}", kVersionAttribute, kIdentityAttribute);
  // The initial snapshot fills an index begin_snapshot() emptied, each row once
  // and before any streamed change: with ids that are the key itself (no
  // collision possible) there is nothing to read back. Hashed ids are read to
  // find collisions.
  const bool nothing_stored =
      batch.kind == BatchKind::kSnapshot && any_layout != nullptr && document_id_is_key_value(*any_layout->relation());
  const std::map<int64_t, StoredDocument> stored = plan.truncate || ids.empty() || nothing_stored
                                                       ? std::map<int64_t, StoredDocument>{}
                                                       : read_documents(conn, index.name, columns, ids);
  // After a truncate in this batch the index holds none of the documents read
  // before it; changes after the truncate are all that counts.

  std::vector<int64_t> deletes;
  std::vector<std::pair<const DocumentLayout*, std::string>> rows;
  std::vector<std::pair<int64_t, Position>> tombstones;
  size_t skipped = 0;
  for (auto& [id, doc] : plan.documents) {
    const Relation& relation = *doc.layout->relation();
    auto found = stored.find(id);
    const StoredDocument* current = found == stored.end() ? nullptr : &found->second;
    if (current != nullptr) {
      const std::string stored_identity = attribute(*current, kIdentityAttribute).value_or(std::string());
      if (stored_identity != doc.id.identity) {
        if (doc.remove) continue;  // the document is another row's: this row has none
        DocumentId other{id, stored_identity};
        throw Error::invalid_input(fmt::format(
            "{}: index '{}': {} and {} share document id {} (a collision of the 63-bit hash of their keys, or a "
            "document sluice did not write); nothing was overwritten",
            context_, index.name, row_name(relation, doc.id),
            stored_identity.empty() ? std::string("a document without an identity") : row_name(relation, other), id));
      }
      const std::string stored_version = attribute(*current, kVersionAttribute).value_or(std::string());
      if (!stored_version.empty() && stored_version >= doc.version.encode()) {
        ++skipped;
        continue;
      }
    }
    if (doc.remove) {
      if (batch.kind == BatchKind::kStream) tombstones.emplace_back(id, doc.version);
      if (current != nullptr) deletes.push_back(id);
      continue;
    }
    if (batch.kind == BatchKind::kRebuild && index.gate->blocks(id)) {
      ++skipped;
      continue;
    }
    // Unchanged TOAST values come from the stored document.
    DocumentLayout::Restored restored = doc.restored;
    restored.resize(doc.values.size());
    for (size_t i = 0; i < doc.values.size(); ++i) {
      if (!doc.values[i].is_unchanged_toast() || restored[i]) continue;
      const DocumentColumn* column = doc.layout->column_at(static_cast<int>(i));
      if (column == nullptr) continue;  // not in the document
      auto source = stored.find(doc.toast_from);
      if (source == stored.end()) {
        if (rebuilding && batch.kind == BatchKind::kStream) {
          throw Error::transient(fmt::format(
              "{}: index '{}': {}: column {} is an unchanged TOAST value of a row the rebuild has not copied yet; "
              "waiting for it",
              context_, index.name, row_name(relation, doc.id), column->name));
        }
        throw Error::state(fmt::format(
            "{}: index '{}': {}: column {} is an unchanged TOAST value, but the index has no document for the row "
            "to keep it from (it is never written as empty)",
            context_, index.name, row_name(relation, doc.id), column->name));
      }
      restored[i] = doc.layout->stored_text(column->index, source->second);
      if (!restored[i]) {
        throw Error::state(fmt::format(
            "{}: index '{}': {}: full-text field {} is an unchanged TOAST value the server did not send, and the "
            "index does not store that field, so the document cannot be rewritten whole: declare the field also as "
            "a string attribute (rt_attr_string = {}), or ALTER TABLE {} REPLICA IDENTITY FULL; (the source then "
            "sends every value)",
            context_, index.name, row_name(relation, doc.id), column->name, column->name, relation.qualified_name()));
      }
    }
    rows.emplace_back(doc.layout, doc.layout->row_literal(doc.id, doc.values, doc.version, restored));
  }

  const std::string name = quote_identifier(index.name);
  const bool move_checkpoint = batch.kind == BatchKind::kStream && batch.checkpoint;
  CheckpointState next = index.stored.value_or(CheckpointState{});
  if (move_checkpoint) next.position = batch.checkpoint;
  if (!plan.truncate && deletes.empty() && rows.empty()) {
    if (move_checkpoint) write_checkpoint(conn, index, next);
    index.stored = next;
    last_apply_.skipped += skipped;
    return;
  }
  const size_t limit = conn.max_allowed_packet() > 1024 ? conn.max_allowed_packet() - 1024 : conn.max_allowed_packet();
  bool committing = false;
  conn.execute("BEGIN");
  try {
    if (plan.truncate) conn.execute(fmt::format("DELETE FROM {} WHERE id < {}", name, kCheckpointId));
    for (size_t from = 0; from < deletes.size(); from += kDeleteChunk) {
      conn.execute(fmt::format("DELETE FROM {} WHERE id IN ({})", name,
                               id_list(deletes, from, std::min(kDeleteChunk, deletes.size() - from))));
    }
    // Rows of one layout share a REPLACE (a batch may hold a table's old and new shape).
    std::string statement;
    const DocumentLayout* statement_layout = nullptr;
    for (const auto& [layout, row] : rows) {
      if (!statement.empty() && (layout != statement_layout || statement.size() + row.size() + 2 > limit)) {
        conn.execute(statement);
        statement.clear();
      }
      if (statement.empty()) {
        statement = fmt::format("REPLACE INTO {} ({}) VALUES ", name, layout->column_list());
        statement_layout = layout;
      } else {
        statement += ", ";
      }
      statement += row;
    }
    if (!statement.empty()) conn.execute(statement);
    if (move_checkpoint) write_checkpoint(conn, index, next);
    committing = true;
    conn.execute("COMMIT");
  } catch (const Error&) {
    if (committing && conn.broken()) {
      // The COMMIT may have landed (its answer was lost): a rebuild's copy must
      // obey the deletes either way (the batch is retried until it lands).
      if (plan.truncate && batch.kind == BatchKind::kStream) index.gate->truncated(*plan.truncate);
      for (const auto& [id, version] : tombstones) index.gate->deleted(id, version);
    }
    if (!conn.broken()) {
      try {
        conn.execute("ROLLBACK");
      } catch (const Error&) {
      }
    }
    throw;
  }
  index.stored = next;
  if (plan.truncate && batch.kind == BatchKind::kStream) index.gate->truncated(*plan.truncate);
  for (const auto& [id, version] : tombstones) index.gate->deleted(id, version);
  last_apply_.written += rows.size() + deletes.size();
  last_apply_.skipped += skipped;
  totals_.skipped += skipped;
}

void ManticoreSink::apply(const Batch& batch) {
  last_apply_ = {};
  with_connection([&](SphinxqlConnection& conn) {
    // Every index this batch concerns: all of them for a streamed batch (each
    // checkpoint moves), else those its rows go to.
    std::map<std::string, IndexPlan> plans;
    if (batch.kind == BatchKind::kStream && batch.checkpoint) {
      for (const auto& [name, index] : indexes_) plans[name];
    }
    std::vector<std::pair<const Change*, const DocumentLayout*>> routed;
    for (const ChangePtr& change : batch.changes) {
      const DocumentLayout* layout = layout_for(change->relation);
      if (layout == nullptr) continue;
      plans[layout->index()];
      routed.emplace_back(change.get(), layout);
    }
    // Read every checkpoint first: a lost one is a reset before anything is written.
    for (auto& [name, plan] : plans) {
      IndexState& index = state_of_index(name);
      std::optional<CheckpointState> stored = read_checkpoint(conn, index);
      if (!stored) {
        throw SinkWasReset(fmt::format(
            "{}: index '{}' has lost its data (its checkpoint document or its whole mark is gone: emptied by "
            "TRUNCATE RTINDEX, or searchd restarted without its data)",
            context_, name));
      }
      switch (batch.kind) {
        case BatchKind::kStream:
          if (index.stored && index.stored->position && (!stored->position || *stored->position < *index.stored->position)) {
            // searchd lost transactions it had committed (the OS crashed before
            // its binlog reached the disk, say): what the source was acknowledged
            // for is gone, so the index is rebuilt like an emptied one.
            throw SinkWasReset(fmt::format(
                "{}: index '{}': the stored checkpoint went back from {} to {}: searchd lost committed transactions",
                context_, name, index.stored->position->str(),
                stored->position ? stored->position->str() : std::string("none")));
          }
          // The batch's own checkpoint: an earlier attempt landed and its
          // answer was lost (its changes are then all replays).
          if (index.stored && index.stored->position != stored->position && stored->position != batch.checkpoint) {
            throw Error::state(fmt::format(
                "{}: index '{}': the stored checkpoint is {}, not {} as this sink left it: another process writes "
                "this index",
                context_, name, stored->position ? stored->position->str() : std::string("none"),
                index.stored->position ? index.stored->position->str() : std::string("none")));
          }
          break;
        case BatchKind::kSnapshot:
          if (stored->snapshot != SnapshotState::kInProgress || !stored->snapshot_at) {
            throw Error::state(fmt::format("{}: index '{}': snapshot rows arrived, but no snapshot is in progress",
                                           context_, name));
          }
          break;
        case BatchKind::kRebuild:
          if (!batch.copy_point || stored->rebuilding != batch.copy_point) {
            throw Error::state(fmt::format("{}: index '{}': the rebuild at {} is no longer in progress", context_,
                                           name, batch.copy_point ? batch.copy_point->str() : std::string("?")));
          }
          break;
        case BatchKind::kRepair:
          break;
      }
      index.stored = std::move(stored);
    }
    for (const auto& [change, layout] : routed) {
      IndexState& index = state_of_index(layout->index());
      if (batch.kind == BatchKind::kStream && index.stored->position && change->position <= *index.stored->position) {
        ++last_apply_.replayed;
        continue;
      }
      if (batch.kind == BatchKind::kSnapshot && change->position != *index.stored->snapshot_at) {
        throw Error::state(fmt::format("{}: index '{}': a snapshot row at {} belongs to another snapshot than {}",
                                       context_, index.name, change->position.str(),
                                       index.stored->snapshot_at->str()));
      }
      plan_change(*change, *layout, plans[layout->index()]);
    }
    for (auto& [name, plan] : plans) write_plan(conn, batch, state_of_index(name), plan);
    return 0;
  });
}

void ManticoreSink::probe() {
  with_connection([&](SphinxqlConnection& conn) {
    conn.query("SHOW STATUS LIKE 'uptime'");
    return 0;
  });
}

// ---- snapshot and rebuild ------------------------------------------------------

void ManticoreSink::begin_snapshot(const std::string& slot, const Position& snapshot_at, const std::vector<std::string>&) {
  with_connection([&](SphinxqlConnection& conn) {
    for (auto& [name, index] : indexes_) {
      std::lock_guard lock(index->gate->writes());
      CheckpointState next;
      next.slot = slot;
      next.snapshot = SnapshotState::kInProgress;
      next.snapshot_at = snapshot_at;
      if (index->stored) next.shapes = index->stored->shapes;
      conn.execute("BEGIN");
      conn.execute(fmt::format("DELETE FROM {} WHERE id < {}", quote_identifier(name), kCheckpointId));
      write_checkpoint(conn, *index, next);
      write_whole_mark(conn, *index);
      conn.execute("COMMIT");
      index->stored = std::move(next);
    }
    return 0;
  });
}

void ManticoreSink::finish_snapshot(const std::string& slot, const Position& snapshot_at) {
  rewrite_checkpoints([&](const std::optional<CheckpointState>& stored) {
    CheckpointState next = stored.value_or(CheckpointState{});
    next.position = snapshot_at;
    next.slot = slot;
    next.snapshot = SnapshotState::kDone;
    next.snapshot_at.reset();
    return next;
  });
}

void ManticoreSink::start_without_snapshot(const std::string& slot, const Position& start) {
  rewrite_checkpoints([&](const std::optional<CheckpointState>& stored) {
    CheckpointState next = stored.value_or(CheckpointState{});
    next.position = start;
    next.slot = slot;
    next.snapshot = SnapshotState::kDone;
    next.snapshot_at.reset();
    next.rebuilding.reset();
    return next;
  }, /*mark_whole=*/true);  // from here on the index is this sink's, as it is
}

void ManticoreSink::begin_rebuild(const std::string& slot, const std::optional<Position>& copy_point) {
  // Indexes that kept their checkpoint keep their position; one that lost it
  // starts from the oldest position any index has.
  std::optional<Position> oldest;
  for (const auto& [name, index] : indexes_) {
    if (index->stored && index->stored->position && (!oldest || *index->stored->position < *oldest)) {
      oldest = index->stored->position;
    }
  }
  rewrite_checkpoints([&](const std::optional<CheckpointState>& stored) {
    CheckpointState next = stored.value_or(CheckpointState{});
    if (!stored) next.position = oldest;
    next.slot = slot;
    next.snapshot = SnapshotState::kDone;
    next.snapshot_at.reset();
    next.rebuilding = copy_point;
    return next;
  }, /*mark_whole=*/copy_point.has_value());  // a rebuild fills every index from its copy point
  for (auto& [name, index] : indexes_) {
    if (copy_point) {
      index->gate->begin_rebuild(*copy_point);
    } else {
      index->gate->end_rebuild();
    }
  }
}

void ManticoreSink::finish_rebuild(const Position& copy_point, const std::vector<std::string>&) {
  with_connection([&](SphinxqlConnection& conn) {
    for (auto& [name, index] : indexes_) {
      std::lock_guard lock(index->gate->writes());
      std::optional<CheckpointState> stored = read_checkpoint(conn, *index);
      if (!stored) {
        throw SinkWasReset(fmt::format("{}: index '{}' lost its checkpoint document during its rebuild", context_, name));
      }
      if (stored->rebuilding != copy_point) {
        throw Error::state(fmt::format("{}: index '{}': the rebuild at {} is no longer in progress (the checkpoint says {})",
                                       context_, name, copy_point.str(),
                                       stored->rebuilding ? stored->rebuilding->str() : std::string("none")));
      }
      stored->rebuilding.reset();
      write_checkpoint(conn, *index, *stored);
      index->stored = std::move(stored);
      index->gate->end_rebuild();
    }
    return 0;
  });
}

// ---- RowStore -------------------------------------------------------------------

std::map<std::string, std::string> ManticoreSink::load_table_shapes() {
  std::map<std::string, std::string> shapes;
  with_connection([&](SphinxqlConnection& conn) {
    for (auto& [name, index] : indexes_) {
      index->stored = read_checkpoint(conn, *index);
      if (index->stored && shapes.empty()) shapes = index->stored->shapes;
    }
    return 0;
  });
  return shapes;
}

void ManticoreSink::store_table_shape(const std::string& table, const std::string& shape) {
  rewrite_checkpoints([&](const std::optional<CheckpointState>& stored) {
    CheckpointState next = stored.value_or(CheckpointState{});
    next.shapes[table] = shape;
    return next;
  });
}

uint64_t ManticoreSink::remove_rows_older_than(const std::string& table, const Position& since) {
  IndexState* index = state_of_table(table);
  if (index == nullptr) return 0;
  const std::string name = quote_identifier(index->name);
  const std::string since_text = since.encode();
  uint64_t removed = 0;
  with_connection([&](SphinxqlConnection& conn) {
    int64_t after = 0;
    while (true) {
      auto page = conn.query(fmt::format(
          "SELECT id, {} FROM {} WHERE id > {} AND id < {} ORDER BY id ASC LIMIT {} OPTION max_matches={}",
          kVersionAttribute, name, after, kCheckpointId, kScanPage, kScanPage));
      if (page.rows.empty()) break;
      std::vector<int64_t> older;
      for (const auto& row : page.rows) {
        const int64_t id = std::stoll(row.at(0).value_or("0"));
        after = std::max(after, id);
        if (row.at(1).value_or(std::string()) < since_text) older.push_back(id);
      }
      if (!older.empty()) {
        std::lock_guard lock(index->gate->writes());
        // Checked again under the gate: a change may have rewritten a row since.
        auto current = read_documents(conn, index->name, fmt::format("id, {}", kVersionAttribute), older);
        std::vector<int64_t> still;
        for (const auto& [id, doc] : current) {
          if (attribute(doc, kVersionAttribute).value_or(std::string()) < since_text) still.push_back(id);
        }
        if (!still.empty()) {
          removed += conn.execute(fmt::format("DELETE FROM {} WHERE id IN ({})", name, id_list(still, 0, still.size())));
        }
      }
      if (page.rows.size() < kScanPage) break;
    }
    return 0;
  });
  return removed;
}

// ---- VerifyTarget ---------------------------------------------------------------

VerifyTarget::Expected ManticoreSink::expected_for(const RelationPtr& relation, const std::vector<Value>& row) {
  const DocumentLayout* layout = layout_for(relation);
  if (layout == nullptr) throw Error::internal(context_ + ": table " + relation->qualified_name() + " is not routed here");
  const DocumentId id = document_id(*relation, row);
  return Expected{layout->index() + ":" + std::to_string(id.id), id.identity, layout->canonical_of_row(id, row)};
}

namespace {
int64_t id_of_key(const std::string& key) {
  const size_t colon = key.rfind(':');
  try {
    return std::stoll(key.substr(colon == std::string::npos ? 0 : colon + 1));
  } catch (const std::exception&) {
    throw Error::internal("search document key '" + key + "' has no id");
  }
}
}  // namespace

std::vector<std::optional<std::string>> ManticoreSink::read_canonical(const std::string& table,
                                                                      const std::vector<Expected>& expected) {
  std::vector<RowRef> rows;
  for (const auto& e : expected) rows.push_back({e.key, e.identity});
  std::vector<std::optional<std::string>> out;
  for (auto& stored : read_stored(table, rows)) out.push_back(std::move(stored.canonical));
  return out;
}

std::vector<VerifyTarget::Stored> ManticoreSink::read_stored(const std::string& table, const std::vector<RowRef>& rows) {
  IndexState* index = state_of_table(table);
  auto layout = layout_by_table_.find(table);
  if (index == nullptr || layout == layout_by_table_.end()) {
    throw Error::internal(context_ + ": table " + table + " has no layout yet (expected_for first)");
  }
  std::vector<int64_t> ids;
  for (const auto& r : rows) ids.push_back(id_of_key(r.key));
  auto docs = with_connection([&](SphinxqlConnection& conn) {
    return read_documents(conn, index->name, layout->second->stored_list(), ids);
  });
  std::vector<Stored> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    Stored s;
    auto found = docs.find(ids[i]);
    if (found != docs.end() && attribute(found->second, kIdentityAttribute) == rows[i].identity) {
      s.canonical = layout->second->canonical_of_stored(found->second);
      const std::string version = attribute(found->second, kVersionAttribute).value_or(std::string());
      if (!version.empty()) s.version = Position::decode(version);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<Position> ManticoreSink::read_applied_position() {
  return with_connection([&](SphinxqlConnection& conn) {
    std::optional<Position> oldest;
    for (auto& [name, index] : indexes_) {
      auto stored = read_checkpoint(conn, *index);
      if (!stored || !stored->position) return std::optional<Position>();
      if (!oldest || *stored->position < *oldest) oldest = stored->position;
    }
    return oldest;
  });
}

void ManticoreSink::scan_rows(const std::string& table,
                              const std::function<void(const std::vector<std::pair<std::string, std::string>>&)>& visit) {
  IndexState* index = state_of_table(table);
  if (index == nullptr) return;
  const std::string name = quote_identifier(index->name);
  int64_t after = 0;
  while (true) {
    auto page = with_connection([&](SphinxqlConnection& conn) {
      return conn.query(fmt::format("SELECT id, {} FROM {} WHERE id > {} AND id < {} ORDER BY id ASC LIMIT {} OPTION "
                                    "max_matches={}",
                                    kIdentityAttribute, name, after, kCheckpointId, kScanPage, kScanPage));
    });
    if (page.rows.empty()) return;
    std::vector<std::pair<std::string, std::string>> items;
    for (const auto& row : page.rows) {
      const std::string id = row.at(0).value_or("0");
      after = std::max(after, static_cast<int64_t>(std::stoll(id)));
      items.emplace_back(row.at(1).value_or(std::string()), index->name + ":" + id);
    }
    visit(items);
    if (page.rows.size() < kScanPage) return;
  }
}

}  // namespace sluice
