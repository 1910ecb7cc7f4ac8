#!/bin/bash
# `lineage record` as lineage.service runs it, without systemd: not root,
# only the unit's AmbientCapabilities, no_new_privs, the options of
# /etc/default/lineage, stopped by SIGTERM. Then the same with one
# capability less each, which is how deploy/README.md's table was found;
# and the system calls it makes, against the unit's SystemCallFilter=.
#
# The user is nobody, standing in for the package's system user lineage:
# neither has any right of its own beyond its files.
#
# Usage: test_service_caps.sh BUILD_DIR SOURCE_DIR
# Needs root (to hand out capabilities), BPF and BTF, setpriv and sqlite3;
# exits 77 (skipped) without root or BTF unless LINEAGE_REQUIRE_BPF=1.
set -euo pipefail

BUILD=$(realpath "$1")
SRC=$(realpath "$2")
LINEAGE=$BUILD/lineage
UNIT=$SRC/deploy/systemd/lineage.service

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

[ "$(id -u)" = 0 ] || skip "not root: cannot hand capabilities to a recorder"
[ -e /sys/kernel/btf/vmlinux ] || skip "no kernel BTF (/sys/kernel/btf/vmlinux)"
for tool in setpriv sqlite3 strace objdump; do
    command -v "$tool" >/dev/null || fail "$tool is missing (scripts/setup.sh installs it)"
done

WORK=$(mktemp -d /tmp/lineage-service-test.XXXXXX)
chmod 0755 "$WORK"
SLEEPER=
RECORDER=
cleanup() {
    [ -n "$RECORDER" ] && kill -KILL "$RECORDER" 2>/dev/null
    [ -n "$SLEEPER" ] && kill -KILL "$SLEEPER" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# The unit's capabilities, as setpriv spells them: "-all,+bpf,+perfmon,...".
unit_caps=$(sed -n 's/^AmbientCapabilities=//p' "$UNIT")
[ -n "$unit_caps" ] || fail "no AmbientCapabilities= in $UNIT"
check "the bounding set is the ambient set" test "$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")" = "$unit_caps"
setpriv_caps() { # CAP_X CAP_Y ... -> -all,+x,+y
    local out=-all cap
    for cap in "$@"; do
        cap=${cap#CAP_}
        out="$out,+$(echo "$cap" | tr '[:upper:]' '[:lower:]')"
    done
    echo "$out"
}
without() { # without CAP_X: the unit's set less CAP_X
    local cap out=()
    for cap in $unit_caps; do [ "$cap" = "$1" ] || out+=("$cap"); done
    echo "${out[@]}"
}

# The options of /etc/default/lineage, their journal moved here.
opts=$(sh -c ". '$SRC/deploy/default/lineage' && printf '%s' \"\$LINEAGE_RECORD_OPTS\"")

# A root process started before the recorder, which it can only describe
# with CAP_SYS_PTRACE: /proc/PID/exe of a process holding capabilities the
# reader lacks needs the ptrace access check. Its argv is this run's own.
MARK=lineage-service-test-$$
/bin/bash -c 'exec -a "$1" /bin/sleep 600' _ "$MARK-root" &
SLEEPER=$!

# run_as_unit STATE_DIR CAPS... : starts record the way the unit does, in
# the background; RECORDER is its PID (setpriv execs it), its stderr in
# STATE_DIR/stderr. The state directory is what postinst makes.
run_as_unit() {
    local state=$1; shift
    local caps
    caps=$(setpriv_caps "$@")
    mkdir -p "$state"
    chown nobody:nogroup "$state"
    chmod 0700 "$state"
    # shellcheck disable=SC2086 # the unit splits $LINEAGE_RECORD_OPTS on spaces too
    setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
        --inh-caps="$caps" --ambient-caps="$caps" --bounding-set="$caps" \
        "$LINEAGE" record ${opts//\/var\/lib\/lineage\//$state/} </dev/null >"$state/stdout" 2>"$state/stderr" &
    RECORDER=$!
}

# Waits for the ready line, or for the recorder to exit; returns its status
# then (or 0 when it is ready).
wait_ready() {
    local state=$1
    for _ in $(seq 100); do
        grep -q '^lineage: recording' "$state/stderr" 2>/dev/null && return 0
        if ! kill -0 "$RECORDER" 2>/dev/null; then
            local rc=0
            wait "$RECORDER" || rc=$?
            RECORDER=
            return "$rc"
        fi
        sleep 0.1
    done
    cat "$state/stderr" >&2
    fail "record was not ready after 10 s"
}

stop_recorder() { # SIGTERM, as systemd stops the unit; returns the exit status
    local rc=0
    kill -TERM "$RECORDER"
    wait "$RECORDER" || rc=$?
    RECORDER=
    return "$rc"
}

# query STATE SQL: on a copy, so that SQLite does not fold the WAL into the
# journal that verify is asked about.
query() {
    cp "$1/journal.db" "$WORK/q.db"
    [ -f "$1/journal.db-wal" ] && cp "$1/journal.db-wal" "$WORK/q.db-wal"
    sqlite3 "$WORK/q.db" "$2"
    rm -f "$WORK"/q.db*
}

# ------------------------------------------------------------------ the unit's set

echo "== the unit's capabilities: $unit_caps"
S=$WORK/unit
run_as_unit "$S" $unit_caps
wait_ready "$S" || { cat "$S/stderr" >&2; fail "record with the unit's capabilities exited with status $?"; }
/bin/sh -c ": $MARK-exec"
sleep 0.3
stop_recorder || { cat "$S/stderr" >&2; fail "record did not stop cleanly on SIGTERM (status $?)"; }
cat "$S/stderr"
check "SIGTERM: a clean stop" grep -q '^lineage: stopped (signal)' "$S/stderr"
check "the journal belongs to the service's user, mode 0600" \
    test "$(stat -c '%U %a' "$S/journal.db")" = "nobody 600"
check "the exec after the start is recorded" \
    test "$(query "$S" "SELECT count(*) FROM exec WHERE instr(argv, CAST('$MARK-exec' AS BLOB)) > 0")" = 1
check "the root process running before the start has its executable in the snapshot (CAP_SYS_PTRACE)" \
    test "$(query "$S" "SELECT CAST(exe AS TEXT) FROM snapshot WHERE tgid = $SLEEPER")" = /usr/bin/sleep
check "without CAP_SYS_ADMIN, record says what the snapshot lacks" \
    grep -q '^lineage: without CAP_SYS_ADMIN, processes already running in other UTS namespaces' "$S/stderr"
check "and nothing else is missing" sh -c "! grep -q 'without CAP_SYS_PTRACE' '$S/stderr'"
check "the DNS hooks attached (CAP_NET_ADMIN)" grep -q '^lineage: attached .*cgroup_skb/egress,cgroup_skb/ingress' "$S/stderr"
check "and nothing says DNS is not recorded" sh -c "! grep -q 'DNS messages are not recorded' '$S/stderr'"
# Anchors went to stderr, i.e. to the systemd journal; the last one names
# the run's last batch.
anchor=$(grep '^lineage-anchor' "$S/stderr" | tail -n 1)
check "anchors on stderr" test -n "$anchor"
"$LINEAGE" verify --journal "$S/journal.db" --anchor "$anchor" >"$WORK/verify.txt" ||
    { cat "$WORK/verify.txt" >&2; fail "lineage verify of the service's journal, with its last anchor"; }
check "lineage verify: whole, the last anchor in the chain" grep -qx 'result: whole' "$WORK/verify.txt"

# ------------------------------------------------------------------ one less each

for cap in CAP_BPF CAP_PERFMON; do
    echo "== without $cap"
    S=$WORK/no-$cap
    rc=0
    run_as_unit "$S" $(without "$cap")
    wait_ready "$S" || rc=$?
    cat "$S/stderr"
    [ -z "$RECORDER" ] || { stop_recorder || true; fail "record started without $cap"; }
    check "without $cap: exit 2" test "$rc" = 2
    check "without $cap: one line that names it" \
        sh -c "[ \$(wc -l <'$S/stderr') = 1 ] && grep -q 'needs root, or CAP_BPF and CAP_PERFMON (missing: $cap)' '$S/stderr'"
    check "without $cap: no journal" test ! -e "$S/journal.db"
done

echo "== without CAP_NET_ADMIN"
S=$WORK/no-net-admin
run_as_unit "$S" $(without CAP_NET_ADMIN)
wait_ready "$S" || { cat "$S/stderr" >&2; fail "record without CAP_NET_ADMIN exited with status $?"; }
/bin/sh -c ": $MARK-exec"
sleep 0.3
stop_recorder || fail "record without CAP_NET_ADMIN did not stop cleanly"
cat "$S/stderr"
check "without CAP_NET_ADMIN: record says DNS is not recorded, and why" \
    grep -q '^lineage: DNS messages are not recorded: the packet hooks need CAP_NET_ADMIN' "$S/stderr"
check "without CAP_NET_ADMIN: no packet hook attached" sh -c "! grep -q 'cgroup_skb' '$S/stderr'"
check "without CAP_NET_ADMIN: the rest is recorded" \
    test "$(query "$S" "SELECT count(*) FROM exec WHERE instr(argv, CAST('$MARK-exec' AS BLOB)) > 0")" = 1

echo "== without CAP_SYS_PTRACE"
S=$WORK/no-ptrace
run_as_unit "$S" $(without CAP_SYS_PTRACE)
wait_ready "$S" || { cat "$S/stderr" >&2; fail "record without CAP_SYS_PTRACE exited with status $?"; }
stop_recorder || fail "record without CAP_SYS_PTRACE did not stop cleanly"
cat "$S/stderr"
check "without CAP_SYS_PTRACE: record says what the snapshot lacks" \
    grep -q '^lineage: without CAP_SYS_PTRACE, processes already running that belong to other users' "$S/stderr"
check "without CAP_SYS_PTRACE: the root process is in the snapshot, without its executable" \
    test "$(query "$S" "SELECT length(exe) FROM snapshot WHERE tgid = $SLEEPER")" = 0
check "without CAP_SYS_PTRACE: but with its argv" \
    test "$(query "$S" "SELECT instr(argv, CAST('$MARK-root' AS BLOB)) > 0 FROM snapshot WHERE tgid = $SLEEPER")" = 1

# ------------------------------------------------------------------ system calls

# Every system call record makes is allowed by the unit's SystemCallFilter=
# (a call outside it would fail with EPERM under systemd). Traced from the
# execve of lineage on: setpriv's own calls before it are not the service's.
# A sanitized lineage: GCC's links libasan, clang's has the runtime inside
# (its __asan_init symbol). grep reads all of its input (no -q): under
# pipefail, a writer killed by SIGPIPE when grep -q quits early would make
# the test think it is no sanitizer build, now and then.
if { objdump -p "$LINEAGE"; nm "$LINEAGE" 2>/dev/null; } | grep -E 'NEEDED +libasan| __asan_init$' >/dev/null; then
    # The sanitizers' runtime makes calls of its own, and LeakSanitizer
    # cannot run under ptrace: the plain build's run of this test checks
    # the filter against the binary the package ships.
    echo "SKIP (this part): a sanitizer build: SystemCallFilter= is checked in the plain build"
    echo "all service checks passed but the system call filter's"
    exit 0
fi
if ! command -v systemd-analyze >/dev/null; then
    if [ "${LINEAGE_REQUIRE_BPF:-0}" = 1 ]; then fail "systemd-analyze is missing (LINEAGE_REQUIRE_BPF=1)"; fi
    echo "SKIP (this part): systemd-analyze is missing: SystemCallFilter= not checked"
    echo "all service checks passed but the system call filter's"
    exit 0
fi
echo "== system calls"
S=$WORK/strace
mkdir -p "$S"
chown nobody:nogroup "$S"
caps=$(setpriv_caps $unit_caps)
# shellcheck disable=SC2086
strace -f -qq -o "$WORK/strace.txt" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
    --inh-caps="$caps" --ambient-caps="$caps" --bounding-set="$caps" \
    "$LINEAGE" record ${opts//\/var\/lib\/lineage\//$S/} --duration 3s \
    </dev/null >/dev/null 2>"$S/stderr" &
tracer=$!
for _ in $(seq 100); do grep -q '^lineage: recording' "$S/stderr" 2>/dev/null && break; sleep 0.1; done
/bin/sh -c ": $MARK-traced; /bin/true"
wait "$tracer" || { cat "$S/stderr" >&2; fail "record under strace"; }
awk -v bin="$LINEAGE" 'index($0, "execve(\"" bin "\"") { on = 1 } on' "$WORK/strace.txt" |
    sed -E 's/^[0-9]+ +//' | grep -oE '^[a-z_0-9]+\(' | tr -d '(' | sort -u >"$WORK/used.txt"
check "strace saw record's calls" grep -qx bpf "$WORK/used.txt"
expand() { # a SystemCallFilter= item: a call, or @group (recursively)
    case $1 in
    @*) systemd-analyze syscall-filter "$1" | awk 'NR > 1 && $1 !~ /^#/ { print $1 }' |
        while read -r s; do expand "$s"; done ;;
    *) echo "$1" ;;
    esac
}
for item in $(sed -n 's/^SystemCallFilter=//p' "$UNIT"); do
    [ "${item#\~}" = "$item" ] || fail "a deny list (~) in SystemCallFilter= is not handled by this test"
    expand "$item"
done | sort -u >"$WORK/allowed.txt"
outside=$(comm -23 "$WORK/used.txt" "$WORK/allowed.txt")
echo "record's system calls: $(tr '\n' ' ' <"$WORK/used.txt")"
check "every one is in SystemCallFilter=${outside:+ (not: $outside)}" test -z "$outside"
echo "all service checks passed"
