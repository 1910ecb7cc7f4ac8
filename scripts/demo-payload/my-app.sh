# shellcheck shell=sh
# my-app, the demo's vulnerable service, run by /usr/local/bin/my-app (a copy
# of the system's sh) inside the fake pod. It takes one "request" per line
# from a FIFO and, like a command injection bug, hands it to a shell.
# Everything it uses here is a shell builtin, so the only processes it ever
# starts are the ones an attacker makes it start.
exec 3<> /usr/local/lib/my-app/requests   # read-write: the FIFO never reports EOF
echo "my-app: ready"
while read -r request <&3; do
    sh -c "$request"
    echo "my-app: request handled (exit $?)"
done
