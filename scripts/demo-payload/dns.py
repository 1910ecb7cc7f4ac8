#!/usr/bin/python3
"""The fake pod's name server for the lineage demo, on a loopback address only.

Usage: dns.py WORKDIR SERVER_ADDRESS NAME ADDRESS

Answers DNS queries over UDP and TCP on SERVER_ADDRESS port 53 (an address
of lo, such as 127.0.5.3): NAME's A question with ADDRESS (where the demo's
attacker.com listener is), its other questions (AAAA: the listener has no
IPv6 address) with an empty answer, so that a resolver asking for both does
not wait; every other name with NXDOMAIN. It never asks anyone else.

Prints "dns: listening on SERVER_ADDRESS:53" on stderr once both sockets are
bound, and writes its PID to WORKDIR/dns.pid; if either cannot be bound, it
prints "dns: cannot listen on SERVER_ADDRESS:53: REASON" and exits with 1.
Each question is logged on stderr.
"""
import os
import socket
import struct
import sys
import threading

TTL = 60


def parse_question(q):
    """(name, qtype, end of the question) of a query, or None."""
    if len(q) < 12:
        return None
    labels = []
    i = 12
    while True:
        if i >= len(q):
            return None
        n = q[i]
        if n == 0:
            break
        if n & 0xC0 or i + 1 + n > len(q):  # no compression in a question
            return None
        labels.append(q[i + 1:i + 1 + n])
        i += 1 + n
    if i + 5 > len(q):
        return None
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    name = b".".join(labels).decode("ascii", "replace").lower()
    return name, qtype, i + 5


def answer(q, name_wanted, address, peer):
    """The reply to query q, or None to drop it."""
    if len(q) < 12:
        return None
    qid, flags, qdcount = struct.unpack(">HHH", q[:6])
    if flags & 0x8000:  # a reply: not ours to answer
        return None
    rd = flags & 0x0100
    opcode = flags & 0x7800
    parsed = parse_question(q) if qdcount == 1 else None
    if opcode != 0 or parsed is None:
        rcode = 4 if opcode != 0 else 1  # NOTIMP, FORMERR
        return struct.pack(">HHHHHH", qid, 0x8000 | opcode | rd | 0x0080 | rcode, 0, 0, 0, 0)
    name, qtype, end = parsed
    question = q[12:end]
    records = b""
    count = 0
    if name != name_wanted:
        rcode = 3  # NXDOMAIN
    else:
        rcode = 0
        if qtype == 1:  # A
            records = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, TTL, 4) + socket.inet_aton(address)
            count = 1
    sys.stderr.write("dns: %s %s from %s:%d: %s\n" % (
        name, {1: "A", 28: "AAAA"}.get(qtype, "type %d" % qtype), peer[0], peer[1],
        address if count else ("NXDOMAIN" if rcode else "no records")))
    sys.stderr.flush()
    # QR, AA (it is the zone's server), RD as asked, RA.
    flags = 0x8000 | 0x0400 | rd | 0x0080 | rcode
    return struct.pack(">HHHHHH", qid, flags, 1, count, 0, 0) + question + records


def serve_udp(sock, name, address):
    while True:
        q, peer = sock.recvfrom(4096)
        r = answer(q, name, address, peer)
        if r is not None:
            sock.sendto(r, peer)


def serve_tcp_client(conn, peer, name, address):
    with conn:
        conn.settimeout(10)
        buf = b""
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
                    n = struct.unpack(">H", buf[:2])[0]
                    r = answer(buf[2:2 + n], name, address, peer)
                    buf = buf[2 + n:]
                    if r is None:
                        return
                    conn.sendall(struct.pack(">H", len(r)) + r)
        except OSError:
            return


def serve_tcp(sock, name, address):
    while True:
        conn, peer = sock.accept()
        threading.Thread(target=serve_tcp_client, args=(conn, peer, name, address), daemon=True).start()


def main():
    workdir, server, name, address = sys.argv[1:5]
    socket.inet_aton(address)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        udp.bind((server, 53))
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a TIME_WAIT of an earlier run
        tcp.bind((server, 53))
        tcp.listen()
    except OSError as e:
        sys.stderr.write("dns: cannot listen on %s:53: %s\n" % (server, e.strerror or e))
        sys.exit(1)
    with open(os.path.join(workdir, "dns.pid"), "w") as f:
        f.write("%d\n" % os.getpid())
    threading.Thread(target=serve_udp, args=(udp, name.lower(), address), daemon=True).start()
    threading.Thread(target=serve_tcp, args=(tcp, name.lower(), address), daemon=True).start()
    sys.stderr.write("dns: listening on %s:53\n" % server)
    sys.stderr.flush()
    threading.Event().wait()


if __name__ == "__main__":
    main()
