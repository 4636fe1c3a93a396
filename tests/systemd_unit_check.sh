#!/usr/bin/env bash
# ctest SystemdUnitVerifies: packaging/systemd/sluice.service passes
# `systemd-analyze verify` (every directive known and well-formed, the
# ExecStart binary present), with ExecStart pointed at the binary just built.
# Any complaint about the unit fails the test.
#   tests/systemd_unit_check.sh SLUICE_BINARY
set -euo pipefail
binary=$1
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/sluice-unit-XXXXXX)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/local/bin/sluice|$binary|g" "$root/packaging/systemd/sluice.service" >"$dir/sluice.service"
grep -q "^ExecStart=$binary run --config " "$dir/sluice.service"
out=$(systemd-analyze verify "$dir/sluice.service" 2>&1) || { echo "$out"; exit 1; }
if grep -F "sluice.service" <<<"$out"; then exit 1; fi
echo "systemd-analyze verify: sluice.service is valid"
