#!/usr/bin/env bash
# The test command: builds lineage twice (plain, and with AddressSanitizer +
# UndefinedBehaviorSanitizer) and runs the whole suite in both, then runs the
# fuzzers briefly (fuzz/README.md).
# eBPF end-to-end tests need root; without it they are reported as skipped,
# unless LINEAGE_REQUIRE_BPF=1, which makes them fail instead (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

# Each step says how long it took: the whole command should stay well
# under 20 minutes on 2 cores, and these lines show where it goes.
phase_start=
phase() {
  [ -n "$phase_start" ] && echo "   ($(( SECONDS - phase_start )) s)"
  phase_start=$SECONDS
  echo "== $*"
}

# The sources stay as .clang-format (and bpf/.clang-format) has them.
phase "format: clang-format --dry-run --Werror"
git ls-files '*.cpp' '*.h' '*.c' | grep -v '/vmlinux\.h$' | xargs clang-format --dry-run --Werror

run_suite() {
  local dir=$1; shift
  phase "$dir: configure and build"
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  phase "$dir: tests"
  # One test per core: the end-to-end and deploy tests are RUN_SERIAL (real
  # probes, timing), so they still run alone; the kernel-free ones share.
  ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}

# Debug information as line tables only (-g1): reports and backtraces still
# name file and line, and the build, most of this command's time, is
# quicker (a third at -O2, a tenth at -O0, measured file by file).
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
# The sanitized build with clang: it compiles this code base with ASan and
# UBSan in about half of GCC's time (262 against 488 s in two CI runs; one
# file, journal_loader.cpp, 13 against 24 s), and a second compiler's
# warnings come with it (-Werror).
CC=clang CXX=clang++ ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG=-g1 -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
  -DLINEAGE_SANITIZE=ON -DLINEAGE_BUILD_BENCH=OFF

# Fuzz smoke: the libFuzzer targets of fuzz/, built with clang (only the core
# and the fuzzers), each run for a few seconds over its seed corpus.
phase "build-fuzz: configure and build"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG=-g1 \
  -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DLINEAGE_BUILD_FUZZ=ON \
  -DLINEAGE_BUILD_TESTS=OFF -DLINEAGE_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target lineage_fuzzers -j"$jobs"
phase "build-fuzz: fuzzers"
ctest --test-dir build-fuzz --output-on-failure -j"$jobs"
phase "all suites passed, in $SECONDS s"
