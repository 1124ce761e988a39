#!/usr/bin/python3
"""Stand-in for the Certificate Enrollment Web Services (CES/CEP) host: HTTPS on 443 with a
certificate from the lab CA. Answers GET and POST on any path with a short body.

usage: https_server.py BIND_ADDR PORT CERT KEY
"""
import http.server
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = ("adcsflow lab CES stand-in: %s %s\n" % (self.command, self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, fmt, *args):
        sys.stdout.write("https %s %s\n" % (self.client_address[0], fmt % args))
        sys.stdout.flush()


def main():
    addr, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    srv = http.server.HTTPServer((addr, port), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("https listening on %s:%d" % (addr, port), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
