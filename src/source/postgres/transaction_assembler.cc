#include "source/postgres/transaction_assembler.h"

#include <fmt/format.h>

#include "core/error.h"
#include "source/postgres/pg_position.h"

namespace sluice::pg {

void TransactionAssembler::emit_change(Op op, const RelationPtr& relation, std::vector<Value> old_values,
                                       std::vector<Value> new_values, const char* what, bool backfill) {
  if (!open_) {
    throw Error::protocol(fmt::format("pgoutput {} message for {} arrived outside a transaction (no Begin)",
                                      what, relation ? relation->qualified_name() : "?"));
  }
  const Position position = pg::position(open_->final_lsn, open_->next_index++);
  if (last_emitted_ && position <= *last_emitted_) return;  // replayed after a reconnect
  auto change = std::make_shared<Change>();
  change->op = op;
  change->relation = relation;
  change->position = position;
  change->xid = open_->xid;
  change->commit_time = open_->commit_time;
  change->old_values = std::move(old_values);
  change->new_values = std::move(new_values);
  change->backfill = backfill;
  last_emitted_ = position;
  ++changes_emitted_;
  emit_(ChangePtr(std::move(change)));
}

void TransactionAssembler::emit_backfill(const RelationPtr& relation, std::vector<Value> values) {
  emit_change(Op::kInsert, relation, {}, std::move(values), "re-sync row", true);
}

void TransactionAssembler::consume(const Message& message) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, BeginMessage>) {
          if (open_) {
            throw Error::protocol(fmt::format("pgoutput Begin for xid {} arrived inside transaction {} (no Commit)",
                                              m.xid, open_->xid));
          }
          open_ = Open{m.final_lsn, m.xid, m.commit_time};
        } else if constexpr (std::is_same_v<T, CommitMessage>) {
          if (!open_) throw Error::protocol("pgoutput Commit arrived outside a transaction (no Begin)");
          if (m.commit_lsn != open_->final_lsn) {
            throw Error::protocol(fmt::format("pgoutput Commit LSN {} differs from its Begin's final LSN {}",
                                              m.commit_lsn.str(), open_->final_lsn.str()));
          }
          const Timestamp commit_time = open_->commit_time;
          open_.reset();
          emit_(TransactionEnd{pg::position(m.end_lsn), commit_time});
        } else if constexpr (std::is_same_v<T, InsertMessage>) {
          emit_change(Op::kInsert, m.relation, {}, m.new_values, "Insert");
        } else if constexpr (std::is_same_v<T, UpdateMessage>) {
          std::vector<Value> new_values = m.new_values;
          if (m.old_kind == 'O') {
            // REPLICA IDENTITY FULL: the server logs the old row with TOASTed values
            // inlined, so an unchanged TOAST value can be taken from it (invariant 5).
            for (size_t i = 0; i < new_values.size() && i < m.old_values.size(); ++i) {
              if (new_values[i].is_unchanged_toast() && m.old_values[i].is_text()) new_values[i] = m.old_values[i];
            }
          }
          emit_change(Op::kUpdate, m.relation, m.old_values, std::move(new_values), "Update");
        } else if constexpr (std::is_same_v<T, DeleteMessage>) {
          emit_change(Op::kDelete, m.relation, m.old_values, {}, "Delete");
        } else if constexpr (std::is_same_v<T, TruncateMessage>) {
          for (const auto& relation : m.relations) emit_change(Op::kTruncate, relation, {}, {}, "Truncate");
        } else if constexpr (std::is_same_v<T, StreamStartMessage> || std::is_same_v<T, StreamStopMessage> ||
                             std::is_same_v<T, StreamCommitMessage> || std::is_same_v<T, StreamAbortMessage>) {
          throw Error::protocol("pgoutput sent a streamed-transaction message, but sluice did not ask for streaming");
        }
        // Relation, Type, Origin, Message: nothing to emit.
      },
      message);
}

}  // namespace sluice::pg
