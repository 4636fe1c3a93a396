// Command-line entry: sluice run | check | --version | --help.
#pragma once

namespace sluice {

// Parses argv, runs the command, returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace sluice
