#!/usr/bin/env bash
# What the DNS hooks cost (bench/results/dns-hooks.md): loopback loads under
# no recorder, `lineage record --dns off` and `--dns on`, interleaved round
# by round. As root. Usage: bench/dns-hooks.sh [LINEAGE] [ROUNDS] > out.txt
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lineage=${1:-$here/../build/lineage}
rounds=${2:-5}
work=$(mktemp -d)
# A UDP DNS server on 127.0.5.3:53 that answers every question with an A.
python3 -c '
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.5.3", 53))
while True:
    q, peer = s.recvfrom(4096)
    s.sendto(q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x01\x00\x00\x00\x00" + q[12:] +
             b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + socket.inet_aton("127.0.7.7"), peer)
' &
server=$!
rec=
cleanup() {
    [ -n "$rec" ] && kill -INT "$rec" 2>/dev/null
    kill "$server" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
sleep 0.5
for round in $(seq "$rounds"); do
    for mode in none off on; do
        rm -f "$work"/j.db*
        if [ "$mode" != none ]; then
            "$lineage" record --journal "$work/j.db" --dns "$mode" >"$work/rec.log" 2>&1 &
            rec=$!
            for _ in $(seq 100); do grep -q recording "$work/rec.log" && break; sleep 0.1; done
        fi
        for k in udp tcp dns; do echo "round=$round mode=$mode $(python3 "$here/dns_load.py" "$k")"; done
        if [ -n "$rec" ]; then kill -INT "$rec"; wait "$rec"; rec=; fi
    done
done
