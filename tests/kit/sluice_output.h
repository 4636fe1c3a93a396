// Reading what a running sluice (a SluiceProcess, servers.h) has printed so far:
// how often a text occurs, and waiting until it does. The end-to-end fixtures'
// wait_streaming() and wait_for_output() are these.
//
// The output is read again on every poll (every 20 ms, as eventually() does),
// from the file the process writes; a text is counted where it does not overlap
// an earlier occurrence.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "harness/servers.h"

namespace sluice::test {

// What sluice logs when it streams from its slot: after the initial snapshot on a
// first start, after the standby took over, after a restart resumed the slot.
inline constexpr const char* kStreamingLine = "streaming from slot";

// How many times `text` occurs in the process's output so far.
std::size_t occurrences(const SluiceProcess& process, const std::string& text);

// Waits until `text` occurs at least `count` times in the output. Fails at once
// when the process has exited without printing it (its output cannot grow), and
// after `timeout` otherwise; the failure carries the whole output.
::testing::AssertionResult wait_for_output(SluiceProcess& process, const std::string& text, std::size_t count,
                                           std::chrono::milliseconds timeout);

// wait_for_output(process, kStreamingLine, count, timeout).
::testing::AssertionResult wait_streaming(SluiceProcess& process, std::size_t count,
                                          std::chrono::milliseconds timeout);

}  // namespace sluice::test
