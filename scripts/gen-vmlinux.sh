#!/usr/bin/env bash
# Regenerates the pinned bpf/<arch>/vmlinux.h from a kernel's BTF. The build
# uses the pinned header, so it needs no BTF; run this only to pick up types
# from a newer kernel (CO-RE relocations make the result run on older ones).
set -euo pipefail
cd "$(dirname "$0")/.."
btf=${1:-/sys/kernel/btf/vmlinux}
case "$(uname -m)" in
  x86_64) arch=x86 ;;
  aarch64) arch=arm64 ;;
  *) echo "gen-vmlinux: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
mkdir -p "bpf/$arch"
bpftool btf dump file "$btf" format c > "bpf/$arch/vmlinux.h.tmp"
mv "bpf/$arch/vmlinux.h.tmp" "bpf/$arch/vmlinux.h"
echo "wrote bpf/$arch/vmlinux.h from $btf"
