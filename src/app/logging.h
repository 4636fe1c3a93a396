// Where and how sluice logs: to standard error (standard output belongs to the
// commands' own output and to the stdout sink), one line per event.
//   text: "2026-12-02T10:00:00.123+00:00 info message" (the level coloured on a
//         terminal, and every line starting by clearing a live progress line)
//   json: {"time":"2026-12-02T10:00:00.123456Z","level":"info","msg":"message"}
//         one object per line, for log collectors.
#pragma once

#include <string>

namespace sluice {

enum class LogFormat { kText, kJson };

// Installs the default logger. Call once, before any thread logs.
void setup_logging(LogFormat format);

// Whether standard error is a terminal and logs are text: live progress lines
// (snapshot_copy.h) are drawn only then.
bool live_progress_enabled();

}  // namespace sluice
