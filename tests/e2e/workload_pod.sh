#!/bin/bash
# The fake pod's first process in the pods end-to-end test
# (tests/e2e/test_pods_e2e.cpp): bash, PID 1 of its own PID namespace, in its
# own UTS namespace, in a kubepods-shaped cgroup, as
#   unshare --uts --pid --fork /bin/bash workload_pod.sh NAME PORT4 PORT6
# It sets the pod's host name (there is no kubelet log directory), then
# starts what a pod's attacker starts, none of which execs:
#   1. a Python os.fork() child that connects to 127.0.0.1:PORT4;
#   2. a bash /dev/tcp subshell that connects to [::1]:PORT6;
#   3. a pre-fork parent whose 3 workers each connect to 127.0.0.1:PORT4.
# Facts for the test are printed as key=value lines.
set -eu
PATH=/usr/bin:/bin
export PATH
NAME=$1 PORT4=$2 PORT6=$3

hostname "$NAME"
echo "pod_init=$$"

# 1. os.fork(): the child connects and exits; the parent waits.
/usr/bin/python3 -c '
import os, socket, sys
pid = os.fork()
if pid == 0:
    socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()
    os._exit(0)
print("fork_child=%d" % pid, flush=True)
os.waitpid(pid, 0)
' "$PORT4"

# 2. The subshell opens the connection itself (a redirection, no exec).
( exec 3<>"/dev/tcp/::1/$PORT6"; exec 3>&- )
echo "subshell_status=$?"

# 3. A pre-fork server: three workers, each connects, then all exit.
/usr/bin/python3 -c '
import os, socket, sys
workers = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()
        os._exit(0)
    workers.append(pid)
for pid in workers:
    os.waitpid(pid, 0)
print("workers=%d" % len(workers), flush=True)
' "$PORT4"
echo "done=1"
