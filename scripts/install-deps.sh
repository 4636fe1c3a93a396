#!/usr/bin/env bash
# Installs the Debian 12 packages sluice needs to build and test (docs/dependencies.md
# says why each one). Idempotent: installs only what is missing, and runs
# `apt-get update` only when something is. Root runs apt-get itself; anyone else
# goes through sudo.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libpq-dev libhiredis-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  libcpp-httplib-dev libgtest-dev libgmock-dev nlohmann-json3-dev
  libmariadb-dev  # MariaDB Connector/C: SphinxQL (search-index sink) speaks the MySQL protocol
  libssl-dev openssl  # TLS to Redis (rediss://); the openssl tool makes the tests' certificates
  postgresql postgresql-contrib redis-server redis-tools  # real servers for the tests
  sphinxsearch  # Sphinx 2.2 searchd: the search-index sink's integration tests and the demo
  mariadb-client-core  # the mariadb client: the demo's MATCH() queries over SphinxQL
  util-linux procps bc curl  # bc: arithmetic in the bench scripts; curl: the demo reads /metrics
  systemd  # systemd-analyze: the shipped unit file is checked (tests/systemd_unit_check.sh)
)

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: nothing to install (all ${#packages[@]} packages present)"
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null; then
  as_root=(sudo)
else
  echo "install-deps: missing ${missing[*]}; need root or sudo to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -q
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}"

for p in "${missing[@]}"; do
  installed "$p" || { echo "install-deps: $p is still not installed" >&2; exit 1; }
done
echo "install-deps: installed ${#missing[@]} package(s): ${missing[*]}"
