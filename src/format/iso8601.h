// Timestamps as text for outputs meant for people and log collectors.
#pragma once

#include <chrono>
#include <string>

namespace sluice {

// ISO 8601, UTC, microseconds: "2024-05-01T12:34:56.123456Z".
std::string iso8601_utc(std::chrono::system_clock::time_point tp);

}  // namespace sluice
