# The workload of the bpftrace import end-to-end test
# (tests/e2e/test_import_e2e.cpp). POSIX sh, run as `sh workload_import.sh`.
#
# Every child is exec'd from this shell or from a `sh -c` that execs it, and
# nothing forks without exec (no $(...), no pipelines, no subshells), so that
# a recorder of execs and exits alone (the seed article's bpftrace recorder)
# sees every process lineage sees, with the parent lineage sees.
#
#   sh workload_import.sh
#     ├── sh -c "cat /etc/hostname >/dev/null; exec /usr/bin/sleep 0.1" → sleep
#     │     └── cat /etc/hostname
#     ├── sh -c "exit 3"
#     ├── env true
#     │     (env execs true in its own PID: env → true)
#     └── sh -c "ls / >/dev/null; head -c 1 /etc/hostname >/dev/null"
#           ├── ls /
#           └── head -c 1 /etc/hostname

PATH=/usr/bin:/bin
export PATH

echo "root=$$"
sh -c 'cat /etc/hostname >/dev/null; exec /usr/bin/sleep 0.1'
sh -c 'exit 3'
env true
sh -c 'ls / >/dev/null; head -c 1 /etc/hostname >/dev/null'
echo "done=1"
