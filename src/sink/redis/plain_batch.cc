#include "sink/redis/plain_batch.h"

#include <algorithm>
#include <deque>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/sink.h"
#include "sink/redis/json_members.h"
#include "sink/redis/redis_connection.h"

namespace sluice {

namespace {

constexpr size_t kChunk = 500;       // keys or fields per command
constexpr int kAttempts = 5;         // EXECs aborted by other writers before the script takes over
// An index entry is "<version> <key>": a version (Position::encode()) has no space.
size_t version_end(std::string_view entry) { return entry.find(' '); }
constexpr size_t kMgetMaxDocument = 1024;  // average bytes, for the type probe (read())

struct PlainOp {
  enum class Kind { kUpsert, kRemove, kTruncate };
  Kind kind = Kind::kUpsert;
  std::string_view table, version, id_new, id_old, new_key, old_key, doc;
  // An upsert that keeps unchanged TOAST values from the stored document: its
  // segments and key tokens (json_members.h); null for a whole document.
  const BatchPlan::UpsertJson* splice = nullptr;
  bool reads_stored() const { return kind == Kind::kUpsert && (splice || new_key.empty()); }
};

// The plan's ops as this path applies them, or nullopt when one is not for it.
std::optional<std::vector<PlainOp>> plain_ops(const BatchPlan& plan, bool snapshot_rows) {
  std::vector<PlainOp> ops;
  ops.reserve(plan.op_count());
  for (const BatchPlan::Op& op : plan.ops()) {
    if (const auto* u = std::get_if<BatchPlan::UpsertJson>(&op)) {
      const bool whole = u->toast_tokens.empty();
      if (snapshot_rows && (!whole || u->new_key.empty())) return std::nullopt;
      ops.push_back({PlainOp::Kind::kUpsert, u->table, u->version, u->id_new, u->id_old, u->new_key, u->old_key,
                     u->segments[0], whole ? nullptr : u});
    } else if (const auto* d = std::get_if<BatchPlan::Remove>(&op); d && !snapshot_rows) {
      ops.push_back({PlainOp::Kind::kRemove, d->table, d->version, d->identity, {}, {}, d->old_key, {}, nullptr});
    } else if (const auto* t = std::get_if<BatchPlan::Truncate>(&op); t && !snapshot_rows) {
      ops.push_back({PlainOp::Kind::kTruncate, t->table, t->version, {}, {}, {}, {}, {}, nullptr});
    } else {
      return std::nullopt;
    }
  }
  return ops;
}

std::string show(std::string_view position) { return position.empty() ? "none" : std::string(position); }

// Sends UNWATCH on the way out unless EXEC has ended the watch.
class WatchGuard {
 public:
  explicit WatchGuard(RedisConnection& conn) : conn_(conn) {}
  ~WatchGuard() {
    if (!active_ || conn_.broken()) return;
    try {
      conn_.command(std::vector<std::string_view>{"UNWATCH"});
    } catch (...) {
      // The connection is broken now; its owner reconnects, and a new connection
      // watches nothing.
    }
  }
  WatchGuard(const WatchGuard&) = delete;
  WatchGuard& operator=(const WatchGuard&) = delete;
  void ended() { active_ = false; }

 private:
  RedisConnection& conn_;
  bool active_ = true;
};

enum class Attempt { kDone, kAgain };

// One attempt: read, plan, write (plain_batch.h).
class PlainApply {
 public:
  PlainApply(RedisConnection& conn, const BatchPlan::Header& header, const std::vector<PlainOp>& ops)
      : conn_(conn),
        h_(header),
        ops_(ops),
        snapshot_(header.kind == BatchKind::kSnapshot),
        cpkey_(header.prefix + ":checkpoint"),
        who_("sink '" + header.sink + "'") {}

  Attempt run(BatchOutcome& outcome) {
    collect();
    WatchGuard watch(conn_);
    if (read(outcome)) return Attempt::kDone;
    plan(outcome);
    watch.ended();  // EXEC ends the watch, whatever its outcome
    return write();
  }

 private:
  struct Entry {
    std::optional<std::string> value;  // "<version> <key>", none when the row has no entry
    bool written = false;
  };
  struct Index {
    std::string key;
    std::vector<std::string_view> ids;  // to read, in first-use order
    std::vector<Entry*> id_entries;     // their entries
    std::unordered_map<std::string_view, Entry> entries;
    std::vector<std::pair<std::string_view, Entry*>> written;
    bool read_all = false;  // a truncate: every entry is read (HGETALL)
    std::vector<std::pair<std::string, std::string>> all;  // ... into this (id, entry)
    bool cleared = false;   // a truncate was planned: the index is rewritten from empty
  };
  struct Target {
    std::string type;  // as read from Redis ("" = not read: only deleted, never checked)
    std::optional<std::string> stored;  // the stored document, where a splice or a key may need it
    bool stored_wanted = false;         // read_stored() reads it
    bool planned = false;
    std::string_view content;  // the planned document
    bool present = false;      // planned to hold `content` (else: deleted)
  };
  // A key and its state (map nodes do not move, so these stay valid).
  struct Key {
    const std::string* name = nullptr;
    Target* target = nullptr;
  };
  // What collect() found for each op, so that planning looks nothing up again.
  struct OpRefs {
    Entry* e_new = nullptr;
    Entry* e_old = nullptr;
    Key key;  // upserts with their key
  };

  // The indexes and keys the ops read.
  void collect() {
    op_index_.reserve(ops_.size());
    refs_.reserve(ops_.size());
    for (const PlainOp& op : ops_) {
      auto [slot, added] = index_of_.try_emplace(op.table, indexes_.size());
      if (added) indexes_.emplace_back().key = h_.prefix + ":index:" + std::string(op.table);
      op_index_.push_back(slot->second);
      Index& index = indexes_[slot->second];
      OpRefs refs;
      if (op.kind == PlainOp::Kind::kTruncate) {
        index.read_all = true;
        refs_.push_back(refs);
        continue;
      }
      auto entry = [&](std::string_view id) {
        auto [it, added_id] = index.entries.try_emplace(id);
        // Snapshot rows read no index entries: there is no version guard.
        if (added_id && !snapshot_) {
          index.ids.push_back(id);
          index.id_entries.push_back(&it->second);
        }
        return &it->second;
      };
      refs.e_new = entry(op.id_new);
      if (!op.id_old.empty()) refs.e_old = entry(op.id_old);
      if (op.reads_stored()) reads_stored_ = true;
      if (op.kind == PlainOp::Kind::kUpsert && !op.new_key.empty()) {
        doc_bytes_ += op.doc.size();
        auto [it, added_key] = targets_.try_emplace(std::string(op.new_key));
        refs.key = Key{&it->first, &it->second};
        if (added_key) {
          target_names_.push_back(it->first);
          target_refs_.push_back(refs.key);
        }
      }
      refs_.push_back(refs);
    }
  }

  template <typename Item>
  void append_chunks(std::string_view command, const std::string* key, const std::vector<Item>& items, size_t step) {
    for (size_t at = 0; at < items.size(); at += step) {
      std::vector<std::string_view> argv{command};
      if (key) argv.push_back(*key);
      const size_t last = std::min(items.size(), at + step);
      for (size_t i = at; i < last; ++i) argv.push_back(items[i]);
      append(argv);
    }
  }

  // The replies of every command queued since the last call, in order: all of
  // them are read before any is looked at, so that a throw leaves the connection
  // in step with the server.
  std::vector<RedisReply> replies() {
    std::vector<RedisReply> out;
    out.reserve(queued_);
    for (size_t i = 0; i < queued_; ++i) out.push_back(conn_.read());
    queued_ = 0;
    return out;
  }
  const RedisReply& checked(const RedisReply& reply, std::string_view what) const {
    if (reply.is_error()) throw conn_.reply_error(what, reply.str());
    return reply;
  }
  void append(const std::vector<std::string_view>& argv) {
    conn_.append(argv);
    ++queued_;
  }

  // An index entry as read, checked: "<version> <key>".
  std::string checked_entry(const Index& index, std::string_view v) const {
    const size_t space = version_end(v);
    if (space == 0 || space == std::string_view::npos || space + 1 >= v.size()) {
      throw Error::state(who_ + ": malformed entry in " + index.key + ": " + std::string(v));
    }
    return std::string(v);
  }

  // Step 1; true when there is nothing to plan (the batch was applied before).
  bool read(BatchOutcome& outcome) {
    std::vector<std::string_view> watch{"WATCH", cpkey_};
    for (const Index& index : indexes_) watch.push_back(index.key);
    append(watch);
    append({"TYPE", cpkey_});
    if (snapshot_) {
      append({"HMGET", cpkey_, "snapshot", "snapshot_at"});
    } else {
      append({"HMGET", cpkey_, "position", "rebuild"});
    }
    for (const Index& index : indexes_) append({"TYPE", index.key});
    for (const Index& index : indexes_) append_chunks("HMGET", &index.key, index.ids, kChunk);
    for (const Index& index : indexes_) {
      if (index.read_all) append({"HGETALL", index.key});
    }
    // How the target keys' types are read. Snapshot rows go to keys that are
    // almost always absent: one EXISTS count settles that. Otherwise a key's type
    // costs one MGET element while documents are small; past that, one TYPE each
    // (MGET would send every stored document back for nothing).
    const Probe probe = snapshot_ ? Probe::kExists : mget_or_type(target_names_.size());
    append_probe(probe, target_names_);
    const std::vector<RedisReply> got = replies();
    size_t r = 0;
    checked(got[r++], "watching the checkpoint");
    const std::string cptype(checked(got[r++], "reading the checkpoint").str());
    const RedisReply& cp = checked(got[r++], "reading the checkpoint");
    std::vector<std::string> index_types;
    for (size_t i = 0; i < indexes_.size(); ++i) index_types.emplace_back(checked(got[r++], "reading an index").str());

    // The script's checks, in its order.
    if (cptype != "none" && cptype != "hash") {
      throw Error::state("the checkpoint key " + cpkey_ + " of " + who_ + " holds a " + cptype + ", not a hash");
    }
    if (cptype == "none" && h_.expect_checkpoint) {
      throw SinkWasReset("the checkpoint of " + who_ + " is gone: the Redis data was flushed or lost (" + cpkey_ +
                         " does not exist)");
    }
    if (snapshot_) {
      check_snapshot(cp);
    } else if (check_position(cp, outcome)) {
      return true;
    }
    for (size_t i = 0; i < indexes_.size(); ++i) {
      Index& index = indexes_[i];
      if (index_types[i] != "none" && index_types[i] != "hash") {
        throw Error::state(who_ + ": the index " + index.key + " holds a " + index_types[i] + ", not a hash");
      }
      for (size_t at = 0; at < index.ids.size(); at += kChunk) {
        const RedisReply& values = checked(got[r++], "reading " + index.key);
        for (size_t k = 0; k < values.size(); ++k) {
          const RedisReply value = values.at(k);
          if (!value.is_nil()) index.id_entries[at + k]->value = checked_entry(index, value.str());
        }
      }
    }
    for (Index& index : indexes_) {
      if (!index.read_all) continue;
      const RedisReply& flat = checked(got[r++], "reading " + index.key);
      for (size_t k = 0; k + 1 < flat.size(); k += 2) {
        index.all.emplace_back(std::string(flat.at(k).str()), checked_entry(index, flat.at(k + 1).str()));
      }
    }
    take_probe(probe, target_refs_, got, r);
    if (reads_stored_) read_stored();
    return false;
  }

  enum class Probe { kExists, kMget, kType };
  Probe mget_or_type(size_t keys) const {
    return doc_bytes_ <= kMgetMaxDocument * std::max<size_t>(1, keys) ? Probe::kMget : Probe::kType;
  }
  // Queues the commands that read the types of `names` by `probe`.
  void append_probe(Probe probe, const std::vector<std::string_view>& names) {
    switch (probe) {
      case Probe::kExists: append_chunks("EXISTS", nullptr, names, kChunk); break;
      case Probe::kMget: append_chunks("MGET", nullptr, names, kChunk); break;
      case Probe::kType:
        for (std::string_view name : names) append({"TYPE", name});
        break;
    }
  }
  // Sets the types of `keys` from the replies append_probe queued, got[r...];
  // reads more where a probe leaves types unknown.
  void take_probe(Probe probe, const std::vector<Key>& keys, const std::vector<RedisReply>& got, size_t r) {
    if (probe == Probe::kType) {
      for (const Key& key : keys) key.target->type = std::string(checked(got[r++], "reading a key's type").str());
      return;
    }
    if (probe == Probe::kExists) {
      long long existing = 0;
      for (size_t at = 0; at < keys.size(); at += kChunk) existing += checked(got[r++], "reading the target keys").integer();
      if (existing == 0) {
        for (const Key& key : keys) key.target->type = "none";
        return;
      }
      std::vector<std::string_view> names;  // some exist: which, and as what
      names.reserve(keys.size());
      for (const Key& key : keys) names.push_back(*key.name);
      const Probe again = mget_or_type(keys.size());
      append_probe(again, names);
      take_probe(again, keys, replies(), 0);
      return;
    }
    std::vector<Key> unknown;  // MGET: target keys that are not strings
    for (size_t at = 0; at < keys.size(); at += kChunk) {
      const RedisReply& values = checked(got[r++], "reading the target keys");
      for (size_t i = 0; i < values.size(); ++i) {
        const Key& key = keys[at + i];
        if (values.at(i).is_nil()) {
          unknown.push_back(key);
        } else {
          key.target->type = "string";
        }
      }
    }
    read_types(unknown);
  }

  // The stored documents an upsert may take its unchanged TOAST values or its
  // key from: wherever the row is stored now (its index entries as read), its
  // old key and its new one. Planning only ever looks at these, or at a key an
  // earlier op of the batch wrote.
  void read_stored() {
    std::vector<Key> keys;
    auto want = [&](std::string_view name) {
      if (name.empty()) return;
      auto it = targets_.try_emplace(std::string(name)).first;
      if (!it->second.stored_wanted) keys.push_back(Key{&it->first, &it->second});
      it->second.stored_wanted = true;
    };
    for (size_t n = 0; n < ops_.size(); ++n) {
      const PlainOp& op = ops_[n];
      if (!op.reads_stored()) continue;
      want(op.new_key);
      want(op.old_key);
      if (refs_[n].e_new->value) want(key_view(*refs_[n].e_new->value));
      if (refs_[n].e_old && refs_[n].e_old->value) want(key_view(*refs_[n].e_old->value));
    }
    std::vector<std::string_view> names;
    names.reserve(keys.size());
    for (const Key& key : keys) names.push_back(*key.name);
    append_chunks("MGET", nullptr, names, kChunk);
    const std::vector<RedisReply> got = replies();
    std::vector<Key> unknown;  // not strings: none, or another type
    for (size_t at = 0, r = 0; at < keys.size(); at += kChunk, ++r) {
      const RedisReply& values = checked(got[r], "reading stored documents");
      for (size_t i = 0; i < values.size(); ++i) {
        Target& t = *keys[at + i].target;
        if (values.at(i).is_nil()) {
          unknown.push_back(keys[at + i]);
        } else {
          t.type = "string";
          t.stored = std::string(values.at(i).str());
        }
      }
    }
    read_types(unknown);
  }

  // A batch that moves the checkpoint: fenced on where this sink left it; true
  // when it was applied before.
  bool check_position(const RedisReply& cp, BatchOutcome& outcome) {
    if (!cp.at(1).is_nil()) rebuild_at_ = std::string(cp.at(1).str());  // a rebuild is in progress
    const std::string stored(cp.at(0).str());
    if (stored == h_.checkpoint) {
      outcome.already_applied = true;  // an earlier attempt was applied; its reply was lost
      return true;
    }
    if (stored != h_.expected && !stored.empty() && !h_.expected.empty() && stored < h_.expected) {
      throw SinkWasReset("the checkpoint of " + who_ + " went back from " + h_.expected + " to " + stored +
                         ": writes Redis had acknowledged were lost (a failover to a replica that had not received "
                         "them, or a restart from older data) (" + cpkey_ + ")");
    }
    if (stored != h_.expected) {
      throw Error::state("the checkpoint of " + who_ + " is at " + show(stored) + " but this sink last left it at " +
                         show(h_.expected) + ": another process writes to the same state (" + cpkey_ + ")");
    }
    return false;
  }

  // Snapshot rows: fenced on the snapshot in progress, every row at its version
  // (Sink::begin_snapshot).
  void check_snapshot(const RedisReply& cp) const {
    if (cp.at(0).str() != "in_progress") {
      throw Error::state("snapshot rows for " + who_ + " but its checkpoint says snapshot=" +
                         (cp.at(0).is_nil() ? std::string("none") : std::string(cp.at(0).str())) + ", not in_progress (" +
                         cpkey_ + ")");
    }
    const std::string_view at = cp.at(1).str();
    for (const PlainOp& op : ops_) {
      if (op.version != at || cp.at(1).is_nil()) {
        throw Error::state("snapshot rows at " + std::string(op.version) + " for " + who_ +
                           ", but the snapshot in progress is at " + (cp.at(1).is_nil() ? "none" : std::string(at)) +
                           ": another process writes to the same state (" + cpkey_ + ")");
      }
    }
  }

  // The types of the keys MGET did not return: none, unless EXISTS finds some.
  void read_types(const std::vector<Key>& keys) {
    if (keys.empty()) return;
    std::vector<std::string_view> names;
    names.reserve(keys.size());
    for (const Key& key : keys) names.push_back(*key.name);
    append_chunks("EXISTS", nullptr, names, kChunk);
    long long existing = 0;
    for (const RedisReply& count : replies()) existing += checked(count, "reading the target keys").integer();
    if (existing == 0) {
      for (const Key& key : keys) key.target->type = "none";
      return;
    }
    for (std::string_view name : names) append({"TYPE", name});
    const std::vector<RedisReply> types = replies();
    for (size_t i = 0; i < keys.size(); ++i) {
      keys[i].target->type = std::string(checked(types[i], "reading a key's type").str());
    }
  }

  // ---- step 2 -------------------------------------------------------------------
  static std::string_view key_view(const std::string& entry) {
    return std::string_view(entry).substr(version_end(entry) + 1);
  }
  static std::string key_of(const std::string& entry) { return std::string(key_view(entry)); }
  // The per-row version guard: the row's stored version is not older than `version`.
  static bool stale(const std::optional<std::string>& entry, std::string_view version) {
    return entry && std::string_view(*entry).substr(0, version_end(*entry)).compare(version) >= 0;
  }

  // A key's type with the writes planned so far.
  static std::string type_now(const Target& t) { return t.planned ? (t.present ? "string" : "none") : t.type; }

  // WRONGTYPE unless `key` holds (or will hold) a string or nothing.
  void check_target(const PlainOp& op, const Key& key) const {
    const std::string type = type_now(*key.target);
    if (type != "none" && type != "string") {
      throw Error::invalid_input(who_ + ": table " + std::string(op.table) + ": key " + *key.name +
                                 ": WRONGTYPE Operation against a key holding the wrong kind of value (it holds a " +
                                 type + "; this sink writes a string)");
    }
  }
  // A key read by read_stored() or written by an earlier op.
  Key known_key(const std::string& name) {
    auto it = targets_.find(name);
    if (it == targets_.end() || (!it->second.planned && it->second.type.empty())) {
      throw Error::internal(who_ + ": key " + name + " was not read before the batch was planned");
    }
    return Key{&it->first, &it->second};
  }
  void plan_key(const Key& key, bool present, std::string_view content) {
    Target& t = *key.target;
    if (!t.planned) touched_.push_back(key);
    t.planned = true;
    t.present = present;
    t.content = content;
  }
  void delete_key(const std::string& name) {  // a key the row is no longer at
    auto it = targets_.try_emplace(name).first;
    plan_key(Key{&it->first, &it->second}, false, {});
  }
  void set_entry(Index& index, std::string_view id, Entry& entry, std::optional<std::string> value) {
    if (!entry.written) index.written.emplace_back(id, &entry);
    entry.written = true;
    entry.value = std::move(value);
  }
  // While a rebuild copies rows, a newer delete or truncate leaves a tombstone
  // that the copied rows obey (batch_script.h).
  void tombstone(const PlainOp& op, std::string_view field) {
    if (rebuild_at_ && op.version.compare(*rebuild_at_) > 0) {
      tombs_.push_back({h_.prefix + ":tomb:" + std::string(op.table), std::string(field), std::string(op.version)});
    }
  }

  [[noreturn]] void toast_source_missing(const PlainOp& op, std::string_view token, const std::string& key,
                                         const std::string& what) const {
    throw Error::state(who_ + ": table " + std::string(op.table) + ": column " + std::string(token) +
                       " is an unchanged TOAST value, but " + what + " at key " + key +
                       " (the value cannot be kept, and it is never written as null)");
  }

  // The op's document with its unchanged TOAST values taken from `source`.
  std::string_view spliced(const PlainOp& op, const Key& source) {
    const std::vector<std::string>& tokens = op.splice->toast_tokens;
    const Target& t = *source.target;
    const std::string type = type_now(t);
    if (type == "none") toast_source_missing(op, tokens[0], *source.name, "the existing document is missing");
    if (type != "string") toast_source_missing(op, tokens[0], *source.name, "the existing value is a " + type);
    if (!t.planned && !t.stored) throw Error::internal(who_ + ": the document at " + *source.name + " was not read");
    const std::string_view stored = t.planned ? t.content : std::string_view(*t.stored);
    StoredSplice s = splice_stored_values(stored, op.splice->segments, tokens);
    if (s.not_an_object) {
      toast_source_missing(op, tokens[0], *source.name, "the existing document is not a JSON object");
    }
    if (!s.document) toast_source_missing(op, s.missing, *source.name, "the existing document has no such member");
    return spliced_.emplace_back(std::move(*s.document));
  }

  void plan_truncate(const PlainOp& op, Index& index) {
    // Every entry in effect: those read, unless an earlier op rewrote them, and
    // those earlier ops wrote. A truncate removes every row whatever its version.
    for (const auto& [id, entry] : index.all) {
      auto it = index.entries.find(id);
      if (it == index.entries.end() || !it->second.written) delete_key(key_of(entry));
    }
    index.all.clear();
    for (auto& [id, entry] : index.entries) {
      if (entry.written && entry.value) delete_key(key_of(*entry.value));
      entry.value.reset();
    }
    index.cleared = true;
    tombstone(op, "truncate");
  }

  void plan(BatchOutcome& outcome) {
    for (size_t n = 0; n < ops_.size(); ++n) {
      const PlainOp& op = ops_[n];
      const OpRefs& refs = refs_[n];
      Index& index = indexes_[op_index_[n]];
      if (op.kind == PlainOp::Kind::kTruncate) {
        plan_truncate(op, index);
        ++outcome.applied;
        continue;
      }
      if (snapshot_) {  // no guard, no earlier keys (the tables were cleared)
        check_target(op, refs.key);
        plan_key(refs.key, true, op.doc);
        set_entry(index, op.id_new, *refs.e_new, std::string(op.version) + " " + std::string(op.new_key));
        ++outcome.applied;
        continue;
      }
      if (stale(refs.e_new->value, op.version) || (refs.e_old && stale(refs.e_old->value, op.version))) {
        ++outcome.skipped;
        continue;
      }
      if (op.kind == PlainOp::Kind::kRemove) {
        const std::optional<std::string> e_new = std::move(refs.e_new->value);
        const std::string stored_key = e_new ? key_of(*e_new) : std::string();
        if (e_new) delete_key(stored_key);
        set_entry(index, op.id_new, *refs.e_new, std::nullopt);
        if (!op.old_key.empty() && !(e_new && stored_key == op.old_key)) delete_key(std::string(op.old_key));
        tombstone(op, op.id_new);
        ++outcome.applied;
        continue;
      }
      if (!plan_upsert(op, refs, index)) {
        ++outcome.skipped;
        continue;
      }
      ++outcome.applied;
    }
  }

  // An insert or update that passed the version guard; false when it waits for
  // a rebuild's copy of its row instead (nothing planned).
  bool plan_upsert(const PlainOp& op, const OpRefs& refs, Index& index) {
    const std::optional<std::string>& prev = refs.e_old && refs.e_old->value ? refs.e_old->value : refs.e_new->value;
    Key key = refs.key;
    if (op.new_key.empty()) {
      if (!prev) {
        throw Error::state(who_ + ": table " + std::string(op.table) +
                           ": a key column is an unchanged TOAST value and the row has no index entry to take its key from");
      }
      key = known_key(key_of(*prev));
    }
    std::string_view doc = op.doc;
    if (op.splice) {
      // Where the row's stored document is now.
      const Key source = known_key(prev ? key_of(*prev) : !op.old_key.empty() ? std::string(op.old_key) : *key.name);
      if (rebuild_at_ && type_now(*source.target) == "none") {
        // A row the rebuild has not copied yet: a change not newer than the copy
        // point is part of the copied row; a newer one waits for the copy.
        if (op.version.compare(*rebuild_at_) <= 0) return false;
        throw Error::transient(who_ + ": table " + std::string(op.table) + ": column " + op.splice->toast_tokens[0] +
                               " is an unchanged TOAST value of a row the rebuild has not copied yet (key " +
                               *source.name + "); waiting for the copy");
      }
      check_target(op, key);
      doc = spliced(op, source);
    } else {
      check_target(op, key);
    }
    // The row's entries as they were (taken: both are rewritten below).
    const std::optional<std::string> e_new = std::move(refs.e_new->value);
    const std::optional<std::string> e_old = refs.e_old ? std::move(refs.e_old->value) : std::nullopt;
    plan_key(key, true, doc);
    const std::string& name = *key.name;
    set_entry(index, op.id_new, *refs.e_new, std::string(op.version) + " " + name);
    if (refs.e_old) set_entry(index, op.id_old, *refs.e_old, std::nullopt);
    // The keys the row was stored at before, where they are not its key now.
    const std::string k1 = e_new ? key_of(*e_new) : std::string();
    const std::string k2 = e_old ? key_of(*e_old) : std::string();
    if (e_new && k1 != name) delete_key(k1);
    if (e_old && k2 != name && k2 != k1) delete_key(k2);
    if (!op.old_key.empty() && op.old_key != name && op.old_key != k1 && op.old_key != k2) {
      delete_key(std::string(op.old_key));
    }
    return true;
  }

  // ---- step 3 -------------------------------------------------------------------
  Attempt write() {
    std::vector<std::string_view> dels, sets;
    for (const Key& key : touched_) {
      if (key.target->present) {
        sets.push_back(*key.name);
        sets.push_back(key.target->content);
      } else {
        dels.push_back(*key.name);
      }
    }
    append({"MULTI"});
    append_chunks("DEL", nullptr, dels, kChunk);
    append_chunks("MSET", nullptr, sets, 2 * kChunk);
    for (const Index& index : indexes_) {
      if (index.cleared) append({"DEL", index.key});
      std::vector<std::string_view> set, del;
      for (const auto& [id, entry] : index.written) {
        if (entry->value) {
          set.push_back(id);
          set.push_back(*entry->value);
        } else {
          del.push_back(id);
        }
      }
      append_chunks("HSET", &index.key, set, 2 * kChunk);
      append_chunks("HDEL", &index.key, del, kChunk);
    }
    for (const Tomb& tomb : tombs_) append({"HSET", tomb.key, tomb.field, tomb.version});
    if (!snapshot_ && (h_.expected.empty() || h_.checkpoint > h_.expected)) {
      append({"HSET", cpkey_, "position", h_.checkpoint});
    }
    append({"EXEC"});
    const std::vector<RedisReply> got = replies();
    checked(got.front(), "applying a batch");  // MULTI
    // A command refused while queueing (e.g. OOM) makes EXEC fail, with nothing applied.
    const RedisReply& exec = checked(got.back(), "applying a batch");
    if (exec.is_nil()) return Attempt::kAgain;  // a watched key changed
    for (size_t i = 0; i < exec.size(); ++i) {
      if (exec.at(i).is_error()) {
        throw Error::server(who_ + ": applying a batch: a command of the transaction failed after others were applied: " +
                            std::string(exec.at(i).str()));
      }
    }
    return Attempt::kDone;
  }

  struct Tomb {
    std::string key, field, version;
  };
  RedisConnection& conn_;
  const BatchPlan::Header& h_;
  const std::vector<PlainOp>& ops_;
  const bool snapshot_;  // initial snapshot rows (Sink::begin_snapshot)
  const std::string cpkey_;
  const std::string who_;
  std::optional<std::string> rebuild_at_;  // the copy point of a rebuild in progress
  bool reads_stored_ = false;              // an op needs read_stored()
  std::deque<Index> indexes_;  // (a deque: ops keep pointers into its entries)
  std::unordered_map<std::string_view, size_t> index_of_;  // table -> indexes_
  std::vector<size_t> op_index_;                           // op -> indexes_
  std::vector<OpRefs> refs_;                               // op -> what it reads and writes
  std::unordered_map<std::string, Target> targets_;
  std::vector<std::string_view> target_names_;  // the upserts' keys, once each, to read
  std::vector<Key> target_refs_;                // the same keys' states
  std::vector<Key> touched_;                    // keys with planned content, in first-write order
  std::deque<std::string> spliced_;             // documents spliced with stored values
  std::vector<Tomb> tombs_;
  size_t queued_ = 0;
  size_t doc_bytes_ = 0;  // of the batch's documents
};

}  // namespace

std::optional<BatchOutcome> apply_plain(RedisConnection& conn, const BatchPlan& plan) {
  const BatchPlan::Header& h = plan.header();
  // Not repair or rebuild rows.
  const bool moves = h.kind == BatchKind::kStream;
  const bool snapshot_rows = h.kind == BatchKind::kSnapshot;
  std::optional<std::vector<PlainOp>> ops;
  if (h.mode == SinkMode::kUpsert && h.format == DocumentFormat::kJson && (moves || snapshot_rows)) {
    ops = plain_ops(plan, snapshot_rows);
  }
  if (!ops) {
    if (plan.splices_stored_json()) throw Error::internal("a batch that keeps TOAST values the plain path cannot take");
    return std::nullopt;
  }
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    BatchOutcome outcome;
    if (PlainApply(conn, h, *ops).run(outcome) == Attempt::kDone) return outcome;
  }
  // Others keep writing the watched keys. The script is atomic whatever they do;
  // a batch that keeps stored TOAST values has only this path: try again later.
  if (plan.splices_stored_json()) {
    throw Error::transient("sink '" + h.sink + "': the checkpoint or an index kept changing while a batch was applied (" +
                           std::to_string(kAttempts) + " attempts): another writer is busy on the same keys");
  }
  return std::nullopt;
}

}  // namespace sluice
