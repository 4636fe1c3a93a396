// The PostgreSQL source (core/source.h): a logical replication slot with the
// pgoutput plugin, a publication, the instance lock (an advisory lock keyed by
// the slot), and the stream loop (stream_loop.h) with its heartbeat.
//
// Used from the thread that runs the pipeline; see core/source.h.
#pragma once

#include <string>

#include "config/config.h"
#include "core/source.h"
#include "core/telemetry.h"
#include "source/postgres/pg_source_config.h"

namespace sluice::pg {

// The slot as start planning sees it: lost when PostgreSQL invalidated it
// (wal_status = lost), unusable when it has another output plugin than pgoutput;
// each with the sentence that says what to do.
RetainedStream retained_stream_of(const std::string& slot_name, const std::string& plugin,
                                  const std::optional<std::string>& wal_status);

class PostgresSource final : public Source {
 public:
  // `config` and `telemetry` must outlive the source. Does not connect.
  PostgresSource(const Config& config, Telemetry& telemetry);

  const std::string& stream_name() const override { return pg::settings_of(config_.source).slot; }
  std::unique_ptr<ActiveInstance> become_active(std::atomic<bool>& finish, StopSignal& stop, Health* health) override;
  // Creates the publication for source.tables when it does not exist.
  void prepare() override;
  std::optional<RetainedStream> retained() override;
  void drop_retained() override;
  // Creates the slot with an exported snapshot; calls `copy` while the
  // replication connection that holds the snapshot stays open.
  Position create_retained(const SnapshotCopier* copy) override;
  Position resume_point() override;
  std::unique_ptr<ConsistentSnapshot> open_copy_point() override;
  std::map<std::string, std::string> table_shapes() override;
  void stream(std::vector<SinkRunner*> runners, std::atomic<bool>& finish, StopSignal& stop,
              std::map<std::string, std::string> known_shapes) override;

 private:
  const Config& config_;
  Telemetry& telemetry_;
};

}  // namespace sluice::pg
