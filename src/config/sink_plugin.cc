#include "config/sink_plugin.h"

#include "config/config.h"
#include "core/error.h"

namespace sluice {

void PluginRegistry::add_source(SourcePlugin plugin) {
  if (find_source(plugin.kind) != nullptr) throw Error::internal("source kind '" + plugin.kind + "' is registered twice");
  if (!plugin.parse || !plugin.make || !plugin.use_position_format) {
    throw Error::internal("source kind '" + plugin.kind + "' lacks parse, make or use_position_format");
  }
  sources_.push_back(std::make_unique<SourcePlugin>(std::move(plugin)));
}

const SourcePlugin* PluginRegistry::find_source(std::string_view kind) const {
  for (const auto& plugin : sources_) {
    if (plugin->kind == kind) return plugin.get();
  }
  return nullptr;
}

std::vector<std::string> PluginRegistry::source_kinds() const {
  std::vector<std::string> out;
  for (const auto& plugin : sources_) out.push_back(plugin->kind);
  return out;
}

void PluginRegistry::add_sink(SinkPlugin plugin) {
  if (find_sink(plugin.kind) != nullptr) throw Error::internal("sink kind '" + plugin.kind + "' is registered twice");
  if (!plugin.parse || !plugin.make) throw Error::internal("sink kind '" + plugin.kind + "' lacks parse or make");
  sinks_.push_back(std::make_unique<SinkPlugin>(std::move(plugin)));
}

const SinkPlugin* PluginRegistry::find_sink(std::string_view kind) const {
  for (const auto& plugin : sinks_) {
    if (plugin->kind == kind) return plugin.get();
  }
  return nullptr;
}

std::vector<std::string> PluginRegistry::sink_kinds() const {
  std::vector<std::string> out;
  for (const auto& plugin : sinks_) out.push_back(plugin->kind);
  return out;
}

std::unique_ptr<Sink> make_sink(const SinkConfig& config) {
  if (config.plugin == nullptr) throw Error::internal("sink '" + config.name + "' has no plugin");
  return config.plugin->make(config);
}

std::unique_ptr<Source> make_source(const Config& config, Telemetry& telemetry) {
  if (config.source.plugin == nullptr) throw Error::internal("the source has no plugin");
  return config.source.plugin->make(config, telemetry);
}

}  // namespace sluice
