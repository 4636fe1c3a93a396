#include "config/sink_plugin.h"

#include "config/config.h"
#include "core/error.h"

namespace sluice {
namespace {

template <typename Plugin>
const Plugin* find_kind(const std::vector<std::unique_ptr<Plugin>>& plugins, std::string_view kind) {
  for (const auto& plugin : plugins) {
    if (plugin->kind == kind) return plugin.get();
  }
  return nullptr;
}

template <typename Plugin>
std::vector<std::string> kinds_of(const std::vector<std::unique_ptr<Plugin>>& plugins) {
  std::vector<std::string> out;
  for (const auto& plugin : plugins) out.push_back(plugin->kind);
  return out;
}

}  // namespace

void PluginRegistry::add_source(SourcePlugin plugin) {
  if (find_source(plugin.kind) != nullptr) throw Error::internal("source kind '" + plugin.kind + "' is registered twice");
  if (!plugin.parse || !plugin.make || !plugin.use_position_format) {
    throw Error::internal("source kind '" + plugin.kind + "' lacks parse, make or use_position_format");
  }
  sources_.push_back(std::make_unique<SourcePlugin>(std::move(plugin)));
}

const SourcePlugin* PluginRegistry::find_source(std::string_view kind) const { return find_kind(sources_, kind); }

std::vector<std::string> PluginRegistry::source_kinds() const { return kinds_of(sources_); }

void PluginRegistry::add_sink(SinkPlugin plugin) {
  if (find_sink(plugin.kind) != nullptr) throw Error::internal("sink kind '" + plugin.kind + "' is registered twice");
  if (!plugin.parse || !plugin.make) throw Error::internal("sink kind '" + plugin.kind + "' lacks parse or make");
  sinks_.push_back(std::make_unique<SinkPlugin>(std::move(plugin)));
}

const SinkPlugin* PluginRegistry::find_sink(std::string_view kind) const { return find_kind(sinks_, kind); }

std::vector<std::string> PluginRegistry::sink_kinds() const { return kinds_of(sinks_); }

std::unique_ptr<Sink> make_sink(const SinkConfig& config) {
  if (config.plugin == nullptr) throw Error::internal("sink '" + config.name + "' has no plugin");
  return config.plugin->make(config);
}

std::unique_ptr<Source> make_source(const Config& config, Telemetry& telemetry) {
  if (config.source.plugin == nullptr) throw Error::internal("the source has no plugin");
  return config.source.plugin->make(config, telemetry);
}

}  // namespace sluice
