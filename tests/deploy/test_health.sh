#!/bin/bash
# lineage-health (deploy/systemd), run as lineage-health.service would run
# it, against a real recorder (root, real probes) and a stand-in systemctl
# that says the service is active (or not) and logs what it is asked:
#   healthy: exit 0, nothing restarted;
#   stalled under SIGSTOP: three answers of status --liveness, then exit 1
#   and "systemctl restart --no-block lineage.service", the report in its
#   output;
#   after SIGCONT: healthy again;
#   the journal found in LINEAGE_RECORD_OPTS as --journal F, --journal=F, -j F;
#   the service not running: exit 0 without asking status;
#   the service running but nobody holding the journal: exit 3, no restart.
#
# Usage: test_health.sh BUILD_DIR SOURCE_DIR
# Exits 77 (skipped) without root or BTF, unless LINEAGE_REQUIRE_BPF=1.
set -euo pipefail

BUILD=$(realpath "$1")
SRC=$(realpath "$2")
HEALTH=$SRC/deploy/systemd/lineage-health
LINEAGE=$BUILD/lineage

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() {
    if [ "${LINEAGE_REQUIRE_BPF:-0}" = 1 ]; then fail "$* (LINEAGE_REQUIRE_BPF=1: not skipping)"; fi
    echo "SKIP: $*"
    exit 77
}
check() {
    local what=$1; shift
    "$@" || fail "$what"
    echo "ok: $what"
}

[ "$(id -u)" = 0 ] || skip "not root: record needs BPF"
[ -e /sys/kernel/btf/vmlinux ] || skip "no kernel BTF (/sys/kernel/btf/vmlinux)"

WORK=$(mktemp -d /tmp/lineage-health-test.XXXXXX)
RECORDER=
cleanup() {
    if [ -n "$RECORDER" ]; then
        kill -CONT "$RECORDER" 2>/dev/null || true
        kill -KILL "$RECORDER" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# systemctl, standing in: is-active answers $WORK/active's status; every call
# is logged.
cat >"$WORK/systemctl" <<'STUB'
#!/bin/sh
echo "$*" >>"$(dirname "$0")/systemctl.log"
[ "$1" = is-active ] && exit "$(cat "$(dirname "$0")/active")"
exit 0
STUB
chmod +x "$WORK/systemctl"
echo 0 >"$WORK/active"

J=$WORK/journal.db
"$LINEAGE" record --journal "$J" </dev/null >"$WORK/stdout" 2>"$WORK/stderr" &
RECORDER=$!
for _ in $(seq 100); do
    grep -q '^lineage: recording' "$WORK/stderr" && break
    kill -0 "$RECORDER" 2>/dev/null || { cat "$WORK/stderr" >&2; fail "record exited"; }
    sleep 0.1
done
grep -q '^lineage: recording' "$WORK/stderr" || fail "record was not ready after 10 s"

# health OPTS: runs lineage-health as the unit would, with OPTS as
# LINEAGE_RECORD_OPTS; its status in RC, its output in OUT, systemctl's calls
# in CALLS.
health() {
    rm -f "$WORK/systemctl.log"
    RC=0
    OUT=$(LINEAGE_RECORD_OPTS=$1 LINEAGE_BIN=$LINEAGE SYSTEMCTL=$WORK/systemctl LINEAGE_HEALTH_PAUSE=0.3 \
        /bin/sh "$HEALTH" 2>&1) || RC=$?
    CALLS=$(cat "$WORK/systemctl.log" 2>/dev/null || true)
}

for opts in "--journal $J --max-size 2G" "--max-size 2G --journal=$J" "-j $J"; do
    health "$opts"
    check "healthy ($opts): exit 0 ($OUT)" test "$RC" = 0
    check "healthy ($opts): nothing restarted" test "$CALLS" = "is-active --quiet lineage.service"
done

kill -STOP "$RECORDER"
sleep 2.5  # past twice the heartbeat period, a second
health "--journal $J --max-size 2G"
echo "$OUT"
check "stalled: exit 1" test "$RC" = 1
check "stalled: the report says so" grep -q "problem         stalled: no heartbeat for " <<<"$OUT"
check "stalled: lineage.service restarted" grep -qx "restart --no-block lineage.service" <<<"$CALLS"
kill -CONT "$RECORDER"

# Healthy again once the recorder has turned.
for _ in $(seq 50); do
    health "--journal $J"
    [ "$RC" = 0 ] && break
    sleep 0.1
done
check "after SIGCONT: exit 0" test "$RC" = 0

# A recorder losing events passes status --liveness: tests/unit/status and
# tests/e2e/test_status_e2e.cpp (a fork storm on a 4K ring) show it.

echo 3 >"$WORK/active"
health "--journal $J"
check "the service not running: exit 0" test "$RC" = 0
check "the service not running: only is-active asked" test "$CALLS" = "is-active --quiet lineage.service"
echo 0 >"$WORK/active"

kill -TERM "$RECORDER"
wait "$RECORDER" || fail "record did not stop cleanly"
RECORDER=
health "--journal $J"
echo "$OUT"
check "nobody holds the journal: exit 3" test "$RC" = 3
check "nobody holds the journal: nothing restarted" test "$CALLS" = "is-active --quiet lineage.service"
echo "all lineage-health checks passed"
