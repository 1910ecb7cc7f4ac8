#!/bin/bash
# lineage.service and /etc/default/lineage, read: what the service promises
# (deploy/README.md) is in the unit, and `systemd-analyze verify` accepts
# it. No root needed; test_service_caps.sh runs record as the unit would.
#
# Usage: test_unit.sh BUILD_DIR SOURCE_DIR
# Without systemd-analyze the verify step is skipped, visibly, and the test
# exits 77 after the other checks, unless LINEAGE_REQUIRE_BPF=1.
set -euo pipefail

BUILD=$(realpath "$1")
SRC=$(realpath "$2")
UNIT=$SRC/deploy/systemd/lineage.service
DEFAULTS=$SRC/deploy/default/lineage

fail() { echo "FAIL: $*" >&2; exit 1; }
check() {
    local what=$1; shift
    "$@" || fail "$what"
    echo "ok: $what"
}

# The value of KEY in the unit (its only assignment: a key set twice would
# be a merge the reader of the file may not expect).
value() {
    local n
    n=$(grep -c "^$1=" "$UNIT" || true)
    [ "$n" = 1 ] || fail "$1= is set $n times in lineage.service, not once"
    sed -n "s/^$1=//p" "$UNIT"
}
expect() { check "$1=$2" test "$(value "$1")" = "$2"; }

expect Type exec
expect EnvironmentFile -/etc/default/lineage
expect ExecStart '/usr/bin/lineage record $LINEAGE_RECORD_OPTS'
expect Restart on-failure
expect KillSignal SIGTERM
expect User lineage
expect NoNewPrivileges yes
expect ProtectSystem strict
expect ReadWritePaths /var/lib/lineage
expect ProtectHome yes
expect PrivateTmp yes
expect SystemCallArchitectures native
expect RestrictAddressFamilies none
expect LimitMEMLOCK infinity
expect WantedBy multi-user.target
# The capabilities found to be needed (deploy/README.md), in both sets.
expect CapabilityBoundingSet 'CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_PTRACE'
expect AmbientCapabilities 'CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_PTRACE'
# What would hide processes from record, or give it a host name of its own.
for key in ProtectProc ProcSubset ProtectHostname PrivateUsers PrivatePIDs; do
    check "no $key= (record must see every process as the host does)" sh -c "! grep -q '^$key=' '$UNIT'"
done

# /etc/default/lineage: a shell-style assignment that systemd reads, with
# the journal inside the one writable directory.
# shellcheck disable=SC1090
opts=$(sh -c ". '$DEFAULTS' && printf '%s' \"\$LINEAGE_RECORD_OPTS\"")
echo "LINEAGE_RECORD_OPTS=$opts"
check "LINEAGE_RECORD_OPTS is set" test -n "$opts"
check "the journal is under ReadWritePaths" sh -c "echo '$opts' | grep -q -- '--journal /var/lib/lineage/'"
check "anchors go to stderr, i.e. the systemd journal" sh -c "! echo '$opts' | grep -q -- '--anchor-log'"
# Every option in it is one `record --help` lists.
help=$("$BUILD/lineage" record --help)
for opt in $(echo "$opts" | grep -oE -- '--[a-z-]+'); do
    check "record knows $opt" sh -c "echo \"\$1\" | grep -q -- \"$opt\"" _ "$help"
done

# systemd-analyze verify: the unit's syntax, that ExecStart= is an
# executable and that every Documentation=man: page exists. The binary and
# the man pages are the build's (ExecStart rewritten, MANPATH set): the
# package test checks the same files are what gets installed.
if ! command -v systemd-analyze >/dev/null; then
    if [ "${LINEAGE_REQUIRE_BPF:-0}" = 1 ]; then fail "systemd-analyze is missing (LINEAGE_REQUIRE_BPF=1)"; fi
    echo "SKIP: systemd-analyze is missing: lineage.service was not verified (apt-get install systemd)"
    exit 77
fi
WORK=$(mktemp -d /tmp/lineage-unit-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
sed "s|^ExecStart=/usr/bin/lineage |ExecStart=$BUILD/lineage |" "$UNIT" >"$WORK/lineage.service"
check "the build has the man pages" test -f "$BUILD/deploy/man/man1/lineage-record.1.gz"
if ! MANPATH=$BUILD/deploy/man SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$WORK/lineage.service" \
    >"$WORK/verify.txt" 2>&1; then
    cat "$WORK/verify.txt" >&2
    fail "systemd-analyze verify lineage.service"
fi
# verify exits 0 on some findings it only prints (an unknown key is one).
if [ -s "$WORK/verify.txt" ]; then
    cat "$WORK/verify.txt" >&2
    fail "systemd-analyze verify printed findings (above)"
fi
echo "ok: systemd-analyze verify lineage.service"

# lineage-health.service and its timer: the check reads the recorder's
# options, runs the script the package installs, and the timer starts it.
# (tests/deploy/test_health.sh runs the script against a real recorder.)
HEALTH_UNIT=$SRC/deploy/systemd/lineage-health.service
check "lineage-health.service reads /etc/default/lineage" grep -qx 'EnvironmentFile=-/etc/default/lineage' "$HEALTH_UNIT"
check "lineage-health.service runs /usr/libexec/lineage/lineage-health" \
    grep -qx 'ExecStart=/usr/libexec/lineage/lineage-health' "$HEALTH_UNIT"
check "lineage-health.service is a oneshot" grep -qx 'Type=oneshot' "$HEALTH_UNIT"
check "lineage-health.timer: every minute" grep -qx 'OnUnitActiveSec=1min' "$SRC/deploy/systemd/lineage-health.timer"
check "the health check is executable" test -x "$SRC/deploy/systemd/lineage-health"
sed "s|^ExecStart=/usr/libexec/lineage/lineage-health|ExecStart=$SRC/deploy/systemd/lineage-health|" "$HEALTH_UNIT" \
    >"$WORK/lineage-health.service"
cp "$SRC/deploy/systemd/lineage-health.timer" "$WORK/"
for unit in lineage-health.service lineage-health.timer; do
    if ! MANPATH=$BUILD/deploy/man SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$WORK/$unit" \
        >"$WORK/verify.txt" 2>&1 || [ -s "$WORK/verify.txt" ]; then
        cat "$WORK/verify.txt" >&2
        fail "systemd-analyze verify $unit"
    fi
    echo "ok: systemd-analyze verify $unit"
done
# The exposure score, for deploy/README.md (printed, not asserted: it is
# systemd's judgement and moves with its version).
systemd-analyze security --offline=yes "$WORK/lineage.service" 2>/dev/null | tail -n 1 || true
echo "all unit checks passed"
