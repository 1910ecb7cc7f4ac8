# Loopback loads for the DNS hooks' cost: per-packet (UDP datagrams of 64
# bytes, none of them DNS), bulk TCP, and DNS lookups against a loopback
# server. Prints CPU seconds (this process, both ends) and wall seconds.
import os, socket, struct, sys, threading, time, resource
kind = sys.argv[1]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
t0, c0 = time.perf_counter(), cpu()
if kind == 'udp':
    n = 200000
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rx.bind(('127.0.0.1', 0))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); tx.connect(rx.getsockname())
    buf = b'x' * 64
    for i in range(n):
        tx.send(buf); rx.recv(128)
elif kind == 'tcp':
    total = 1 << 30
    ls = socket.socket(); ls.bind(('127.0.0.1', 0)); ls.listen()
    def sink():
        c, _ = ls.accept(); got = 0
        while got < total:
            d = c.recv(1 << 16)
            if not d: break
            got += len(d)
    th = threading.Thread(target=sink); th.start()
    s = socket.create_connection(ls.getsockname()); chunk = b'y' * (1 << 16); sent = 0
    while sent < total: s.sendall(chunk); sent += len(chunk)
    s.close(); th.join()
elif kind == 'dns':
    n = 10000
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(('127.0.5.3', 53))
    for i in range(n):
        q = struct.pack('>HHHHHH', i & 0xffff, 0x0100, 1, 0, 0, 0) + b'\x08attacker\x03com\x00' + struct.pack('>HH', 1, 1)
        u.send(q); u.recv(512)
print(f"{kind} cpu={cpu() - c0:.3f} wall={time.perf_counter() - t0:.3f}")
