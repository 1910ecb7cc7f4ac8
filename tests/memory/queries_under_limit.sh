#!/usr/bin/env bash
# Every selector of `lineage reconstruct` answers under an address-space
# limit that a load of the whole journal cannot fit in (issue 23: memory
# follows the answer, never the journal).
#
#   queries_under_limit.sh LINEAGE BENCH_GEN_JOURNAL
#
# A generated journal (bench_gen_journal: pods, PID reuse, several boots,
# a node-health pod forking all along) is queried under `prlimit --as`:
# first a window over the whole journal with no --max-processes, whose
# answer is every process: it must fail for want of memory (so the limit is
# tight), then each selector, which must answer (exit 0) within the same
# limit. Kernel-free, no root. Exit 0 pass, 1 fail, 77 skipped.
set -uo pipefail
export LC_ALL=C

LINEAGE=${1:?usage: queries_under_limit.sh LINEAGE BENCH_GEN_JOURNAL}
GEN=${2:?usage: queries_under_limit.sh LINEAGE BENCH_GEN_JOURNAL}
# The limit, and the journal that cannot be loaded whole within it. The
# address space, not the RSS: it is what RLIMIT_AS bounds, and a process
# maps more than it touches, so the limit sits above the 64 MiB RSS target.
LIMIT_MIB=${LINEAGE_TEST_AS_LIMIT_MIB:-160}
EVENTS=${LINEAGE_TEST_EVENTS:-600000}

command -v prlimit >/dev/null || { echo "skipped: no prlimit (util-linux)"; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lineage-memlimit.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
J=$WORK/j.db

fails=0
fail() { echo "FAIL: $*"; ((fails++)); }

t0=$SECONDS
"$GEN" --out "$J" --events "$EVENTS" --pods 200 --days 8 --queries 1 --queries-out "$WORK/q" \
    --selectors-out "$WORK/s" >"$WORK/gen.out" 2>"$WORK/gen.err" ||
    { echo "FAIL: bench_gen_journal: $(tail -2 "$WORK/gen.err")"; exit 1; }
echo "journal: $(cat "$WORK/gen.out") ($((SECONDS - t0)) s)"
sel() { sed -n "s/^$1=@\{0,1\}//p" "$WORK/s" | head -1; }
t=$(sel t) ns=$(sel namespace) rare=$(sel rare_binary) common=$(sel common_binary) pid=$(sel pid) pid_t=$(sel pid_t)
IFS=$'\t' read -r pod since until _ <"$WORK/q"
echo "selectors: t=$t namespace=$ns rare=$rare common=$common pid=$pid pid_t=$pid_t pod=$pod $since..$until"

# under NAME EXPECT ARGS...: reconstruct under the limit; EXPECT is "ok"
# (exit 0) or "oom" (an error exit whose message names the memory).
under() {
    local name=$1 expect=$2 s
    shift 2
    local t1=$SECONDS
    prlimit --as=$((LIMIT_MIB * 1024 * 1024)) -- "$LINEAGE" reconstruct --journal "$J" --format json "$@" \
        >"$WORK/out" 2>"$WORK/err"
    s=$?
    local procs
    procs=$(grep -o '"pid":' "$WORK/out" | wc -l)
    echo "$name: exit $s, $procs processes, $((SECONDS - t1)) s: $(head -1 "$WORK/err")"
    case $expect in
        ok) [[ $s == 0 && $procs -gt 0 ]] || fail "$name: expected an answer within ${LIMIT_MIB} MiB, got exit $s" ;;
        oom)
            if [[ $s == 0 || $s == 1 ]]; then
                fail "$name: a load of the whole journal fitted in ${LIMIT_MIB} MiB: the limit proves nothing (raise --events)"
            elif ! grep -qiE 'memory|bad_alloc' "$WORK/err"; then
                fail "$name: failed (exit $s) for another reason than memory: $(head -2 "$WORK/err" | tr '\n' ' ')"
            fi
            ;;
    esac
}

under "whole journal (window over all of it, no --max-processes)" oom --since @0 --until now --max-processes 0
under "bare 10-minute window" ok --since "@$t" --until "@$((t + 600))"
under "--namespace $ns, 10 minutes" ok --namespace "$ns" --since "@$t" --until "@$((t + 600))"
under "--binary $rare (rare), no window" ok --binary "$rare"
under "--binary $common (common), one hour" ok --binary "$common" --since "@$t" --until "@$((t + 3600))"
# A glob that starts with a wildcard: every distinct path is matched, no
# literal start to look up (it was a load of the whole journal).
under "--binary '*${rare:1}' (leading wildcard), no window" ok --binary "*${rare:1}"
under "--binary '*${common:1}' (leading wildcard), one hour" ok --binary "*${common:1}" --since "@$t" \
    --until "@$((t + 3600))"
under "--pod $pod, 10 minutes" ok --pod "$pod" --since "$since" --until "$until"
under "--pid $pid, one day" ok --pid "$pid" --since "@$((pid_t - 43200))" --until "@$((pid_t + 43200))"
under "--descendants-of $pid, one day" ok --descendants-of "$pid" --since "@$((pid_t - 43200))" \
    --until "@$((pid_t + 43200))"

echo "total $((SECONDS - t0)) s"
((fails == 0)) || exit 1
