#include "kit/sluice_output.h"

namespace sluice::test {

std::size_t occurrences(const SluiceProcess& process, const std::string& text) {
  std::string output = process.output();
  std::size_t count = 0;
  for (auto at = output.find(text); at != std::string::npos; at = output.find(text, at + text.size())) ++count;
  return count;
}

::testing::AssertionResult wait_for_output(SluiceProcess& process, const std::string& text, std::size_t count,
                                           std::chrono::milliseconds timeout) {
  bool exited = false;
  bool found = eventually(
      [&] {
        if (occurrences(process, text) >= count) return true;
        exited = !process.running();
        return exited;
      },
      timeout);
  if (found && !exited) return ::testing::AssertionSuccess();
  // Exited: what it printed before it went may still hold the text.
  if (occurrences(process, text) >= count) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' x" << count << " not seen"
                                       << (exited ? " (the process exited)" : "") << "; output:\n"
                                       << process.output();
}

::testing::AssertionResult wait_streaming(SluiceProcess& process, std::size_t count,
                                          std::chrono::milliseconds timeout) {
  return wait_for_output(process, kStreamingLine, count, timeout);
}

}  // namespace sluice::test
