#!/usr/bin/env bash
# Check latency under load and Watch memory with 1,000 streams: vitals' gRPC health server
# (bench/grpc/vitals_grpc_bench_server, answering from the engine) against gRPC's own default
# health service (tests/peers/grpc_default_health_server), side by side in one run, loopback only.
# The server runs on CPU 0 and the load client on CPU 1 (taskset) when the machine has two.
#
#   bench/grpc/run.sh [build dir]          # default build/dev; CLIENTS=16 DURATION=5 STREAMS=1000
set -euo pipefail
BUILD=${1:-build/dev}
VITALS_SERVER=${VITALS_SERVER:-$BUILD/bench/grpc/vitals_grpc_bench_server}
CLIENT=${CLIENT:-$BUILD/bench/grpc/grpc_health_bench}
PEER=${PEER:-$BUILD/tests/peers/grpc_default_health_server}
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-5}
STREAMS=${STREAMS:-1000}
for b in "$VITALS_SERVER" "$CLIENT" "$PEER"; do
  [[ -x $b ]] || { echo "missing $b (build it first)" >&2; exit 1; }
done
server_cpu=() client_cpu=()
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
  server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
fi

work=$(mktemp -d)
pids=()
declare -A port pid fd
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME BINARY ARGS...: runs a server whose stdin stays open (a FIFO held by this shell)
# and sets port[NAME], pid[NAME], fd[NAME] once it printed "port <N>".
start() {
  local name=$1 p w
  shift
  mkfifo "$work/$name.in"
  "${server_cpu[@]}" "$@" <"$work/$name.in" >"$work/$name.out" 2>"$work/$name.err" &
  pid[$name]=$!
  pids+=("${pid[$name]}")
  exec {w}>"$work/$name.in"
  fd[$name]=$w
  for _ in $(seq 100); do
    p=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$work/$name.out" | head -1)
    if [[ -n $p ]]; then
      port[$name]=$p
      return 0
    fi
    sleep 0.1
  done
  echo "$name did not start: $(cat "$work/$name.err")" >&2
  exit 1
}

start vitals "$VITALS_SERVER" --listen 127.0.0.1:0
start peer "$PEER" --listen 127.0.0.1:0
echo "set - SERVING" >&"${fd[peer]}"

echo "# Check latency, $CLIENTS concurrent clients (one connection each), ${DURATION} s, service \"\""
for side in vitals peer; do
  printf '%-7s ' "$side"
  "${client_cpu[@]}" "$CLIENT" check --target "127.0.0.1:${port[$side]}" --clients "$CLIENTS" \
    --seconds "$DURATION"
done
echo "# Watch: $STREAMS streams open (10 connections), server RSS and threads"
for side in vitals peer; do
  printf '%-7s ' "$side"
  "${client_cpu[@]}" "$CLIENT" watch --target "127.0.0.1:${port[$side]}" --pid "${pid[$side]}" \
    --streams "$STREAMS"
done
