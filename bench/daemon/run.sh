#!/usr/bin/env bash
# vitalsd with 20 checks under wrk load vs a Go net/http health server with 20 checks: RSS.
# Bar (DESIGN.md): vitalsd RSS <= 0.5x Go's. Writes bench/daemon/RESULTS.md.
#
#   bench/daemon/run.sh [path/to/vitalsd]      (default: build-daemon/apps/vitalsd/vitalsd)
#   RESULTS=file DURATION=10s CONNS=50          (output file, wrk duration and connections)
# Needs: wrk, golang-go (Debian).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
vitalsd=${1:-$root/build-daemon/apps/vitalsd/vitalsd}
duration=${DURATION:-10s}
conns=${CONNS:-50}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk missing (apt-get install wrk)" >&2; exit 1; }
command -v go >/dev/null || { echo "go missing (apt-get install golang-go)" >&2; exit 1; }
[ -x "$vitalsd" ] || { echo "vitalsd not built: $vitalsd" >&2; exit 1; }

# 20 host checks: nothing outside the machine is needed.
cfg=$work/vitalsd.yaml
{
  echo "listen: 127.0.0.1:18090"
  echo "log: {level: warn}"
  echo "checks:"
  for i in $(seq 1 5); do echo "  - {name: disk$i, type: disk, path: /, interval: 1s, timeout: 500ms}"; done
  for i in $(seq 1 5); do echo "  - {name: mem$i, type: memory, interval: 1s, timeout: 500ms}"; done
  for i in $(seq 1 5); do echo "  - {name: load$i, type: load, critical: false, interval: 1s, timeout: 500ms}"; done
  for i in $(seq 1 5); do echo "  - {name: loop$i, type: event_loop, probes: [live, ready], interval: 1s, timeout: 500ms}"; done
} > "$cfg"
"$vitalsd" --check-config --config "$cfg" >/dev/null

(cd "$here/go" && GOCACHE=$work/gocache GO111MODULE=off go build -o "$work/goserver" main.go)

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# Resident KiB per mapped file (anonymous memory as [anon]), largest first, as Markdown rows.
mappings() {
  awk '/^[0-9a-f]+-[0-9a-f]+ / {n = $6; if (n == "") n = "[anon]"; sub(".*/", "", n)}
       /^Rss:/ {r[n] += $2} END {for (n in r) if (r[n] > 0) print r[n], n}' "/proc/$1/smaps" |
    sort -rn | head -"${2:-12}" | awk '{printf "| %s | %d |\n", $2, $1}'
}
rss_split() { awk '/^(RssAnon|RssFile|Threads)/ {printf "%s %s ", $1, $2}' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

measure() { # name pid url
  local name=$1 pid=$2 url=$3
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$url" 2>/dev/null && break; sleep 0.05; done
  sleep 2  # every check has run at least once
  local idle; idle=$(rss "$pid")
  local out; out=$(taskset -c 1 wrk -t1 -c"$conns" -d"$duration" "$url")
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local load; load=$(rss "$pid")
  local peak; peak=$(hwm "$pid")
  mappings "$pid" > "$work/$name.maps"
  rss_split "$pid" > "$work/$name.split"
  echo "$name|$idle|$load|$peak|$rps"
}

taskset -c 0 "$vitalsd" --config "$cfg" 2>"$work/vitalsd.log" & pids+=($!)
v=$(measure vitalsd "${pids[-1]}" http://127.0.0.1:18090/readyz)
taskset -c 0 "$work/goserver" -listen 127.0.0.1:18091 & pids+=($!)
g=$(measure go "${pids[-1]}" http://127.0.0.1:18091/readyz)

IFS='|' read -r _ v_idle v_load v_peak v_rps <<<"$v"
IFS='|' read -r _ g_idle g_load g_peak g_rps <<<"$g"
ratio=$(awk -v a="$v_peak" -v b="$g_peak" 'BEGIN {printf "%.2f", a / b}')
verdict=$(awk -v r="$ratio" 'BEGIN {print (r <= 0.5) ? "PASS" : "FAIL"}')

results=${RESULTS:-$here/RESULTS.md}
cat > "$results" <<MD
# vitalsd vs Go net/http: memory under load

$(date -u +%Y-%m-%d), $(nproc) cores ($(uname -m)), server pinned to core 0, wrk -t1 -c$conns -d$duration
pinned to core 1, loopback, \`/readyz\`. Both run 20 host checks (statfs, /proc reads, timer lag)
every second. $(go version | cut -d' ' -f3).

| server | RSS idle (KiB) | RSS after load (KiB) | peak RSS (KiB) | requests/s |
|---|---:|---:|---:|---:|
| vitalsd | $v_idle | $v_load | $v_peak | $v_rps |
| Go net/http | $g_idle | $g_load | $g_peak | $g_rps |

Peak RSS ratio vitalsd / Go: **$ratio** (bar ≤ 0.50): **$verdict**.

After the load: vitalsd $(cat "$work/vitalsd.split")(KiB); Go $(cat "$work/go.split")(KiB).

vitalsd, resident KiB per mapping after the load (\`/proc/PID/smaps\`):

| mapping | KiB |
|---|---:|
$(cat "$work/vitalsd.maps")

Reproduce: \`bench/daemon/run.sh [path/to/vitalsd]\`.
MD
cat "$results"
