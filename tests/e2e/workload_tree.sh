# The scripted workload of the `lineage reconstruct` end-to-end test
# (tests/e2e/test_reconstruct_e2e.cpp). POSIX sh, run as `sh workload_tree.sh`.
#
# A small tree whose reconstruction is compared line by line, so it must be
# deterministic: every child is started and waited for in order, and this
# shell forks nothing else (no $(...), no pipelines, only builtins between
# the children).
#
#   sh workload_tree.sh
#     ├── sh -c "cat /etc/hostname >/dev/null; exec /bin/sleep 0.2" → /bin/sleep 0.2
#     │     └── cat /etc/hostname
#     ├── sleep 30                  killed by SIGKILL (after its exec)
#     ├── sh -c "exit 3"            exit 3
#     └── python3 -c '...'          connects to 127.0.0.1:$LINEAGE_V4_PORT
#
# Facts the test needs are printed to stdout as key=value lines.
# Input (environment): LINEAGE_V4_PORT, a TCP port the test listens on at
# 127.0.0.1.
#
# PATH is fixed so that `sh` is /usr/bin/sh, `sleep` /usr/bin/sleep and
# `python3` /usr/bin/python3 (never a pyenv shim).

PATH=/usr/bin:/bin
export PATH

echo "root=$$"

# 1. An exec chain (sh → sleep, one PID) with a child (cat) of the first image.
sh -c 'cat /etc/hostname >/dev/null; exec /bin/sleep 0.2'
echo "chain_status=$?"

# 2. A child killed by SIGKILL. Kill it only once it is sleep (its exec is
#    done), so the tree always shows `sleep 30`; wait with builtins only.
sleep 30 &
killed=$!
echo "killed=$killed"
i=0
while [ "$i" -lt 200000 ]; do
    comm=
    read -r comm 2>/dev/null <"/proc/$killed/comm"
    [ "$comm" = sleep ] && break
    i=$((i + 1))
done
kill -9 "$killed"
wait "$killed"
echo "killed_status=$?"

# 3. Exit code 3.
sh -c 'exit 3'
echo "exit3_status=$?"

# 4. A TCP connect to the test's listener.
python3 -c 'import os, socket; socket.create_connection(("127.0.0.1", int(os.environ["LINEAGE_V4_PORT"])), timeout=5).close()'
echo "connector_status=$?"

echo "done=1"
