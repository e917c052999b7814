#!/usr/bin/env bash
# The installed layout works on its own: <prefix>/bin/vitalsd finds its lazily loaded check
# modules in <prefix>/lib/vitals (as in the Docker image and the Debian package). Starts it on a
# free loopback port with a tcp check (a lazy module) of its own listener, waits for that check to
# pass on /readyz, and stops it by PID.
set -euo pipefail
prefix=$1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
cat >"$dir/vitalsd.yaml" <<YAML
listen: 127.0.0.1:$port
checks:
  - name: self
    type: tcp
    host: 127.0.0.1
    port: $port
    interval: 200ms
    timeout: 100ms
YAML
"$prefix/bin/vitalsd" --config "$dir/vitalsd.yaml" >"$dir/log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/readyz?verbose" 2>/dev/null | grep -q '^\[+\]self ok'; then
    echo "installed vitalsd on :$port: the tcp module loaded and its check passes"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
echo "installed vitalsd never passed its tcp check; its log:" >&2
cat "$dir/log" >&2
curl -sS "http://127.0.0.1:$port/readyz?verbose" >&2 || true
exit 1
