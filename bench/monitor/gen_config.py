#!/usr/bin/env python3
"""Writes a vitalsd YAML config with N tcp or http checks against one local nginx.

    gen_config.py TYPE N NGINX_PORTS LISTEN TOKEN_FILE JITTER [INTERVAL] > vitalsd.yaml

TYPE: tcp | http. NGINX_PORTS: comma-separated ports nginx listens on (127.0.0.1). http checks
GET /t/<i> (one path per target, so nginx's access log tells the targets apart) and keep their
connection; tcp checks connect to the ports round-robin (only connect, nothing sent). Checks are
named t<i>, or t.<i> beyond 20,000 (one `targets:` group).
"""
import os
import sys

kind, n, ports, listen, token_file, jitter = sys.argv[1:7]
interval = sys.argv[7] if len(sys.argv) > 7 else "10s"
n = int(n)
# MAX_REDIRECTS=0: http checks follow no redirect, so each holds one descriptor, not two (what
# lets 10,000 of them fit a hard limit of 20,000).
redirects = ", max_redirects: 0" if os.environ.get("MAX_REDIRECTS") == "0" else ""
ports = [int(p) for p in ports.split(",")]
out = sys.stdout.write
out(f"listen: {listen}\n")
out("service: {id: monitor-bench}\n")
out(f"auth: {{token_file: {token_file}}}\n")
out("http: {details: authorized}\n")
out("log: {level: info}\n")
out("shutdown: {drain_delay: 200ms, grace_period: 5s}\n")
timeout = "2s" if interval not in ("1s", "2s") else "500ms"
out(f"defaults: {{interval: {interval}, timeout: {timeout}, jitter: {jitter}, probes: [ready]}}\n")
if n <= 20000:
    out("checks:\n")
    for i in range(n):
        port = ports[i % len(ports)]
        if kind == "tcp":
            out(f"  - {{name: t{i}, type: tcp, host: 127.0.0.1, port: {port}}}\n")
        elif kind == "http":
            out(f"  - {{name: t{i}, type: http, url: 'http://127.0.0.1:{port}/t/{i}'{redirects}}}\n")
        else:
            sys.exit(f"unknown type {kind}")
else:
    # Beyond 20,000 a mapping per check outgrows the loader's size limit: one `targets:` group
    # (a line per target), its checks named t.<i>, in the ready probe like the list above.
    if kind not in ("tcp", "http"):
        sys.exit(f"unknown type {kind}")
    out(f"targets:\n  - group: t\n    type: {kind}\n    probes: [ready]\n")
    if kind == "http" and redirects:
        out("    max_redirects: 0\n")
    out("    targets:\n")
    for i in range(n):
        port = ports[i % len(ports)]
        if kind == "tcp":
            out(f"      - {{name: '{i}', host: 127.0.0.1, port: {port}}}\n")
        else:
            out(f"      - {{name: '{i}', url: 'http://127.0.0.1:{port}/t/{i}'}}\n")
