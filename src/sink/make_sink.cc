#include "sink/make_sink.h"

#include "core/error.h"
#include "sink/redis/redis_sink.h"
#include "sink/stdout/stdout_sink.h"

namespace sluice {

std::unique_ptr<Sink> make_sink(const SinkConfig& config) {
  if (config.kind == "redis") return std::make_unique<RedisSink>(config);
  if (config.kind == "stdout") return std::make_unique<StdoutSink>(config);
  throw Error::config("sink '" + config.name + "': kind '" + config.kind + "' is not supported");
}

}  // namespace sluice
