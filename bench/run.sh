#!/usr/bin/env bash
# Reproduces docs/benchmarks.md: /readyz throughput and latency of vitals' built-in server next
# to nginx (`return 200 "ok"`), Go net/http and Python aiohttp. Every server is pinned to core 0
# with one worker/thread; wrk is pinned to core 1. Loopback only; every process this script
# starts is stopped by PID on exit.
#
#   bench/run.sh                      # build if needed, run everything, print a markdown table
#   DURATION=5s PEERS="vitals nginx" bench/run.sh
#   TLS=1 bench/run.sh                # HTTPS: vitals and nginx with the same certificate
#
# Environment: DURATION (10s), ROUNDS (3), WARMUP (2s), PEERS ("vitals nginx go aiohttp"), CONNS ("50 1"),
# SERVER_CPU (0), CLIENT_CPU (1), BUILD_DIR (build-bench), VITALS_BENCH_SERVER (prebuilt binary),
# TLS (0; 1 = HTTPS keep-alive with one self-signed EC P-256 certificate for both servers,
# peers "vitals nginx").
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2s}
TLS=${TLS:-0}
if [[ $TLS == 1 ]]; then PEERS=${PEERS:-"vitals nginx"}; else PEERS=${PEERS:-"vitals nginx go aiohttp"}; fi
scheme=http
[[ $TLS == 1 ]] && scheme=https
CONNS=${CONNS:-"50 1"}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BUILD_DIR=${BUILD_DIR:-$root/build-bench}
PYTHON=${PYTHON:-/usr/bin/python3}

declare -A port=([vitals]=18090 [nginx]=18091 [go]=18092 [aiohttp]=18093)

for tool in wrk taskset curl; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

work=$(mktemp -d /tmp/vitals-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

ssl="" ssl_files="" cacert=()
if [[ $TLS == 1 ]]; then
  [[ " $PEERS " == *" go "* || " $PEERS " == *" aiohttp "* ]] &&
    { echo "TLS=1 compares vitals and nginx only" >&2; exit 1; }
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$work/tls.key" -out "$work/tls.crt" >/dev/null 2>&1
  export VITALS_BENCH_TLS_CERT=$work/tls.crt VITALS_BENCH_TLS_KEY=$work/tls.key
  ssl="ssl"
  cacert=(--cacert "$work/tls.crt")
  ssl_files="ssl_certificate $work/tls.crt; ssl_certificate_key $work/tls.key;"
fi

# --- build ----------------------------------------------------------------------------------
server_bin=${VITALS_BENCH_SERVER:-}
if [[ -z "$server_bin" ]]; then
  if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    cmake -S "$root" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DVITALS_BUILD_TESTS=OFF -DVITALS_BUILD_CHECKS=OFF -DVITALS_BUILD_APPS=OFF \
      -DVITALS_BUILD_EXAMPLES=OFF -DVITALS_BUILD_BENCH=ON >/dev/null
  fi
  cmake --build "$BUILD_DIR" -j2 --target vitals_bench_server >/dev/null
  server_bin="$BUILD_DIR/bench/vitals_bench_server"
fi

go_bin=""
if [[ " $PEERS " == *" go "* ]]; then
  command -v go >/dev/null || { echo "missing: go (Debian golang-go)" >&2; exit 1; }
  (cd "$here/peers/go" && GOFLAGS=-mod=mod GOPROXY=off GOCACHE="$work/gocache" \
     GOPATH="$work/gopath" go build -o "$work/go-peer" .)
  go_bin="$work/go-peer"
fi

# --- peers ----------------------------------------------------------------------------------
start_peer() {  # name -> starts it pinned to SERVER_CPU, appends its PID
  local name=$1 p=${port[$1]}
  case "$name" in
    vitals)
      taskset -c "$SERVER_CPU" "$server_bin" "$p" 127.0.0.1 >"$work/vitals.log" 2>&1 &
      ;;
    nginx)
      mkdir -p "$work/nginx"
      sed -e "s|@PORT@|$p|g" -e "s|@PREFIX@|$work/nginx|g" -e "s|@SSL@|$ssl|g" \
        -e "s|@SSL_FILES@|$ssl_files|g" "$here/nginx.conf" >"$work/nginx/nginx.conf"
      taskset -c "$SERVER_CPU" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" \
        >"$work/nginx.log" 2>&1 &
      ;;
    go)
      GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$go_bin" -addr "127.0.0.1:$p" >"$work/go.log" 2>&1 &
      ;;
    aiohttp)
      taskset -c "$SERVER_CPU" "$PYTHON" "$here/peers/aiohttp_server.py" "$p" \
        >"$work/aiohttp.log" 2>&1 &
      ;;
  esac
  pids+=("$!")
  local i
  for i in $(seq 1 100); do
    curl -fsS ${cacert[@]+"${cacert[@]}"} -o /dev/null "$scheme://127.0.0.1:$p/readyz" 2>/dev/null &&
      return 0
    sleep 0.1
  done
  echo "$name did not come up on port $p" >&2
  cat "$work/$name.log" >&2 || true
  exit 1
}

rss_kb() {  # total VmRSS of a process and its children
  local pid=$1 total=0 kb child
  kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  total=$((total + ${kb:-0}))
  for child in $(cat "/proc/$pid/task/"*/children 2>/dev/null); do
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$child/status" 2>/dev/null || echo 0)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

cpu_ticks() {  # utime + stime of a process and its children, in clock ticks
  local pid=$1 total=0 t child
  for child in "$pid" $(cat "/proc/$pid/task/"*/children 2>/dev/null); do
    # Fields 14 and 15 of /proc/PID/stat, counted after the ")" closing the command name.
    t=$(sed -E 's/^.*\) //' "/proc/$child/stat" 2>/dev/null | awk '{print $12 + $13}')
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)

to_us() {  # wrk latency ("512.00us", "1.20ms", "2.00s") -> microseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000
  }'
}

declare -A rps p50 p99 rss cpu peer_pid
for name in $PEERS; do
  start_peer "$name"
  peer_pid[$name]=${pids[-1]}
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Rounds alternate the peers, so that a burst of other load on the machine hits all of them
# alike; the table shows the median of the rounds.
for round in $(seq 1 "$ROUNDS"); do
  for c in $CONNS; do
    for name in $PEERS; do
      pid=${peer_pid[$name]}
      url="$scheme://127.0.0.1:${port[$name]}/readyz"
      taskset -c "$CLIENT_CPU" wrk -t1 -c"$c" -d"$WARMUP" "$url" >/dev/null
      t0=$(cpu_ticks "$pid")
      out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$c" -d"$DURATION" --latency "$url")
      t1=$(cpu_ticks "$pid")
      if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
        echo "$name c$c: errors during the run:" >&2
        grep "Non-2xx\|Socket errors" <<<"$out" >&2
      fi
      requests=$(awk '/requests in/ {print $1}' <<<"$out")
      rps[$name,$c]+=" $(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
      p50[$name,$c]+=" $(to_us "$(awk '$1 == "50%" {print $2}' <<<"$out")")"
      p99[$name,$c]+=" $(to_us "$(awk '$1 == "99%" {print $2}' <<<"$out")")"
      # Server CPU per request: robust to other load on the machine, unlike req/s.
      cpu[$name,$c]+=" $(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$requests" \
        'BEGIN { if (n > 0) printf "%.2f", t * 1000000 / hz / n; else print 0 }')"
      rss[$name,$c]=$(rss_kb "$pid")
    done
  done
done
for key in "${!rps[@]}"; do
  rps[$key]=$(median <<<"${rps[$key]}")
  p50[$key]=$(median <<<"${p50[$key]}")
  p99[$key]=$(median <<<"${p99[$key]}")
  cpu[$key]=$(median <<<"${cpu[$key]}")
done

# --- report ---------------------------------------------------------------------------------
echo
echo "wrk -t1 -d$DURATION --latency $scheme://127.0.0.1:<port>/readyz; servers on core $SERVER_CPU," \
  "wrk on core $CLIENT_CPU; median of $ROUNDS alternating rounds; $(nproc) cores, $(uname -r)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
for c in $CONNS; do
  base=${rps[nginx,$c]:-}
  echo "**c$c** (keep-alive)"
  echo
  echo "| server | req/s | × nginx | p50 µs | p99 µs | p99 × nginx | CPU µs/req | RSS KiB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for name in $PEERS; do
    ratio="-"
    p99ratio="-"
    if [[ -n "$base" ]]; then
      ratio=$(awk -v a="${rps[$name,$c]}" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
      p99ratio=$(awk -v a="${p99[$name,$c]}" -v b="${p99[nginx,$c]}" \
        'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    fi
    printf "| %s | %.0f | %s | %s | %s | %s | %s | %s |\n" "$name" "${rps[$name,$c]}" "$ratio" \
      "${p50[$name,$c]}" "${p99[$name,$c]}" "$p99ratio" "${cpu[$name,$c]}" "${rss[$name,$c]}"
  done
  echo
done
