#!/usr/bin/env bash
# The test command: installs what is missing, configures, builds, and runs every
# test (unit and integration; integration tests start their own PostgreSQL and
# Redis on loopback). Exits with ctest's code. Works from any directory.
# SLUICE_BUILD_DIR picks another build directory (default: build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${SLUICE_BUILD_DIR:-build}
bash scripts/install-deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" -j"$(nproc)"
exec ctest --test-dir "$build_dir" --output-on-failure
