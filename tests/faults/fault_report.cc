#include "faults/fault_report.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

namespace sluice::test {
namespace {

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

std::string list(const std::vector<double>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + seconds(values[i]);
  return out + "]";
}

std::string max_of(const std::vector<double>& values) {
  return values.empty() ? std::string("null") : seconds(*std::max_element(values.begin(), values.end()));
}

}  // namespace

std::string FaultReport::to_json() const {
  std::string json = "{\"case\": " + quoted(case_name) + ", \"completed\": " + (completed ? "true" : "false") +
                     ", \"faults_injected\": " + std::to_string(faults_injected) +
                     ", \"pgbench_transactions\": " + std::to_string(pgbench_transactions) +
                     ", \"pgbench_reported\": " + std::to_string(pgbench_reported) +
                     ", \"captured_changes\": " + std::to_string(captured_changes) +
                     ", \"keys_verified\": " + std::to_string(keys_verified) +
                     ", \"keys_missing\": " + std::to_string(keys_missing) +
                     ", \"keys_different\": " + std::to_string(keys_different) +
                     ", \"keys_extra\": " + std::to_string(keys_extra) +
                     ", \"regressions\": " + std::to_string(regressions) +
                     ", \"regression_samples\": " + std::to_string(regression_samples) +
                     ", \"recovery_measure\": " + quoted(recovery_measure) +
                     ", \"recovery_s\": " + list(recovery_s) + ", \"recovery_max_s\": " + max_of(recovery_s) +
                     ", \"duration_s\": " + seconds(duration_s);
  if (!secondary_measure.empty()) {
    json += ", \"secondary_measure\": " + quoted(secondary_measure) + ", \"secondary_s\": " + list(secondary_s) +
            ", \"secondary_max_s\": " + max_of(secondary_s);
  }
  if (!setup.empty()) json += ", \"setup\": " + quoted(setup);
  if (!seed.empty()) json += ", \"seed\": " + quoted(seed);
  if (!notes.empty()) json += ", \"notes\": " + quoted(notes);
  return json + "}";
}

void FaultReport::emit() const noexcept {
  try {
    std::string line = to_json();
    std::cout << "FAULT-REPORT " << line << std::endl;
    const char* path = std::getenv("SLUICE_FAULT_REPORT");
    if (path == nullptr || *path == '\0') return;
    std::ofstream out(path, std::ios::app);
    out << line << "\n";
    if (!out) std::cerr << "could not append the fault report to " << path << "\n";
  } catch (const std::exception& e) {
    std::cerr << "fault report: " << e.what() << "\n";
  }
}

}  // namespace sluice::test
