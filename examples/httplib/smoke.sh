#!/usr/bin/env bash
# Starts the cpp-httplib example on a free loopback port and expects /_health/readyz to turn 200.
set -euo pipefail
bin=$1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$bin" "$port" >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  code=$(curl -s -o /tmp/vitals-httplib-body.$$ -w '%{http_code}' "http://127.0.0.1:$port/_health/readyz" || true)
  if [[ "$code" == 200 ]]; then
    body=$(cat /tmp/vitals-httplib-body.$$); rm -f /tmp/vitals-httplib-body.$$
    [[ "$body" == ok ]] && { echo "readyz 200 ok via cpp-httplib"; exit 0; }
    echo "unexpected body: $body"; exit 1
  fi
  sleep 0.05
done
echo "readyz never turned 200 (last code $code)"; exit 1
