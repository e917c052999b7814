#!/usr/bin/env bash
# `vitals probe grpc://` cost per call, in one hyperfine run, against:
#   - `vitals probe http://` (nginx `return 200` on loopback): the bar is grpc <= 1.5x http;
#   - a Python grpcio one-shot Check (grpc_check_py.py, Debian python3-grpcio);
#   - the grpc++ one-shot Check (grpc_check_client.cpp, gRPC's own client and generated stub).
# The gRPC server is tests/peers' grpc_default_health_server (grpc++ with gRPC's own default
# health service). Writes bench/cli/RESULTS-grpc.md.
#
#   BUILD_DIR=build bench/cli/grpc_probe.sh
#
# Needs in BUILD_DIR: apps/vitals/vitals, tests/peers/grpc_default_health_server and
# bench/cli/vitals_bench_grpc_check (or GRPC_CLIENT=path). Environment: PORT (18098), RUNS
# (500), WARMUP (50), ROUNDS (9).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
[[ $BUILD_DIR = /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
VITALS=$BUILD_DIR/apps/vitals/vitals
PEER=${GRPC_PEER:-$BUILD_DIR/tests/peers/grpc_default_health_server}
CLIENT=${GRPC_CLIENT:-$BUILD_DIR/bench/cli/vitals_bench_grpc_check}
PY=/usr/bin/python3
PORT=${PORT:-18098}
RUNS=${RUNS:-500}
WARMUP=${WARMUP:-50}
ROUNDS=${ROUNDS:-9}
OUT=$ROOT/bench/cli/RESULTS-grpc.md

for bin in hyperfine curl nginx; do
  command -v "$bin" >/dev/null || { echo "missing: $bin (apt-get install -y $bin)" >&2; exit 1; }
done
for f in "$VITALS" "$PEER" "$CLIENT"; do
  [[ -x $f ]] || { echo "missing: $f (build it first)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/vitals-bench-grpc.XXXXXX)
NGINX_PID=
PEER_PID=
cleanup() {
  if [[ -n $NGINX_PID ]]; then kill "$NGINX_PID" 2>/dev/null || true; fi
  if [[ -n $PEER_PID ]]; then kill "$PEER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/logs"
cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fastcgi;
  uwsgi_temp_path $WORK/uwsgi;
  scgi_temp_path $WORK/scgi;
  server {
    listen 127.0.0.1:$PORT;
    location / { return 200 "ok\n"; }
  }
  # The same nginx over h2c: what HTTP/2 costs the probe itself, whatever the gRPC server costs.
  server {
    listen 127.0.0.1:$((PORT + 1)) http2;
    location / { return 200 "ok\n"; }
  }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK" &
NGINX_PID=$!
HTTP_URL=http://127.0.0.1:$PORT/readyz
for _ in $(seq 50); do
  curl -fsS -o /dev/null "$HTTP_URL" 2>/dev/null && break
  sleep 0.1
done

# The peer reads commands on stdin: keep it open with a fifo for the whole run.
mkfifo "$WORK/peer.in"
"$PEER" --listen 127.0.0.1:0 <"$WORK/peer.in" >"$WORK/peer.out" 2>"$WORK/peer.err" &
PEER_PID=$!
exec 9>"$WORK/peer.in"
for _ in $(seq 100); do
  grep -q '^port ' "$WORK/peer.out" 2>/dev/null && break
  sleep 0.05
done
GRPC_PORT=$(sed -n 's/^port //p' "$WORK/peer.out")
[[ -n $GRPC_PORT ]] || { echo "the grpc peer did not start" >&2; exit 1; }
ADDR=127.0.0.1:$GRPC_PORT

# Python stubs, generated once (not per call).
cp "$ROOT/proto/grpc/health/v1/health.proto" "$WORK/health.proto"
"$PY" -m grpc_tools.protoc -I"$WORK" --python_out="$WORK" --grpc_python_out="$WORK" \
  "$WORK/health.proto"
export PYTHONPATH=$WORK

# Every command must succeed before it is timed.
"$VITALS" probe "$HTTP_URL"
"$VITALS" probe "grpc://$ADDR"
"$PY" "$ROOT/bench/cli/grpc_check_py.py" "$ADDR"
"$CLIENT" "$ADDR"

# Against nginx the gRPC probe ends with 5 (text/plain is not a gRPC answer) after the same
# exchange: hence -i for that one command.
H2C_URL=grpc://127.0.0.1:$((PORT + 1))
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/h.json" \
  -n "vitals probe http://" "$VITALS probe $HTTP_URL" \
  -n "vitals probe grpc://" "$VITALS probe grpc://$ADDR" \
  -n "vitals probe grpc:// to nginx h2c (exit 5)" -i "$VITALS probe $H2C_URL" \
  -n "grpc++ one-shot Check" "$CLIENT $ADDR" \
  -n "python grpcio one-shot Check" "$PY $ROOT/bench/cli/grpc_check_py.py $ADDR" >&2

# hyperfine times its commands one after the other: on a shared machine the load moves between
# them. The ratio that the bar is about is also taken over ROUNDS short interleaved runs of the
# two probes (median of the medians).
for r in $(seq "$ROUNDS"); do
  hyperfine -N --warmup 10 --runs 100 --export-json "$WORK/round$r.json" \
    -n "vitals probe http://" "$VITALS probe $HTTP_URL" \
    -n "vitals probe grpc://" "$VITALS probe grpc://$ADDR" \
    -n "h2c" -i "$VITALS probe $H2C_URL" >/dev/null 2>&1
done

"$PY" - "$WORK/h.json" "$OUT" "$VITALS" "$WORK" "$ROUNDS" <<'PY'
import json, os, platform, statistics, sys, time
data = json.load(open(sys.argv[1]))["results"]
out, vitals, work, rounds = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
ratios, h2c_ratios = [], []
for r in range(1, rounds + 1):
    rb = {x["command"]: x for x in json.load(open(f"{work}/round{r}.json"))["results"]}
    ratios.append(rb["vitals probe grpc://"]["median"] / rb["vitals probe http://"]["median"])
    h2c_ratios.append(rb["h2c"]["median"] / rb["vitals probe http://"]["median"])
by = {r["command"]: r for r in data}
http = by["vitals probe http://"]["mean"]
grpc = by["vitals probe grpc://"]["mean"]
rows = []
for r in data:
    rows.append(f"| {r['command']} | {r['mean'] * 1e3:.2f} ± {r['stddev'] * 1e3:.2f} | "
                f"{r['median'] * 1e3:.2f} | {r['mean'] / grpc:.2f}× | {r['mean'] / http:.2f}× |")
size = os.path.getsize(vitals)
with open(out, "w") as f:
    f.write("# `vitals probe grpc://` per call (bench/cli/grpc_probe.sh)\n\n")
    f.write(f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
            f"hyperfine -N, {data[0]['times'].__len__()} runs each, loopback; gRPC server: "
            "grpc++ 1.51 with gRPC's own default health service; HTTP: nginx `return 200`.\n\n")
    f.write("| command | mean ms | median ms | vs vitals grpc | vs vitals http |\n")
    f.write("|---|---|---|---|---|\n")
    f.write("\n".join(rows) + "\n\n")
    med = by["vitals probe grpc://"]["median"] / by["vitals probe http://"]["median"]
    inter = statistics.median(ratios)
    verdict = "within" if inter <= 1.5 else "OVER"
    f.write(f"grpc / http in the run above: {grpc / http:.2f}× (means), {med:.2f}× (medians). "
            f"Over {rounds} interleaved rounds of 100 calls each: **{inter:.2f}×** (median of the "
            f"per-round median ratios; rounds: {', '.join(f'{x:.2f}' for x in ratios)}); "
            f"bar ≤ 1.5×: {verdict}. The probe's own share, against the same nginx over h2c: "
            f"{statistics.median(h2c_ratios):.2f}× (rounds: "
            f"{', '.join(f'{x:.2f}' for x in h2c_ratios)}); the rest is the grpc++ server's "
            f"latency. `vitals` binary: {size:,} B (bar ≤ 1 MiB).\n")
print(open(out).read())
PY
