#!/usr/bin/env bash
# /metrics cost: vitalsd with 20 checks vs a Go client_golang/promhttp exporter with the same
# series (bench/metrics/go) vs prometheus-blackbox-exporter's own /metrics. CPU per scrape is
# the server's CPU time (utime+stime of /proc/<pid>/stat) during the load minus its CPU time
# at rest over as long (checks keep running in both), divided by the scrapes answered.
# Bar (issue "Monitoring tools"): vitalsd <= 0.5x the Go exporter's CPU per scrape.
#
#   bench/metrics/run.sh [path/to/vitalsd]     (default: build/release-bench/apps/vitalsd/vitalsd)
#   RESULTS=file DURATION=10                   (output file, seconds per measurement)
# Needs: wrk, golang-go, golang-github-prometheus-client-golang-dev,
# prometheus-blackbox-exporter, python3 (Debian).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
vitalsd=${1:-$root/build/release-bench/apps/vitalsd/vitalsd}
duration=${DURATION:-10}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

for tool in wrk go python3 prometheus-blackbox-exporter; do
  command -v "$tool" >/dev/null || { echo "$tool missing" >&2; exit 1; }
done
[ -x "$vitalsd" ] || { echo "vitalsd not built: $vitalsd" >&2; exit 1; }

cfg=$work/vitalsd.yaml
{
  echo "listen: 127.0.0.1:18190"
  echo "log: {level: warn}"
  echo "http: {details: everyone}"
  echo "checks:"
  for i in $(seq 1 5); do echo "  - {name: disk$i, type: disk, path: /, interval: 100ms, timeout: 50ms}"; done
  for i in $(seq 1 5); do echo "  - {name: mem$i, type: memory, interval: 100ms, timeout: 50ms}"; done
  for i in $(seq 1 5); do echo "  - {name: load$i, type: load, critical: false, interval: 100ms, timeout: 50ms}"; done
  for i in $(seq 1 5); do echo "  - {name: loop$i, type: event_loop, probes: [live, ready], interval: 100ms, timeout: 50ms}"; done
} > "$cfg"
"$vitalsd" --check-config --config "$cfg" >/dev/null
(cd "$here/go" && GOPATH=/usr/share/gocode GOCACHE=$work/gocache GO111MODULE=off \
  go build -o "$work/go-exporter" main.go)
cat > "$work/blackbox.yml" <<'YAML'
modules:
  tcp_connect: {prober: tcp, timeout: 1s}
YAML

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# Paced scrapes on one keep-alive connection, each in a new snapshot generation for vitalsd
# (20 checks every 100 ms publish far more often than 50 scrapes/s): the uncached cost.
cat > "$work/paced.py" <<'PY'
import http.client, sys, time
host, port, seconds, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
c = http.client.HTTPConnection(host, port, timeout=5)
n, end, step = 0, time.monotonic() + seconds, 1.0 / rate
nxt = time.monotonic()
while time.monotonic() < end:
    c.request("GET", "/metrics")
    r = c.getresponse(); r.read(); n += 1
    nxt += step
    time.sleep(max(0.0, nxt - time.monotonic()))
print(n)
PY

measure() { # name pid port -> "name|bytes|series|us_wrk|rps|us_paced"
  local name=$1 pid=$2 port=$3 url=http://127.0.0.1:$3/metrics
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$url" 2>/dev/null && break; sleep 0.05; done
  sleep 2
  local body; body=$(curl -fsS "$url")
  local bytes; bytes=$(printf '%s\n' "$body" | wc -c)
  local series; series=$(printf '%s\n' "$body" | grep -cv '^#')
  # At rest: what the process spends without scrapes (its checks, timers).
  local t0; t0=$(ticks "$pid"); sleep "$duration"; local rest=$(( $(ticks "$pid") - t0 ))
  # Saturated: one connection, back to back.
  t0=$(ticks "$pid")
  local out; out=$(taskset -c 1 wrk -t1 -c1 -d"${duration}s" "$url")
  local busy=$(( $(ticks "$pid") - t0 ))
  local reqs; reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local us_wrk; us_wrk=$(awk -v b="$busy" -v r="$rest" -v n="$reqs" -v hz="$hz" \
    'BEGIN {printf "%.1f", (b - r) / hz / n * 1e6}')
  # Paced: 50 scrapes/s for twice as long (the rest figure scaled to it).
  t0=$(ticks "$pid")
  local n; n=$(taskset -c 1 python3 "$work/paced.py" 127.0.0.1 "$port" $((2 * duration)) 50)
  local paced=$(( $(ticks "$pid") - t0 ))
  local us_paced; us_paced=$(awk -v b="$paced" -v r="$rest" -v n="$n" -v hz="$hz" \
    'BEGIN {printf "%.1f", (b - 2 * r) / hz / n * 1e6}')
  echo "$name|$bytes|$series|$us_wrk|$rps|$us_paced"
}

taskset -c 0 "$vitalsd" --config "$cfg" 2>"$work/vitalsd.log" & pids+=($!)
v=$(measure vitalsd "${pids[-1]}" 18190)
taskset -c 0 "$work/go-exporter" -listen 127.0.0.1:18191 & pids+=($!)
g=$(measure go "${pids[-1]}" 18191)
taskset -c 0 prometheus-blackbox-exporter --config.file="$work/blackbox.yml" \
  --web.listen-address=127.0.0.1:18192 --log.level=warn 2>"$work/blackbox.log" & pids+=($!)
b=$(measure blackbox "${pids[-1]}" 18192)

IFS='|' read -r _ v_bytes v_series v_wrk v_rps v_paced <<<"$v"
IFS='|' read -r _ g_bytes g_series g_wrk g_rps g_paced <<<"$g"
IFS='|' read -r _ b_bytes b_series b_wrk b_rps b_paced <<<"$b"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
r_wrk=$(ratio "$v_wrk" "$g_wrk")
r_paced=$(ratio "$v_paced" "$g_paced")
verdict=$(awk -v a="$r_wrk" -v b="$r_paced" 'BEGIN {print (a <= 0.5 && b <= 0.5) ? "PASS" : "FAIL"}')

results=${RESULTS:-$here/RESULTS.md}
cat > "$results" <<MD
# /metrics: vitalsd vs a Go promhttp exporter vs blackbox_exporter

$(date -u +%Y-%m-%d), $(nproc) cores ($(uname -m)), servers pinned to core 0, load pinned to core 1,
loopback, Prometheus text format. CPU per scrape = the server's CPU time under load minus its CPU
time at rest over ${duration} s, divided by the scrapes. "back to back": wrk -t1 -c1 -d${duration}s
(vitalsd answers most scrapes from the rendering cached for the snapshot generation);
"paced": 50 scrapes/s for $((2 * duration)) s on one keep-alive connection while 20 checks run every
100 ms (≈ 200 results/s), so every vitalsd scrape renders a new generation (the cost a real
Prometheus sees). CPU time is counted in clock ticks (1/$hz s): the paced figures are ± 1 tick
over $((2 * duration * 50)) scrapes.

| exporter | body bytes | samples | CPU/scrape back to back | scrapes/s | CPU/scrape paced |
|---|---|---|---|---|---|
| vitalsd (20 checks) | $v_bytes | $v_series | ${v_wrk} µs | $v_rps | ${v_paced} µs |
| Go client_golang promhttp, same series | $g_bytes | $g_series | ${g_wrk} µs | $g_rps | ${g_paced} µs |
| prometheus-blackbox-exporter /metrics | $b_bytes | $b_series | ${b_wrk} µs | $b_rps | ${b_paced} µs |

vitalsd / Go CPU per scrape: **${r_wrk}×** back to back, **${r_paced}×** paced — bar ≤ 0.5×: **$verdict**.

Command: \`bench/metrics/run.sh\` ($(basename "$vitalsd"), Go $(go version | awk '{print $3}')).
MD
cat "$results"
