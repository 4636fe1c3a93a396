#include "app/logging.h"

#include <unistd.h>

#include <memory>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "format/iso8601.h"
#include "format/json_writer.h"

namespace sluice {

namespace {

bool g_live_progress = false;

// One JSON object per record: time (UTC, milliseconds), level, msg.
class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = "{\"time\":";
    append_json_string(line, iso8601_utc(msg.time));
    line += ",\"level\":";
    const auto level = spdlog::level::to_string_view(msg.level);
    append_json_string(line, std::string_view(level.data(), level.size()));
    line += ",\"msg\":";
    append_json_string(line, std::string_view(msg.payload.data(), msg.payload.size()));
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLineFormatter>(); }
};

}  // namespace

void setup_logging(LogFormat format) {
  auto logger = spdlog::stderr_color_mt("sluice");
  const bool terminal = isatty(STDERR_FILENO) == 1;
  if (format == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonLineFormatter>());
  } else {
    // On a terminal, "\r\033[K" first: a log line replaces a live progress line.
    logger->set_pattern(std::string(terminal ? "\r\033[K" : "") + "%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
  g_live_progress = terminal && format == LogFormat::kText;
  spdlog::set_default_logger(logger);
}

bool live_progress_enabled() { return g_live_progress; }

}  // namespace sluice
