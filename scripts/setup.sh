#!/usr/bin/env bash
# Installs what lineage needs to build, test and run its demo, from Debian 12
# packages only. Does nothing when everything is already there.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang clang-format git
  # fuzz/: libFuzzer's runtime for clang 14 (clang only recommends it)
  libclang-rt-14-dev
  # BPF: libbpf, and bpftool for the skeleton
  libbpf-dev bpftool libelf-dev zlib1g-dev
  # libraries
  libcli11-dev nlohmann-json3-dev libsqlite3-dev libfmt-dev libssl-dev catch2
  # tests and demo: sqlite3 CLI, JSON Schema validation, an HTTP client pair
  sqlite3 python3 python3-jsonschema curl wget util-linux procps
  # the pods end-to-end test: a real container runtime, busybox as its root file system
  runc busybox-static
  # tests/deploy: the package (lintian), the unit (strace for its system
  # calls; systemd-analyze comes with systemd), the manifests
  lintian strace python3-yaml yamllint
  # the import end-to-end test: the seed article's bpftrace recorder, run for real
  bpftrace
  # the fleet store's end-to-end test: a real ClickHouse (about 82 MB
  # installed, nearly all of it clickhouse-common) and jq for the shipping recipe
  clickhouse-server clickhouse-client jq
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages are installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
