#!/usr/bin/env python3
"""HTTPS test server for `vitals probe`: serves `HTTP/1.1 <status>` on 127.0.0.1 with the given
certificate, prints its port on stdout once listening, and exits by itself after --lifetime
seconds (so no test can leave it behind)."""
import argparse
import socket
import ssl
import sys
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--status", default="200 OK")
parser.add_argument("--lifetime", type=float, default=30.0)
args = parser.parse_args()

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.cert, args.key)
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
listener.settimeout(0.2)
print(listener.getsockname()[1], flush=True)
body = b"ok"
response = (
    f"HTTP/1.1 {args.status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
    + body
)


def serve(conn):
    conn.settimeout(2.0)
    try:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = tls.recv(4096)
                if not chunk:
                    return
                data += chunk
            tls.sendall(response)
    except (OSError, ssl.SSLError):
        pass  # failed handshakes are the point of some tests
    finally:
        conn.close()


deadline = time.monotonic() + args.lifetime
while time.monotonic() < deadline:
    try:
        conn, _ = listener.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
sys.exit(0)
