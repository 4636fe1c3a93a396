// A job a SinkRunner starts on another thread while it goes on applying changes
// (a sink rebuild after a reset: pipeline/sink_rebuild.h). Destroying the task
// cancels it and joins its thread; the destructor never throws.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace sluice {

class Sink;

class BackgroundTask {
 public:
  enum class Status { kRunning, kDone, kFailed };

  virtual ~BackgroundTask() = default;

  virtual Status status() const = 0;
  // When kFailed: why, and whether starting the task again may succeed (the
  // failure was Error::transient, e.g. PostgreSQL restarted during the copy).
  virtual std::string failure() const = 0;
  virtual bool failure_is_transient() const = 0;
};

// Starts the rebuild of `sink` (called on the sink's own thread, which keeps
// using `sink`; the task must not). Throws Error::transient when it cannot start
// yet (the caller retries), any other Error when it cannot start at all.
using RebuildStarter = std::function<std::unique_ptr<BackgroundTask>(Sink& sink)>;

}  // namespace sluice
