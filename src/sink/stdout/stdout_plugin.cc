#include "sink/stdout/stdout_plugin.h"

#include "config/config.h"
#include "sink/stdout/stdout_sink.h"

namespace sluice {

namespace {
class StdoutSettings final : public SinkSettings {
 public:
  std::string describe() const override { return "one JSON line per change on standard output"; }
};
}  // namespace

SinkPlugin stdout_sink_plugin() {
  SinkPlugin plugin;
  plugin.kind = "stdout";
  plugin.parse = [](ConfigTable&, std::vector<ConfigTable*>&, const SinkConfig&) {
    return std::shared_ptr<const SinkSettings>(std::make_shared<StdoutSettings>());
  };
  plugin.make = [](const SinkConfig& config) -> std::unique_ptr<Sink> { return std::make_unique<StdoutSink>(config.name); };
  plugin.table_problems = [](const SinkConfig&, const Relation&) { return std::vector<std::string>{}; };
  return plugin;
}

}  // namespace sluice
