# shellcheck shell=sh
# my-app, the demo's vulnerable service, run by /usr/local/bin/my-app (a copy
# of the system's sh) inside the fake pod. It takes one "request" per line
# from a FIFO and, like a command injection bug, hands it to a shell.
# Apart from its liveness probe, everything it uses here is a shell builtin,
# so the only other processes it ever starts are the ones an attacker makes
# it start.
exec 3<> /usr/local/lib/my-app/requests   # read-write: the FIFO never reports EOF
# The pod's liveness probe, as a real pod runs one every 10 s: here 12
# times, 0.1 s apart, before the service takes requests, so that the tree
# shows them folded into one line ("×12"), and the attack below them.
: > /tmp/healthy
n=0
while [ "$n" -lt 12 ]; do
    sh -c "test -f /tmp/healthy"
    sleep 0.1
    n=$((n + 1))
done
echo "my-app: ready"
while read -r request <&3; do
    sh -c "$request"
    echo "my-app: request handled (exit $?)"
done
