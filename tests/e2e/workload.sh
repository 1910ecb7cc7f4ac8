# The scripted workload of the `lineage record` end-to-end test
# (tests/e2e/test_record.cpp). POSIX sh, run as `sh workload.sh`.
#
# Every fact the test needs (PIDs, exit statuses) is printed to stdout as a
# key=value line; anything else on stdout is ignored by the test. The script
# returns only when every process it started has ended, so the journal is
# complete once it has exited and the recorder has drained its ring.
#
# Inputs (environment): LINEAGE_V4_PORT and LINEAGE_V6_PORT, TCP ports the
# test listens on at 127.0.0.1 and ::1.
#
# The test asserts binaries as the paths given to execve, so PATH is fixed:
# `cat` is /usr/bin/cat, `python3` is /usr/bin/python3 (never a pyenv shim).

PATH=/usr/bin:/bin
export PATH

echo "workload=$$"

# 1. A shell running a pipeline. echo is a builtin (a fork, no exec); cat and
#    wc are forked by this sh and exec'd.
/bin/sh -c 'echo pipeline=$$; echo lineage-pipeline | cat | wc -c'

# 2. A background child, waited for.
sleep 0.3 &
echo "bg=$!"
wait $!
echo "bg_status=$?"

# 3. An exec chain: one PID, three execs (sh, sh, sleep), in this order.
/bin/sh -c 'echo chain=$$; exec /bin/sh -c "exec /bin/sleep 0.1"'

# 4. One process, four threads (threads must not appear as forks).
python3 -c '
import os, threading, time
print("threads=%d" % os.getpid(), flush=True)
tids = []
def work():
    tids.append(threading.get_native_id())
    time.sleep(0.1)
ts = [threading.Thread(target=work) for _ in range(4)]
for t in ts:
    t.start()
print("threads_tasks=%d" % len(os.listdir("/proc/self/task")), flush=True)
for t in ts:
    t.join()
print("threads_tids=%s" % ",".join(str(t) for t in sorted(tids)), flush=True)
'
echo "threads_status=$?"

# 5. A child killed by SIGKILL, and one that exits with code 3.
sleep 30 &
killed=$!
echo "killed=$killed"
kill -9 "$killed"
wait "$killed"
echo "killed_status=$?"

/bin/sh -c 'echo exit3=$$; exit 3'
echo "exit3_status=$?"

# 6. An orphan: the subshell is forked by the outer sh, which exits at once;
#    the subshell is reparented and only then (0.3 s later) execs /bin/true.
#    Its stdout is /dev/null so that the $(...) below returns when the outer
#    sh exits, not when the orphan does.
out=$(/bin/sh -c '( sleep 0.3; exec /bin/true lineage-orphan ) >/dev/null & echo orphanparent=$$; echo orphan=$!; exit 0')
echo "$out"
orphan=${out##*orphan=}
# Not our child: poll (builtins only) until it is gone or a zombie.
i=0
while [ -n "$orphan" ] && [ "$i" -lt 250 ] && [ -r "/proc/$orphan/stat" ]; do
    stat=
    read -r stat 2>/dev/null <"/proc/$orphan/stat"
    state=${stat##*) }
    case "${state%% *}" in Z|X|'') break ;; esac
    sleep 0.02
    i=$((i + 1))
done
echo "orphan_waits=$i"

# 7. TCP connects to the test's listeners on 127.0.0.1 and ::1.
python3 -c '
import os, socket
print("connector=%d" % os.getpid(), flush=True)
for host, var in (("127.0.0.1", "LINEAGE_V4_PORT"), ("::1", "LINEAGE_V6_PORT")):
    s = socket.create_connection((host, int(os.environ[var])), timeout=5)
    print("%s_sport=%d" % (var, s.getsockname()[1]), flush=True)
    s.close()
'
echo "connector_status=$?"

echo "done=1"
