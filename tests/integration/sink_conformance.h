// The sink conformance suite (issue 13): the promises of core/sink.h, checked the
// same way for every sink that holds documents. A store plugs in through a
// ConformanceBackend, which starts its real server, builds sinks over it and
// reads documents back; sink_conformance_test.cc instantiates the suite once per
// backend (Redis JSON and hashes, through the script and the plain-command path;
// the search sink).
//
// The table is kit::users(): public.users (id int4 pk, name text, payload jsonb,
// note text). A backend reads `name` and `payload` back as text (a JSON value as
// its JSON text, compact).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/sink.h"

namespace sluice::conformance {

class ConformanceBackend {
 public:
  virtual ~ConformanceBackend() = default;
  // A new sink instance over the same store (a restart of sluice), not yet
  // started: the suite calls load_checkpoint() or start_without_snapshot().
  virtual std::unique_ptr<Sink> make_sink() = 0;
  // The stored value of `column` in the document of users row `id`; nullopt when
  // there is no document.
  virtual std::optional<std::string> read(int id, const std::string& column) = 0;
  // How many documents the store holds for public.users.
  virtual size_t count() = 0;
  // Empties the store the way an operator or a restart without data would
  // (FLUSHALL, TRUNCATE RTINDEX), checkpoint included.
  virtual void empty_store() = 0;
};

struct BackendFactory {
  std::string name;  // the test parameter's name
  std::function<std::unique_ptr<ConformanceBackend>()> make;
};

}  // namespace sluice::conformance
