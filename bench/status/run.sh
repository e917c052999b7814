#!/usr/bin/env bash
# The status page at scale (docs/benchmarks.md#status-page): vitalsd with N tcp targets whose
# history holds 30 days (written by `vitals_bench_history generate`, the store's own code), the
# page and a target's page timed with curl, server side only (the browser's part is issue 12's
# Playwright bench).
#   bench/status/run.sh [BUILD_DIR] [N]        (default build/dev, 10000)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/dev}
n=${2:-10000}
vitalsd=$build/apps/vitalsd/vitalsd
bench=$build/bench/history/vitals_bench_history
tmp=$(mktemp -d)
pid=""
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
"$bench" generate "$tmp/h.db" "$n" 30 10 >&2
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Targets named t.<id> as the generated history has them; each a tcp connect to a closed port.
python3 - "$tmp" "$n" "$port" "$closed" <<'PY'
import sys
tmp, n, port, closed = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(f"{tmp}/v.yaml", "w") as f:
    f.write(f"listen: 127.0.0.1:{port}\nhttp: {{status_page: {{enabled: true, title: Bench}}}}\n"
            f"storage: {{sqlite: {{path: {tmp}/h.db}}}}\n"
            "targets:\n  - group: t\n    type: tcp\n    interval: 10s\n    timeout: 2s\n"
            "    targets:\n")
    f.writelines(f"      - {{name: '{i}', host: 127.0.0.1, port: {closed}}}\n"
                 for i in range(1, n + 1))
PY
"$vitalsd" -c "$tmp/v.yaml" >"$tmp/log" 2>&1 &
pid=$!
base=http://127.0.0.1:$port
for _ in $(seq 200); do curl -fs -o /dev/null "$base/livez" && break; sleep 0.1; done
sleep 12   # every target checked once, the uptime table asked for and computed
printf '%-44s %10s %10s\n' path bytes seconds
for path in /status "/status?page=50" "/status?q=t.99" "/status?status=pass" \
            /status/t.5000 "/badge/t.5000?show=uptime&window=30d" /api/v1/uptime; do
  best=""
  for _ in 1 2 3 4 5; do
    t=$(curl -s -o "$tmp/body" -w '%{time_total}' "$base$path")
    [[ -z $best ]] || (( $(echo "$t < $best" | bc) )) && best=$t
  done
  printf '%-44s %10s %10s\n' "$path" "$(stat -c %s "$tmp/body")" "$best"
done
gzip -c "$tmp/body" >/dev/null
curl -s "$base/status" | gzip -9 | wc -c | xargs printf 'first view /status gzip -9: %s bytes\n'
