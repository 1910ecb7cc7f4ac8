#!/usr/bin/python3
"""attacker.com for the lineage demo: a tiny HTTP server on 127.0.0.1 only.

Usage: attacker.py WORKDIR PAYLOAD_TEMPLATE

Listens on 127.0.0.1:80 if that port is free, else on an ephemeral port, and
writes the port to WORKDIR/attacker.port once it accepts connections.
  GET  /payload.sh  the second stage (PAYLOAD_TEMPLATE, @ATTACKER@ filled in)
  GET  /backdoor    a do-nothing shell script
  POST /exfil       reads the body and logs only its size
Everything else is 404. Requests are logged on stderr.
"""
import http.server
import os
import sys

BACKDOOR = b"#!/bin/sh\n# lineage demo: a stand-in for a backdoor. It does nothing.\nexit 0\n"


class Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.1 so that curl's "Expect: 100-continue" is answered at once.
    protocol_version = "HTTP/1.1"
    payload = b""

    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_GET(self):
        if self.path == "/payload.sh":
            self.reply(200, self.payload)
        elif self.path == "/backdoor":
            self.reply(200, BACKDOOR)
        else:
            self.reply(404, b"not found\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == "/exfil":
            self.log_message("exfil: received %d bytes (discarded)", len(body))
            self.reply(200, b"thanks\n")
        else:
            self.reply(404, b"not found\n")


def main():
    workdir, template = sys.argv[1], sys.argv[2]
    try:
        server = http.server.HTTPServer(("127.0.0.1", 80), Handler)
    except OSError:
        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    base = "http://attacker.com" if port == 80 else "http://attacker.com:%d" % port
    with open(template, "rb") as f:
        Handler.payload = f.read().replace(b"@ATTACKER@", base.encode())
    # Written last and renamed into place: once the file exists, we listen.
    tmp = os.path.join(workdir, "attacker.port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, os.path.join(workdir, "attacker.port"))
    sys.stderr.write("attacker.com: listening on 127.0.0.1:%d\n" % port)
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
