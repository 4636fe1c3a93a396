#!/usr/bin/env bash
# Runs the fault suite several times and prints the tables of
# docs/reliability.md from the FAULT-REPORT lines it collects.
#   bash tests/faults/report.sh [SUITE_RUNS=3] [EXTRA_KILL_RUNS=10]
# SUITE_RUNS whole runs of build/tests/fault_tests, then EXTRA_KILL_RUNS more of
# the kill -9 case (11 kills each). Builds first (scripts/test.sh's build dir);
# the servers are started by the tests themselves. The raw lines are kept in
# $SLUICE_FAULT_REPORT (default: a new file under /tmp, printed at the end).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
suite_runs=${1:-3}
kill_runs=${2:-10}
build_dir=${SLUICE_BUILD_DIR:-build}
report=${SLUICE_FAULT_REPORT:-$(mktemp /tmp/sluice-faults-XXXXXX.jsonl)}
export SLUICE_FAULT_REPORT=$report

bash scripts/install-deps.sh >/dev/null
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target sluice fault_tests >/dev/null

status=0
"$build_dir/tests/fault_tests" --gtest_repeat="$suite_runs" --gtest_brief=1 || status=1
if [ "$kill_runs" -gt 0 ]; then
  "$build_dir/tests/fault_tests" --gtest_filter='SluiceKillTest.*' --gtest_repeat="$kill_runs" --gtest_brief=1 || status=1
fi
echo
echo "machine: $(nproc) cores, $(uname -sr); $(date -u +%Y-%m-%d)"
python3 tests/faults/summarize.py "$report" || status=1
echo
echo "raw reports: $report"
exit $status
