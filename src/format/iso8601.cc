#include "format/iso8601.h"

#include <ctime>

#include <fmt/format.h>

namespace sluice {

std::string iso8601_utc(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  const auto us = floor<microseconds>(tp);
  const auto secs = floor<seconds>(us);
  const time_t t = system_clock::to_time_t(time_point_cast<system_clock::duration>(secs));
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, (us - secs).count());
}

}  // namespace sluice
